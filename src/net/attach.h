/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "netconf.h"

/* How an interface of the container's network namespace reaches the guest's virtio-net device:
 *   tcfilter: a tap beside it in the namespace, and tc (ingress qdiscs, u32 match-all filters with
 *             mirred egress redirects) passing every frame between the two, both ways; the
 *             caller's interface keeps its MAC, which the guest's device takes;
 *   macvtap:  a macvtap in passthru mode on top of it (its MAC), read and written by QEMU;
 *   none:     no device.
 * Nothing outside the namespace changes. */
enum net_mode {
        NET_MODE_NONE, /* the zero value: nothing is attached unless asked for */
        NET_MODE_TCFILTER,
        NET_MODE_MACVTAP,
};

struct net_attachment {
        int ifindex; /* the caller's interface */
        char name[IFNAMSIZ];
        int tap_ifindex;
        int fd; /* the tap (or macvtap) for QEMU */
        uint8_t mac[6];
        enum net_mode mode;
        bool made_qdisc; /* the ingress qdisc on the caller's interface is ours */
};

int net_mode_parse(const char *s, enum net_mode *ret);
const char *net_mode_name(enum net_mode m);

/* Sets up the path for interface i (in the calling thread's network namespace). The scratch
 * directory is for macvtap's device node (a private sysfs mount and a mknod). */
int net_attach(const struct net_iface *i, enum net_mode mode, const char *scratch_dir,
               struct net_attachment *ret, char **ret_error);
/* Takes away what net_attach added on the caller's interface (its tap goes with its fd). */
void net_detach(struct net_attachment *a);
/* Takes away what a sandbox killed before its end (kill -9) left on the interface ifindex of the
 * calling thread's network namespace: in tcfilter mode its redirect filter (which would steal
 * every frame arriving there) and the ingress qdisc that leaves empty, in macvtap mode its
 * macvtap. -EBUSY while a live process holds the interface's tap or macvtap: a sandbox (whose
 * filter it is), or a killed one's VMM on its way out. */
int net_reclaim(int ifindex, enum net_mode mode);
