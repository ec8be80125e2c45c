/* SPDX-License-Identifier: Apache-2.0 */
#include "watch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "netconf.h"
#include "netlink.h"

int net_watch_open(int *ret_fd)
{
        struct sockaddr_nl sa = {
            .nl_family = AF_NETLINK,
            .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                         RTMGRP_IPV6_ROUTE, /* not neighbours: ARP traffic would keep it busy */
        };
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* Our own taps come and go with every attachment: they must not make the guest resync. */
static bool is_own_tap(const struct nlmsghdr *h)
{
        const struct nlattr *tb[IFLA_MAX + 1];

        if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
                return false;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
                return false;
        nla_parse(h, sizeof(struct ifinfomsg), tb, ELEMENTSOF(tb));
        return tb[IFLA_IFNAME] && nla_len(tb[IFLA_IFNAME]) >= strlen(NET_TAP_PREFIX) &&
               !memcmp(nla_data(tb[IFLA_IFNAME]), NET_TAP_PREFIX, strlen(NET_TAP_PREFIX));
}

bool net_watch_drain(int fd)
{
        static uint8_t buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
        bool changed = false;

        /* Bounded: a namespace that changes without pause cannot keep us here. */
        for (int round = 0; round < 64; round++) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0)
                        return changed || errno == ENOBUFS;
                if (n == 0)
                        return changed;
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
                     h = NLMSG_NEXT(h, n))
                        if (h->nlmsg_type >= RTM_BASE && !is_own_tap(h))
                                changed = true;
        }
        return true;
}
