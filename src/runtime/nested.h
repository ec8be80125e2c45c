/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent-protocol.h"

/* What a container may do inside its guest (docs/nested.md). The VM is the boundary, so
 * privileges inside the guest are cheap; host devices are never in it.
 *
 * - Every container: the spec's linux.devices may name only devices the guest has (null, zero,
 *   full, random, urandom, tty, console, ptmx, kmsg, fuse, net/tun). A privileged container's
 *   list (the host's devices, from Docker, podman or CRI) is dropped; any other container naming
 *   another device fails.
 * - A container holding CAP_SYS_ADMIN (or privileged, all capabilities) can run container
 *   engines: /dev/fuse and /dev/net/tun, a private cgroup namespace mounted read-write whose root
 *   delegates every controller (its own processes in a leaf), a writable /proc/sys, and, on the
 *   sandbox's scratch disk, /var/lib/containers and /var/lib/docker (unless the spec mounts
 *   something there), where overlayfs works as the engine's storage. */

struct nested_plan {
        bool delegate_cgroup;
        const char *scratch_dirs[HAKO_MAX_SCRATCH_DIRS];
        size_t n_scratch_dirs;
};

/* Shapes spec (prepared, rootfs in the guest) in place; have_disk: the sandbox has a scratch
 * disk. */
int nested_prepare(json_t *spec, const char *container_id, bool have_disk, struct nested_plan *ret,
                   char **ret_error);

/* Whether the capability set (process.capabilities.bounding) is every capability there is. */
bool nested_is_privileged(json_t *spec);
