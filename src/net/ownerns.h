/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

/* A new network namespace owned by a new user namespace whose owner is uid (root in it is uid:gid
 * outside). A process running as uid can join both and gets CAP_NET_ADMIN over that network
 * namespace only; root of the host keeps every capability over it. This lets the user network's
 * proxy run unprivileged and still make its tap there (the way rootless Podman runs it). */
int net_ownerns_make(uid_t uid, gid_t gid, int *ret_userns_fd, int *ret_netns_fd);
