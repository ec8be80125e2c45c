/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the user network's proxy (slirp4netns, which makes the guest's connections from the host)
 * may not reach: the host itself. Processes in the cgroup v2 directory NET_GUARD_CGROUP get
 * cgroup BPF programs (connect of TCP and UDP, sendmsg of UDP, v4 and v6) that refuse 127.0.0.0/8,
 * 0.0.0.0/8, ::1, ::, and every address the host has when the guard is opened (their v4-mapped
 * forms too), except the given (address, port) pairs (the host's own DNS resolver). The programs
 * are attached through BPF links: they go when the last holder of a link fd is gone, even after a
 * kill -9, and the directory itself is shared and stays, like Docker's /docker. */

#define NET_GUARD_CGROUP     "hako-net"
#define NET_GUARD_MAX_ADDRS  256
#define NET_GUARD_MAX_ALLOWS 8
#define NET_GUARD_LINKS      4

struct net_guard_allow {
        int family; /* AF_INET, AF_INET6 */
        uint8_t addr[16];
        uint16_t port;
};

struct net_guard {
        int links[NET_GUARD_LINKS];
        char procs[640]; /* the directory's cgroup.procs: writing "0" moves the writer in */
        size_t n_denied; /* host addresses denied (besides the loopback ranges) */
};

/* The cgroup v2 mount of this mount namespace (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
 * hybrid host). -ENOENT without one. */
int net_guard_cgroup2(char *ret, size_t size);
int net_guard_open(const struct net_guard_allow *allow, size_t n_allow, struct net_guard *ret,
                   char **ret_error);
/* For a child before exec (async-signal-safe): moves the calling process into the directory. */
int net_guard_enter(const struct net_guard *g);
void net_guard_close(struct net_guard *g);
/* Whether this host can do it (cgroup v2, BPF links on cgroups): 0, or -errno with a reason. */
int net_guard_probe(char **ret_reason);
