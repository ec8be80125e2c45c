/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "macro.h"
#include "netlink.h"
#include "parse.h"
#include "timeutil.h"

/* The guest side of the network: the host's interfaces mirrored onto virtio-net devices, in the
 * guest's own network namespace, which the containers share (the VM is the boundary). */

/* A hot-added device shows up once the guest has probed it: wait for it this long. */
#define DEVICE_WAIT_MS 10000

static int name_to_index(const char *name)
{
        char path[64], buf[32] = "";
        _cleanup_close_ int fd = -1;
        ssize_t n;

        snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
                return -ENODEV;
        return atoi(buf);
}

/* The ifindex of the device with this MAC (and its current name), 0 if there is none yet. */
static int find_by_mac(const uint8_t mac[6], char ret_name[IFNAMSIZ])
{
        DIR *d = opendir("/sys/class/net");
        struct dirent *de;
        char want[18];
        int found = 0;

        if (!d)
                return negative_errno();
        format_mac(mac, want);
        while ((de = readdir(d)) && !found) {
                char path[300], buf[32] = "";
                _cleanup_close_ int fd = -1;
                ssize_t n;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/sys/class/net/%s/address", de->d_name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
                        continue;
                buf[n] = 0;
                if (strncmp(buf, want, 17) != 0)
                        continue;
                int ifindex = name_to_index(de->d_name);
                if (ifindex <= 0)
                        continue;
                found = ifindex;
                snprintf(ret_name, IFNAMSIZ, "%.15s", de->d_name);
        }
        closedir(d);
        return found;
}

static int link_set(int nl, int ifindex, const char *name, uint32_t mtu, int up)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        struct nlmsg m;

        if (up >= 0) {
                ifi.ifi_flags = up ? IFF_UP : 0;
                ifi.ifi_change = IFF_UP;
        }
        nlmsg_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
        if (name)
                nla_put_str(&m, IFLA_IFNAME, name);
        if (mtu)
                nla_put_u32(&m, IFLA_MTU, mtu);
        return nl_call(nl, &m);
}

/* The link's addresses other than link-local: the host's set replaces them. */
struct addr_list {
        int ifindex;
        struct ifaddrmsg msg[HAKO_MAX_NET_ADDRS * 4];
        uint8_t addr[HAKO_MAX_NET_ADDRS * 4][16];
        size_t n;
};

static int collect_addr(const struct nlmsghdr *h, void *userdata)
{
        struct addr_list *c = userdata;
        const struct ifaddrmsg *ifa = NLMSG_DATA(h);
        const struct nlattr *tb[IFA_MAX + 1];

        if (h->nlmsg_type != RTM_NEWADDR || (int)ifa->ifa_index != c->ifindex ||
            ifa->ifa_scope == RT_SCOPE_LINK || c->n >= ELEMENTSOF(c->msg))
                return 0;
        nla_parse(h, sizeof(*ifa), tb, ELEMENTSOF(tb));
        if (!tb[IFA_ADDRESS] || nla_len(tb[IFA_ADDRESS]) != (ifa->ifa_family == AF_INET ? 4u : 16u))
                return 0;
        c->msg[c->n] = *ifa;
        memcpy(c->addr[c->n], nla_data(tb[IFA_ADDRESS]), nla_len(tb[IFA_ADDRESS]));
        c->n++;
        return 0;
}

static int flush_addresses(int nl, int ifindex)
{
        static struct addr_list c;
        struct ifaddrmsg ifa = {.ifa_family = AF_UNSPEC};
        struct nlmsg m;
        int r;

        c.ifindex = ifindex;
        c.n = 0;
        nlmsg_init(&m, RTM_GETADDR, 0, &ifa, sizeof(ifa));
        r = nl_dump(nl, &m, collect_addr, &c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c.n; i++) {
                nlmsg_init(&m, RTM_DELADDR, 0, &c.msg[i], sizeof(c.msg[i]));
                nla_put(&m, IFA_ADDRESS, c.addr[i], c.msg[i].ifa_family == AF_INET ? 4 : 16);
                (void)nl_call(nl, &m);
        }
        return 0;
}

/* Loopback, multicast or unspecified: on an interface they would take the guest's own loopback
 * or mean nothing; the host's side may hold them, the guest does not. */
