/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <linux/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a container's network namespace holds, as its caller set it up (Docker's libnetwork, CNI,
 * podman): the interfaces with their addresses, the routes and the neighbour entries. The guest
 * mirrors it (the agent's ConfigureInterface), each interface through a virtio-net device. */

#define NET_MAX_IFACES 16
#define NET_MAX_ADDRS  16 /* per interface */
#define NET_MAX_ROUTES 64
#define NET_MAX_NEIGHS 64

struct net_addr {
        int family; /* AF_INET, AF_INET6 */
        uint8_t addr[16];
        uint8_t prefix_len;
};

struct net_route {
        int family;
        uint8_t dst[16];
        uint8_t dst_len; /* 0: the default route */
        uint8_t gateway[16];
        bool has_gateway;
        int ifindex; /* the host's */
        uint8_t scope;
        bool onlink; /* RTNH_F_ONLINK */
        uint32_t metric;
        uint32_t table;
};

struct net_neigh {
        int family;
        uint8_t ip[16];
        uint8_t mac[6];
        int ifindex;
};

struct net_iface {
        char name[IFNAMSIZ];
        int ifindex;
        unsigned short type; /* ARPHRD_* */
        char kind[32];       /* "veth", "macvlan", ... ("" for a plain device) */
        uint8_t mac[6];
        uint32_t mtu;
        bool up;
        struct net_addr addrs[NET_MAX_ADDRS];
        size_t n_addrs;
};

struct net_config {
        struct net_iface ifaces[NET_MAX_IFACES];
        size_t n_ifaces;
        struct net_route routes[NET_MAX_ROUTES];
        size_t n_routes;
        struct net_neigh neighs[NET_MAX_NEIGHS];
        size_t n_neighs;
};

/* Reads the calling thread's network namespace: every interface but the loopback and hako's own
 * taps, their global addresses, the routes of the main table that did not come with an address,
 * and the permanent neighbour entries. -E2BIG past the limits above. */
int net_scan(struct net_config *ret);
struct net_iface *net_find(struct net_config *c, int ifindex);

/* The names of hako's taps (net-attach.c): skipped by net_scan. */
#define NET_TAP_PREFIX "hako"
