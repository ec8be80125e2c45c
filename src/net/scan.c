/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "netconf.h"
#include "netlink.h"

struct net_iface *net_find(struct net_config *c, int ifindex)
{
        for (size_t i = 0; i < c->n_ifaces; i++)
                if (c->ifaces[i].ifindex == ifindex)
                        return &c->ifaces[i];
        return NULL;
}

static int on_link(const struct nlmsghdr *h, void *userdata)
{
        struct net_config *c = userdata;
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
        struct net_iface *i;

        if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
                return 0;
        nla_parse(h, sizeof(*ifi), tb, ELEMENTSOF(tb));
        if (ifi->ifi_type == ARPHRD_LOOPBACK || !tb[IFLA_IFNAME])
                return 0;
        const char *name = nla_data(tb[IFLA_IFNAME]);
        if (!strncmp(name, NET_TAP_PREFIX, strlen(NET_TAP_PREFIX)))
                return 0;
        if (c->n_ifaces >= NET_MAX_IFACES)
                return -E2BIG;
        i = &c->ifaces[c->n_ifaces++];
        *i = (struct net_iface){
            .ifindex = ifi->ifi_index, .type = ifi->ifi_type, .up = ifi->ifi_flags & IFF_UP};
        snprintf(i->name, sizeof(i->name), "%.*s", (int)nla_len(tb[IFLA_IFNAME]), name);
        if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6)
                memcpy(i->mac, nla_data(tb[IFLA_ADDRESS]), 6);
        i->mtu = nla_get_u32(tb[IFLA_MTU]);
        if (tb[IFLA_LINKINFO]) {
                nla_parse_nested(tb[IFLA_LINKINFO], info, ELEMENTSOF(info));
                if (info[IFLA_INFO_KIND])
                        snprintf(i->kind, sizeof(i->kind), "%.*s", (int)nla_len(info[IFLA_INFO_KIND]),
                                 (const char *)nla_data(info[IFLA_INFO_KIND]));
        }
        return 0;
}

static int on_addr(const struct nlmsghdr *h, void *userdata)
{
        struct net_config *c = userdata;
        const struct ifaddrmsg *ifa = NLMSG_DATA(h);
        const struct nlattr *tb[IFA_MAX + 1], *a;
        struct net_iface *i;
        size_t len;

        if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
                return 0;
        /* Link-local (fe80::/64 from the MAC, which the guest shares) and host addresses come by
         * themselves. */
        if (ifa->ifa_scope == RT_SCOPE_LINK || ifa->ifa_scope == RT_SCOPE_HOST)
                return 0;
        i = net_find(c, (int)ifa->ifa_index);
        if (!i)
                return 0;
        nla_parse(h, sizeof(*ifa), tb, ELEMENTSOF(tb));
        a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        len = ifa->ifa_family == AF_INET ? 4 : 16;
        if (!a || nla_len(a) != len || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
                return 0;
        if (i->n_addrs >= NET_MAX_ADDRS)
                return -E2BIG;
        struct net_addr *d = &i->addrs[i->n_addrs++];
        *d = (struct net_addr){.family = ifa->ifa_family, .prefix_len = ifa->ifa_prefixlen};
        memcpy(d->addr, nla_data(a), len);
        return 0;
}

static int on_route(const struct nlmsghdr *h, void *userdata)
{
        struct net_config *c = userdata;
        const struct rtmsg *rt = NLMSG_DATA(h);
        const struct nlattr *tb[RTA_MAX + 1];
        size_t len = rt->rtm_family == AF_INET ? 4 : 16;
        uint32_t table;

        if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)))
                return 0;
        nla_parse(h, sizeof(*rt), tb, ELEMENTSOF(tb));
        table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rt->rtm_table;
        /* The routes an address brings (proto kernel) come with it in the guest too. */
        if (table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST || rt->rtm_protocol == RTPROT_KERNEL ||
            (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) || !tb[RTA_OIF])
                return 0;
        if (!net_find(c, (int)nla_get_u32(tb[RTA_OIF])))
                return 0;
        if (c->n_routes >= NET_MAX_ROUTES)
                return -E2BIG;
        struct net_route *r = &c->routes[c->n_routes++];
        *r = (struct net_route){.family = rt->rtm_family,
                                .dst_len = rt->rtm_dst_len,
                                .ifindex = (int)nla_get_u32(tb[RTA_OIF]),
                                .scope = rt->rtm_scope,
                                .onlink = rt->rtm_flags & RTNH_F_ONLINK,
                                .metric = nla_get_u32(tb[RTA_PRIORITY]),
                                .table = table};
        if (tb[RTA_DST] && nla_len(tb[RTA_DST]) == len)
                memcpy(r->dst, nla_data(tb[RTA_DST]), len);
        if (tb[RTA_GATEWAY] && nla_len(tb[RTA_GATEWAY]) == len) {
                memcpy(r->gateway, nla_data(tb[RTA_GATEWAY]), len);
                r->has_gateway = true;
        }
        return 0;
}

static int on_neigh(const struct nlmsghdr *h, void *userdata)
{
        struct net_config *c = userdata;
        const struct ndmsg *nd = NLMSG_DATA(h);
        const struct nlattr *tb[NDA_MAX + 1];
        size_t len = nd->ndm_family == AF_INET ? 4 : 16;

        if (h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)))
                return 0;
        /* Only what the caller set: the rest the guest learns itself. */
        if (!(nd->ndm_state & NUD_PERMANENT) || !net_find(c, nd->ndm_ifindex) ||
            (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6))
                return 0;
        nla_parse(h, sizeof(*nd), tb, ELEMENTSOF(tb));
        if (!tb[NDA_DST] || nla_len(tb[NDA_DST]) != len || !tb[NDA_LLADDR] || nla_len(tb[NDA_LLADDR]) != 6)
                return 0;
        if (c->n_neighs >= NET_MAX_NEIGHS)
                return -E2BIG;
        struct net_neigh *n = &c->neighs[c->n_neighs++];
        *n = (struct net_neigh){.family = nd->ndm_family, .ifindex = nd->ndm_ifindex};
        memcpy(n->ip, nla_data(tb[NDA_DST]), len);
        memcpy(n->mac, nla_data(tb[NDA_LLADDR]), 6);
        return 0;
}

int net_scan(struct net_config *ret)
{
        _cleanup_close_ int fd = -1;
        struct nlmsg m;
        int r;

        *ret = (struct net_config){0};
        r = nl_open(&fd);
        if (r < 0)
                return r;
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        nlmsg_init(&m, RTM_GETLINK, 0, &ifi, sizeof(ifi));
        r = nl_dump(fd, &m, on_link, ret);
        if (r < 0)
                return r;
        struct ifaddrmsg ifa = {.ifa_family = AF_UNSPEC};
        nlmsg_init(&m, RTM_GETADDR, 0, &ifa, sizeof(ifa));
        r = nl_dump(fd, &m, on_addr, ret);
        if (r < 0)
                return r;
        struct rtmsg rt = {.rtm_family = AF_UNSPEC};
        nlmsg_init(&m, RTM_GETROUTE, 0, &rt, sizeof(rt));
        r = nl_dump(fd, &m, on_route, ret);
        if (r < 0)
                return r;
        struct ndmsg nd = {.ndm_family = AF_UNSPEC};
        nlmsg_init(&m, RTM_GETNEIGH, 0, &nd, sizeof(nd));
        return nl_dump(fd, &m, on_neigh, ret);
}