static bool address_usable(const Hako__Agent__V1__IPAddress *a)
{
        const uint8_t *b = a->address.data;
        static const uint8_t zero[16], loop6[16] = {[15] = 1};

        if (a->family == AF_INET)
                return b[0] != 127 && (b[0] & 0xf0) != 0xe0 && memcmp(b, zero, 4) != 0;
        return b[0] != 0xff && memcmp(b, zero, 16) != 0 && memcmp(b, loop6, 16) != 0;
}

static int add_address(int nl, int ifindex, const Hako__Agent__V1__IPAddress *a)
{
        size_t len = a->family == AF_INET ? 4 : 16;
        struct ifaddrmsg ifa = {.ifa_family = (uint8_t)a->family,
                                .ifa_prefixlen = (uint8_t)a->prefix_len,
                                .ifa_index = (uint32_t)ifindex,
                                /* Usable at once: the host side already holds it. */
                                .ifa_flags = IFA_F_NODAD};
        struct nlmsg m;

        if ((a->family != AF_INET && a->family != AF_INET6) || a->address.len != len ||
            a->prefix_len > len * 8)
                return -EINVAL;
        if (!address_usable(a))
                return -EADDRNOTAVAIL;
        nlmsg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof(ifa));
        nla_put(&m, IFA_LOCAL, a->address.data, len);
        nla_put(&m, IFA_ADDRESS, a->address.data, len);
        return nl_call(nl, &m);
}

static int add_route(int nl, int ifindex, const Hako__Agent__V1__Route *rt)
{
        size_t len = rt->family == AF_INET ? 4 : 16;
        struct rtmsg r = {.rtm_family = (uint8_t)rt->family,
                          .rtm_dst_len = (uint8_t)rt->dst_len,
                          .rtm_table = RT_TABLE_MAIN,
                          .rtm_protocol = RTPROT_BOOT,
                          .rtm_scope = (uint8_t)rt->scope,
                          .rtm_type = RTN_UNICAST,
                          .rtm_flags = rt->onlink ? RTNH_F_ONLINK : 0};
        struct nlmsg m;

        if ((rt->family != AF_INET && rt->family != AF_INET6) || rt->dst_len > len * 8 ||
            (rt->dst.len && rt->dst.len != len) || (rt->gateway.len && rt->gateway.len != len) ||
            rt->scope > 255)
                return -EINVAL;
        nlmsg_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &r, sizeof(r));
        if (rt->dst.len)
                nla_put(&m, RTA_DST, rt->dst.data, len);
        if (rt->gateway.len)
                nla_put(&m, RTA_GATEWAY, rt->gateway.data, len);
        nla_put_u32(&m, RTA_OIF, (uint32_t)ifindex);
        if (rt->metric)
                nla_put_u32(&m, RTA_PRIORITY, rt->metric);
        return nl_call(nl, &m);
}

static int add_neighbor(int nl, int ifindex, const Hako__Agent__V1__Neighbor *n)
{
        size_t len = n->family == AF_INET ? 4 : 16;
        struct ndmsg nd = {
            .ndm_family = (uint8_t)n->family, .ndm_ifindex = ifindex, .ndm_state = NUD_PERMANENT};
        struct nlmsg m;

        if ((n->family != AF_INET && n->family != AF_INET6) || n->ip.len != len || n->mac.len != 6)
                return -EINVAL;
        nlmsg_init(&m, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &nd, sizeof(nd));
        nla_put(&m, NDA_DST, n->ip.data, len);
        nla_put(&m, NDA_LLADDR, n->mac.data, 6);
        return nl_call(nl, &m);
}

