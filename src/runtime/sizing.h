/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdint.h>

/* CPUs in a cpuset list ("0-3,6"); 0 when it is empty or malformed. */
long cpuset_count(const char *s);
/* The VM's size follows the container's limits: vCPUs from the CPU quota and the cpuset (the
 * smaller, capped by the host's CPUs; 1 without either), RAM from the memory limit plus what the
 * guest kernel and agent need (128 MiB without one). */
void vm_size_from_spec(json_t *spec, uint32_t *ret_vcpus, uint64_t *ret_memory_mib);
/* The guest has CPUs 0..vcpus-1 and one memory node: a host cpuset means nothing there (the VM's
 * size already applies it), and crun would fail on CPUs the guest does not have. */
void spec_guest_cpuset(json_t *spec, uint32_t vcpus);
