/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

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

/* The host side of a CPU limit: quota/period in µs (quota <= 0: none), shares (0: keep). Written
 * where the cpu controller is; other hierarchies are skipped. */
int host_cgroup_set_cpu(const char *path, int64_t quota, uint64_t period, uint64_t shares);

/* The container's pids limit on the host side too (limit <= 0: none), so that what the caller
 * reads back from the cgroup is its limit. Its threads are QEMU's and virtiofsd's there, about a
 * dozen: the host value is at least HOST_PIDS_MIN so a tiny guest limit cannot stop the VM. */
#define HOST_PIDS_MIN 64
int host_cgroup_set_pids(const char *path, int64_t limit);

/* Removes the (empty) cgroup from every hierarchy; parents such as /docker stay. */
void host_cgroup_remove(const char *path);
