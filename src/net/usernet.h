/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "guard.h"
#include "publish.h"
#include "slirp.h"

/* `hako run`'s default network: the sandbox's own network namespace (the VM's host side, where
 * QEMU and virtiofsd run) with slirp4netns's tap in it, which the sandbox then mirrors into the
 * guest like any other interface. Outbound connections leave through slirp4netns's NAT, from
 * the host; the host itself (its loopback and its own addresses) is out of reach (guard.h). */

struct net_user_config {
        const char *state_root; /* <state_root>/.net-<pid>: the API socket and the resolv.conf */
        const struct net_publish *publish;
        size_t n_publish;
        const char *slirp_binary; /* NULL: slirp4netns from $PATH */
};

struct net_user {
        struct net_guard guard;
        struct net_slirp slirp;
        char *dir;
        char *resolv_conf; /* for the container's /etc/resolv.conf: the forwarding resolver */
};

/* Sets it all up and moves the calling thread into the namespace (QEMU and virtiofsd, started
 * later, inherit it). On failure nothing is left behind and the thread stays where it was. */
int net_user_start(const struct net_user_config *c, struct net_user *ret, char **ret_error);
/* Safe on a zeroed struct whose fds are -1 (net_user_init). */
void net_user_stop(struct net_user *u);
void net_user_init(struct net_user *u);
