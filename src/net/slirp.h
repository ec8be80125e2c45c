/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "guard.h"
#include "publish.h"

/* slirp4netns, the user network's NAT: a tap in a network namespace the sandbox owns, whose
 * frames it turns into connections of its own on the host (and published ports into connections
 * to the guest). It runs as NET_SLIRP_UID with no capability but CAP_NET_BIND_SERVICE (ports
 * below 1024 can be published), in the guard's cgroup, and dies with its parent (PDEATHSIG, and
 * its exit fd: the write end we hold). Its network: 10.0.2.0/24, the guest 10.0.2.100, the
 * gateway 10.0.2.2 (which does not lead to the host's loopback), DNS 10.0.2.3 (the host's
 * resolver, forwarded). */

#define NET_SLIRP_UID        65534
#define NET_SLIRP_GUEST      "10.0.2.100"
#define NET_SLIRP_DNS        "10.0.2.3"
#define NET_SLIRP_MTU        65520
#define NET_SLIRP_IFNAME     "eth0"
#define NET_SLIRP_TIMEOUT_MS 10000

struct net_slirp_config {
        const char *binary;      /* NULL: slirp4netns from $PATH */
        int userns_fd, netns_fd; /* net_ownerns_make's, for NET_SLIRP_UID */
        int dir_fd;              /* a directory NET_SLIRP_UID may write: its API socket goes there */
        const struct net_guard *guard;
};

struct net_slirp {
        pid_t pid;
        int pidfd;
        int exit_fd;
        int dir_fd;
};

/* Starts it and waits until the tap in the namespace is configured. The error has slirp4netns's
 * own last words. */
int net_slirp_start(const struct net_slirp_config *c, struct net_slirp *ret, char **ret_error);
/* Publishes a port (IPv4 only: slirp4netns forwards no IPv6). */
int net_slirp_forward(const struct net_slirp *s, const struct net_publish *p, char **ret_error);
/* Ends it (and waits for it). Safe on a zeroed struct with fds at -1. */
void net_slirp_stop(struct net_slirp *s);
