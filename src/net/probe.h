/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "attach.h"

/* For `hako check`: whether a network mode works on this host, tried for real in a throwaway
 * network (and mount) namespace of a child: a tap, then what the mode adds beside it. 0, or
 * -errno with a one-line reason. */
int net_probe_mode(enum net_mode mode, char **ret_reason);
/* Whether the user network can start: slirp4netns, a namespace its unprivileged user owns, the
 * guard's cgroup BPF programs. */
int net_probe_user(const char *slirp_binary, char **ret_reason);
