/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The VM's host processes (the container's host process, QEMU, virtiofsd) in a host cgroup of
 * their own, named by the bundle's linux.cgroupsPath, so that the caller's tools (docker stats,
 * the shim's OOM watch) see the VM and a CPU limit caps it. Works on a cgroup v2 host (one
 * directory) and on a v1 or hybrid one like this project's machines (a directory in every
 * mounted hierarchy: each v1 controller, name=systemd, and the unified one). */

#define HOST_CGROUP_PATH_MAX 512

/* "/docker/ID" stays; systemd's "slice:prefix:name" becomes the slice's nested path plus
 * "prefix-name.scope" (kubepods-besteffort.slice:cri-containerd:ID →
 * /kubepods.slice/kubepods-besteffort.slice/cri-containerd-ID.scope); a relative path is taken
 * from the root. -EINVAL for one with "..", a malformed slice, or too long. */
int host_cgroup_normalize(const char *spec_path, char *ret, size_t size);

/* Creates the cgroup in every hierarchy and moves pid into it. */
int host_cgroup_enter(const char *path, pid_t pid);
/* The cgroup the calling process last moved itself into with host_cgroup_enter (NULL: none, or
 * "/" again): a sandbox's state records it from its start (state_create), so that the cgroup goes
 * with the state of an owner killed at any moment. */
const char *host_cgroup_own(void);

/* The limits the host side follows: the CPU quota/period/shares (which cap the vCPU threads)
 * and the pids limit, so that what a caller reads back from the cgroup is its limit. Not the
 * memory limit: QEMU's own memory is not the container's. */
struct host_cgroup_limits {
        bool cpu_set;    /* quota, period or shares were given */
        int64_t quota;   /* µs per period; <= 0: none */
        uint64_t period; /* 0: the kernel's default, 100000 */
        uint64_t shares; /* 0: leave as is */
        bool pids_set;
        int64_t pids; /* <= 0: none */
};

/* Takes what linux.resources (or an `update`'s resources) gives into *l, keeping the fields it
 * does not mention: start from {0} for a container, from the current limits for an update. */
void host_cgroup_limits_merge(struct host_cgroup_limits *l, json_t *resources);

/* Writes the limits that are set, in every hierarchy that has their controller. Its threads are
 * QEMU's and virtiofsd's there, about a dozen: the host pids value is at least HOST_PIDS_MIN so
 * a tiny guest limit cannot stop the VM. */
#define HOST_PIDS_MIN 64
int host_cgroup_set_limits(const char *path, const struct host_cgroup_limits *l);

/* Removes the (empty) cgroup from every hierarchy; parents such as /docker stay. */
void host_cgroup_remove(const char *path);