static bool name_valid(const char *s)
{
        size_t n = strlen(s);
        return n > 0 && n < IFNAMSIZ &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@") == n &&
               strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int agent_network_sysctl(const char *key, const char *value)
{
        char path[160] = "/proc/sys/";
        size_t len = strlen(key), vlen = strlen(value);
        int fd, r = 0;

        /* Only the network namespace's own settings; nothing that climbs out of /proc/sys/net. */
        if (strncmp(key, "net.", 4) != 0 || len > 128 || vlen > 256 || strstr(key, "..") ||
            key[len - 1] == '.' ||
            strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                path[10 + i] = key[i] == '.' ? '/' : key[i];
        path[10 + len] = 0;
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        if (write(fd, value, vlen) != (ssize_t)vlen)
                r = negative_errno();
        close(fd);
        return r;
}

int agent_network_configure(const Hako__Agent__V1__ConfigureInterfaceRequest *req, char *ret_error,
                            size_t size)
{
        _cleanup_close_ int nl = -1;
        char current[IFNAMSIZ] = "";
        long long deadline = mono_ms() + DEVICE_WAIT_MS;
        int ifindex, r;

        if (req->mac.len != 6 || !name_valid(req->name) || req->mtu > 65535 ||
            req->n_addresses > HAKO_MAX_NET_ADDRS || req->n_routes > HAKO_MAX_NET_ROUTES ||
            req->n_neighbors > HAKO_MAX_NET_NEIGHS) {
                snprintf(ret_error, size, "invalid interface description");
                return -EINVAL;
        }
        /* A device hot-plugged into a running VM shows up on a PCI rescan: the guest kernel has
         * no ACPI PCI hot-plug (nothing is ever unplugged). */
        for (long long next_rescan = 0; (ifindex = find_by_mac(req->mac.data, current)) == 0;) {
                long long now = mono_ms();
                if (now > deadline) {
                        snprintf(ret_error, size, "no network device with that MAC in the guest");
                        return -ENODEV;
                }
                if (now >= next_rescan) {
                        (void)agent_sandbox_rescan_pci();
                        next_rescan = now + 500;
                }
                nanosleep(&(struct timespec){.tv_nsec = 5L * 1000 * 1000}, NULL);
        }
        if (ifindex < 0) {
                snprintf(ret_error, size, "listing the guest's devices: %s", strerror(-ifindex));
                return ifindex;
        }
        r = nl_open(&nl);
        if (r < 0) {
                snprintf(ret_error, size, "netlink: %s", strerror(-r));
                return r;
        }
        /* Renaming needs the link down. Another device may hold the name for now (the guest
         * numbers its devices in PCI order, the host's names need not follow it): it moves
         * aside, to be renamed in turn when its own request comes. */
        if (strcmp(current, req->name) != 0) {
                r = link_set(nl, ifindex, NULL, 0, 0);
                if (r >= 0)
                        r = link_set(nl, ifindex, req->name, 0, -1);
                if (r == -EEXIST) {
                        int other = name_to_index(req->name);
                        char aside[IFNAMSIZ];
                        snprintf(aside, sizeof(aside), "hako-%d", other);
                        r = other > 0 && other != ifindex && strcmp(req->name, "lo") != 0
                                ? link_set(nl, other, NULL, 0, 0)
                                : -EEXIST;
                        if (r >= 0)
                                r = link_set(nl, other, aside, 0, -1);
                        if (r >= 0)
                                r = link_set(nl, ifindex, req->name, 0, -1);
                }
                if (r < 0) {
                        snprintf(ret_error, size, "renaming %s to %s: %s", current, req->name, strerror(-r));
                        return r;
                }
        }
        r = link_set(nl, ifindex, NULL, req->mtu, req->up ? 1 : -1);
        if (r < 0) {
                snprintf(ret_error, size, "setting up %s: %s", req->name, strerror(-r));
                return r;
        }
        r = flush_addresses(nl, ifindex);
        for (size_t i = 0; i < req->n_addresses && r >= 0; i++) {
                r = add_address(nl, ifindex, req->addresses[i]);
                if (r < 0) {
                        char a[INET6_ADDRSTRLEN] = "?";
                        if (req->addresses[i]->address.len == 4 || req->addresses[i]->address.len == 16)
                                inet_ntop((int)req->addresses[i]->family, req->addresses[i]->address.data, a,
                                          sizeof(a));
                        snprintf(ret_error, size, "adding the address %s/%u to %s: %s", a,
                                 req->addresses[i]->prefix_len, req->name,
                                 r == -EADDRNOTAVAIL ? "a loopback, multicast or unspecified address cannot "
                                                       "be an interface's in the guest"
                                                     : strerror(-r));
                        return r;
                }
        }
        /* Routes after the addresses (a gateway must be reachable), on-link ones first. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < req->n_routes; i++) {
                        const Hako__Agent__V1__Route *rt = req->routes[i];
                        if ((pass == 0) != (rt->gateway.len == 0))
                                continue;
                        r = add_route(nl, ifindex, rt);
                        if (r < 0) {
                                snprintf(ret_error, size, "adding a route through %s: %s", req->name,
                                         strerror(-r));
                                return r;
                        }
                }
        for (size_t i = 0; i < req->n_neighbors; i++) {
                r = add_neighbor(nl, ifindex, req->neighbors[i]);
                if (r < 0) {
                        snprintf(ret_error, size, "adding a neighbour on %s: %s", req->name, strerror(-r));
                        return r;
                }
        }
        return 0;
}
