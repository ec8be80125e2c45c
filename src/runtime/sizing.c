/* SPDX-License-Identifier: Apache-2.0 */
#include "sizing.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "macro.h"

#define VM_MEMORY_OVERHEAD_MIB 64
#define VM_MEMORY_MIN_MIB      128
#define VM_MEMORY_DEFAULT_MIB  128 /* as `hako run` */

/* CPUs in a cpuset list ("0-3,6"); 0 when it is empty or malformed. */
long cpuset_count(const char *s)
{
        long n = 0;

        if (!s)
                return 0;
        while (*s) {
                char *end;
                long a = strtol(s, &end, 10), b = a;
                if (end == s || a < 0)
                        return 0;
                if (*end == '-') {
                        s = end + 1;
                        b = strtol(s, &end, 10);
                        if (end == s || b < a)
                                return 0;
                }
                n += b - a + 1;
                if (*end == ',')
                        end++;
                else if (*end)
                        return 0;
                s = end;
        }
        return n;
}

/* The VM's size follows the container's limits: vCPUs from the CPU quota and the cpuset (the
 * smaller; 1 without either), RAM from the memory limit plus what the guest kernel and agent
 * need (`hako run`'s default without one). */
void vm_size_from_spec(json_t *spec, uint32_t *ret_vcpus, uint64_t *ret_memory_mib)
{
        json_t *res = json_object_get(json_object_get(spec, "linux"), "resources");
        json_int_t quota = json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota"));
        json_int_t period = json_integer_value(json_object_get(json_object_get(res, "cpu"), "period"));
        json_int_t limit = json_integer_value(json_object_get(json_object_get(res, "memory"), "limit"));
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

        *ret_vcpus = 1;
        *ret_memory_mib = VM_MEMORY_DEFAULT_MIB;
        long cpus = cpuset_count(json_string_value(json_object_get(json_object_get(res, "cpu"), "cpus")));
        long v = ncpu > 0 ? ncpu : 1;

        if (quota > 0)
                v = MIN(
                    v, (long)((quota + (period > 0 ? period : 100000) - 1) / (period > 0 ? period : 100000)));
        if (cpus > 0)
                v = MIN(v, cpus);
        if (quota > 0 || cpus > 0)
                *ret_vcpus = (uint32_t)MAX(1, v);
        if (limit > 0)
                *ret_memory_mib =
                    MAX((uint64_t)limit / (1024ull * 1024) + VM_MEMORY_OVERHEAD_MIB, VM_MEMORY_MIN_MIB);
}

/* The guest has CPUs 0..vcpus-1 and one memory node: a host cpuset means nothing there (the VM's
 * size already applies it), and crun would fail on CPUs the guest does not have. */
void spec_guest_cpuset(json_t *spec, uint32_t vcpus)
{
        json_t *cpu = json_object_get(json_object_get(json_object_get(spec, "linux"), "resources"), "cpu");
        char buf[32];

        if (!json_is_object(cpu))
                return;
        if (json_object_get(cpu, "cpus")) {
                if (vcpus > 1)
                        snprintf(buf, sizeof(buf), "0-%u", vcpus - 1);
                else
                        snprintf(buf, sizeof(buf), "0");
                json_object_set_new(cpu, "cpus", json_string(buf));
        }
        if (json_object_get(cpu, "mems"))
                json_object_set_new(cpu, "mems", json_string("0"));
}
