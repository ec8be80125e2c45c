/* SPDX-License-Identifier: Apache-2.0 */
#include "attach.h"

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "netlink.h"

/* The priority of hako's filters on the caller's interface: how they are found again. */
#define HAKO_FILTER_PRIO 0xc0de

int net_mode_parse(const char *s, enum net_mode *ret)
{
        if (!strcmp(s, "tcfilter"))
                *ret = NET_MODE_TCFILTER;
        else if (!strcmp(s, "macvtap"))
                *ret = NET_MODE_MACVTAP;
        else if (!strcmp(s, "none"))
                *ret = NET_MODE_NONE;
        else
                return -EINVAL;
        return 0;
}

const char *net_mode_name(enum net_mode m)
{
        return m == NET_MODE_TCFILTER ? "tcfilter" : m == NET_MODE_MACVTAP ? "macvtap" : "none";
}

static int link_set(int nl, int ifindex, uint32_t mtu, const uint8_t *mac, bool up)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        struct nlmsg m;

        if (up) {
                ifi.ifi_flags = IFF_UP;
                ifi.ifi_change = IFF_UP;
        }
        nlmsg_init(&m, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
        if (mtu)
                nla_put_u32(&m, IFLA_MTU, mtu);
        if (mac)
                nla_put(&m, IFLA_ADDRESS, mac, 6);
        return nl_call(nl, &m);
}

static int qdisc_ingress(int nl, int ifindex, bool add)
{
        struct tcmsg tc = {
            .tcm_family = AF_UNSPEC,
            .tcm_ifindex = ifindex,
            .tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0),
            .tcm_parent = TC_H_INGRESS,
        };
        struct nlmsg m;

        nlmsg_init(&m, add ? RTM_NEWQDISC : RTM_DELQDISC, add ? NLM_F_CREATE | NLM_F_EXCL : 0, &tc,
                   sizeof(tc));
        nla_put_str(&m, TCA_KIND, "ingress");
        return nl_call(nl, &m);
}

/* `tc filter add dev FROM parent ffff: protocol all prio P u32 match u8 0 0
 *  action mirred egress redirect dev TO`: every frame that arrives on FROM leaves through TO. */
static int filter_redirect(int nl, int from, int to)
{
        struct tcmsg tc = {
            .tcm_family = AF_UNSPEC,
            .tcm_ifindex = from,
            .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0),
            .tcm_info = TC_H_MAKE((uint32_t)HAKO_FILTER_PRIO << 16, htons(ETH_P_ALL)),
        };
        struct {
                struct tc_u32_sel sel;
                struct tc_u32_key key;
        } sel = {.sel = {.flags = TC_U32_TERMINAL, .nkeys = 1}};
        struct tc_mirred mirred = {
            .action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR, .ifindex = (uint32_t)to};
        struct nlmsg m;
        size_t opts, acts, act, aopts;

        nlmsg_init(&m, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &tc, sizeof(tc));
        nla_put_str(&m, TCA_KIND, "u32");
        opts = nla_nest_start(&m, TCA_OPTIONS);
        nla_put(&m, TCA_U32_SEL, &sel, sizeof(sel));
        acts = nla_nest_start(&m, TCA_U32_ACT);
        act = nla_nest_start(&m, 1);
        nla_put_str(&m, TCA_ACT_KIND, "mirred");
        aopts = nla_nest_start(&m, TCA_ACT_OPTIONS);
        nla_put(&m, TCA_MIRRED_PARMS, &mirred, sizeof(mirred));
        nla_nest_end(&m, aopts);
        nla_nest_end(&m, act);
        nla_nest_end(&m, acts);
        nla_nest_end(&m, opts);
        return nl_call(nl, &m);
}

static int filter_delete(int nl, int ifindex)
{
        struct tcmsg tc = {
            .tcm_family = AF_UNSPEC,
            .tcm_ifindex = ifindex,
            .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0),
            .tcm_info = TC_H_MAKE((uint32_t)HAKO_FILTER_PRIO << 16, 0),
        };
        struct nlmsg m;

        nlmsg_init(&m, RTM_DELTFILTER, 0, &tc, sizeof(tc));
        return nl_call(nl, &m);
}

static int count_one(const struct nlmsghdr *h, void *userdata)
{
        if (h->nlmsg_type == RTM_NEWTFILTER)
                (*(int *)userdata)++;
        return 0;
}

/* How many filters the ingress qdisc of ifindex has (-errno). */
static int ingress_filters(int nl, int ifindex)
{
        struct tcmsg tc = {
            .tcm_family = AF_UNSPEC,
            .tcm_ifindex = ifindex,
            .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0),
        };
        struct nlmsg m;
        int n = 0, r;

        nlmsg_init(&m, RTM_GETTFILTER, 0, &tc, sizeof(tc));
        r = nl_dump(nl, &m, count_one, &n);
        return r < 0 ? r : n;
}

/* if_nametoindex() lives in <net/if.h>, which cannot go with the kernel's headers above. */
static int name_to_index(const char *name)
{
        struct ifreq ifr = {0};
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
                return negative_errno();
        return ifr.ifr_ifindex;
}

static int open_tap(const char *name, int *ret_fd, int *ret_ifindex)
{
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
        _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return negative_errno();
        *ret_ifindex = name_to_index(ifr.ifr_name);
        if (*ret_ifindex <= 0)
                return *ret_ifindex < 0 ? *ret_ifindex : -ENODEV;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int attach_tcfilter(int nl, const struct net_iface *i, struct net_attachment *a, char **ret_error)
{
        char name[IFNAMSIZ];
        int r;

        snprintf(name, sizeof(name), NET_TAP_PREFIX "%d", i->ifindex);
        r = open_tap(name, &a->fd, &a->tap_ifindex);
        if (r == -EBUSY)
                return error_set(ret_error, r, "%s is already attached to another sandbox", i->name);
        if (r < 0)
                return error_set(ret_error, r, "cannot create a tap beside %s: %s", i->name, strerror(-r));
        /* The tap was free, so a filter of ours still on the interface is a killed sandbox's:
         * it redirects to a tap that is gone, and would take every frame before ours. */
        (void)filter_delete(nl, i->ifindex);
        r = link_set(nl, a->tap_ifindex, i->mtu, NULL, true);
        if (r < 0)
                return error_set(ret_error, r, "cannot bring up the tap beside %s: %s", i->name,
                                 strerror(-r));
        /* An ingress qdisc someone else put there (CNI's bandwidth plugin) takes our filter too. */
        r = qdisc_ingress(nl, i->ifindex, true);
        if (r < 0 && r != -EEXIST)
                return error_set(ret_error, r, "cannot add an ingress qdisc to %s: %s", i->name,
                                 strerror(-r));
        a->made_qdisc = r >= 0;
        r = qdisc_ingress(nl, a->tap_ifindex, true);
        if (r >= 0)
                r = filter_redirect(nl, i->ifindex, a->tap_ifindex);
        if (r >= 0)
                r = filter_redirect(nl, a->tap_ifindex, i->ifindex);
        if (r < 0)
                return error_set(ret_error, r, "cannot redirect %s to its tap with tc: %s", i->name,
                                 strerror(-r));
        return 0;
}

/* The macvtap's character device: its numbers are in sysfs, which shows the devices of the
 * namespace it was mounted in, so a sysfs of our own (in the owner's private mount namespace). */
static int open_macvtap_dev(const char *scratch, const char *name, int ifindex, int *ret_fd)
{
        _cleanup_free_ char *sys = NULL, *node = NULL, *dev = NULL, *devpath = NULL;
        unsigned maj, min;
        int r;

        if (asprintf(&sys, "%s/sys-%d", scratch, ifindex) < 0 ||
            asprintf(&node, "%s/tap%d", scratch, ifindex) < 0 ||
            asprintf(&devpath, "%s/class/net/%s/macvtap/tap%d/dev", sys, name, ifindex) < 0)
                return -ENOMEM;
        if (mkdir(sys, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        if (mount("sysfs", sys, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                r = negative_errno();
                rmdir(sys);
                return r;
        }
        r = read_full_file(devpath, 64, &dev, NULL);
        (void)umount2(sys, MNT_DETACH);
        rmdir(sys);
        if (r < 0)
                return r;
        if (sscanf(dev, "%u:%u", &maj, &min) != 2)
                return -EBADMSG;
        (void)unlink(node);
        if (mknod(node, S_IFCHR | 0600, makedev(maj, min)) < 0)
                return negative_errno();
        *ret_fd = open(node, O_RDWR | O_CLOEXEC);
        r = *ret_fd < 0 ? negative_errno() : 0;
        unlink(node);
        return r;
}

/* "hako:PID:STARTTIME" of the calling process, for a macvtap's alias: a macvtap outlives a killed
 * owner, and a later attach must tell a leftover from one in use. */
static int owner_tag(pid_t pid, char *buf, size_t size)
{
        _cleanup_free_ char *stat = NULL;
        char path[64];
        size_t len;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        r = read_full_file(path, 4096, &stat, &len);
        if (r < 0)
                return r;
        /* Field 22, counted after the command name, which may hold anything but ends with ')'. */
        const char *p = strrchr(stat, ')');
        for (int field = 2; p && field < 22; field++)
                p = strchr(p + 1, ' ');
        if (!p)
                return -EIO;
        snprintf(buf, size, "hako:%d:%llu", (int)pid, strtoull(p + 1, NULL, 10));
        return 0;
}

static int link_alias(const struct nlmsghdr *h, void *userdata)
{
        const struct nlattr *tb[IFLA_MAX + 1];
        char *alias = userdata;

        if (h->nlmsg_type != RTM_NEWLINK)
                return 0;
        nla_parse(h, sizeof(struct ifinfomsg), tb, ELEMENTSOF(tb));
        if (tb[IFLA_IFALIAS])
                snprintf(alias, 64, "%.*s", (int)nla_len(tb[IFLA_IFALIAS]),
                         (const char *)nla_data(tb[IFLA_IFALIAS]));
        return 0;
}

/* A macvtap by that name whose owner is gone is removed; one in use is -EBUSY. */
static int macvtap_reclaim(int nl, const char *name)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        char alias[64] = "", tag[64];
        struct nlmsg m;
        pid_t pid;

        nlmsg_init(&m, RTM_GETLINK, 0, &ifi, sizeof(ifi));
        nla_put_str(&m, IFLA_IFNAME, name);
        if (nl_get(nl, &m, link_alias, alias) < 0)
                return 0; /* none by that name */
        if (sscanf(alias, "hako:%d:", &pid) == 1 && owner_tag(pid, tag, sizeof(tag)) == 0 &&
            !strcmp(tag, alias))
                return -EBUSY;
        nlmsg_init(&m, RTM_DELLINK, 0, &ifi, sizeof(ifi));
        nla_put_str(&m, IFLA_IFNAME, name);
        (void)nl_call(nl, &m);
        return 0;
}

static int attach_macvtap(int nl, const struct net_iface *i, const char *scratch, struct net_attachment *a,
                          char **ret_error)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        char name[IFNAMSIZ], tag[64];
        struct nlmsg m;
        size_t info, data;
        int r;

        snprintf(name, sizeof(name), NET_TAP_PREFIX "%d", i->ifindex);
        r = owner_tag(getpid(), tag, sizeof(tag));
        if (r < 0)
                return error_set(ret_error, r, "cannot read our own process status: %s", strerror(-r));
        r = macvtap_reclaim(nl, name);
        if (r < 0)
                return error_set(ret_error, r, "%s is already attached to another sandbox", i->name);
        nlmsg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
        nla_put_str(&m, IFLA_IFNAME, name);
        nla_put_str(&m, IFLA_IFALIAS, tag);
        nla_put_u32(&m, IFLA_LINK, (uint32_t)i->ifindex);
        nla_put(&m, IFLA_ADDRESS, i->mac, 6);
        info = nla_nest_start(&m, IFLA_LINKINFO);
        nla_put_str(&m, IFLA_INFO_KIND, "macvtap");
        data = nla_nest_start(&m, IFLA_INFO_DATA);
        nla_put_u32(&m, IFLA_MACVLAN_MODE, MACVLAN_MODE_PASSTHRU);
        nla_nest_end(&m, data);
        nla_nest_end(&m, info);
        r = nl_call(nl, &m);
        if (r < 0)
                return error_set(ret_error, r, "cannot create a macvtap on %s: %s", i->name, strerror(-r));
        a->tap_ifindex = name_to_index(name);
        if (a->tap_ifindex <= 0)
                return error_set(ret_error, -ENODEV, "the macvtap on %s vanished", i->name);
        r = link_set(nl, a->tap_ifindex, i->mtu, NULL, true);
        if (r >= 0)
                r = open_macvtap_dev(scratch, name, a->tap_ifindex, &a->fd);
        if (r < 0)
                return error_set(ret_error, r, "cannot open the macvtap on %s: %s", i->name, strerror(-r));
        return 0;
}

int net_attach(const struct net_iface *i, enum net_mode mode, const char *scratch_dir,
               struct net_attachment *ret, char **ret_error)
{
        struct net_attachment a = {.ifindex = i->ifindex, .fd = -1, .mode = mode};
        _cleanup_close_ int nl = -1;
        int r;

        snprintf(a.name, sizeof(a.name), "%s", i->name);
        memcpy(a.mac, i->mac, 6);
        /* Both ways pass Ethernet frames: anything else (an IP tunnel, a point-to-point link)
         * has no frames to mirror into a virtio-net device. */
        if (i->type != ARPHRD_ETHER)
                return error_set(
                    ret_error, -EPROTONOSUPPORT,
                    "interface %s (%s, link type %u) is not Ethernet: %s mode cannot attach it to "
                    "the VM",
                    i->name, *i->kind ? i->kind : "device", i->type, net_mode_name(mode));
        r = nl_open(&nl);
        if (r < 0)
                return error_set(ret_error, r, "netlink: %s", strerror(-r));
        if (mode == NET_MODE_TCFILTER)
                r = attach_tcfilter(nl, i, &a, ret_error);
        else if (mode == NET_MODE_MACVTAP)
                r = attach_macvtap(nl, i, scratch_dir, &a, ret_error);
        else
                r = error_set(ret_error, -EINVAL, "no network mode to attach %s with", i->name);
        if (r < 0) {
                net_detach(&a);
                return r;
        }
        *ret = a;
        return 0;
}

int net_reclaim(int ifindex, enum net_mode mode)
{
        _cleanup_close_ int nl = -1, tap = -1;
        char name[IFNAMSIZ];
        int tap_ifindex, r;

        snprintf(name, sizeof(name), NET_TAP_PREFIX "%d", ifindex);
        r = nl_open(&nl);
        if (r < 0)
                return r;
        if (mode == NET_MODE_MACVTAP)
                return macvtap_reclaim(nl, name);
        if (mode != NET_MODE_TCFILTER)
                return 0;
        /* Holding the tap (made for the moment, it goes with the fd) keeps a new sandbox from
         * attaching meanwhile; one that holds it already is alive, and the filter is its own. */
        r = open_tap(name, &tap, &tap_ifindex);
        if (r < 0)
                return r;
        /* Only when a filter of ours was there: an empty ingress qdisc may be someone else's. */
        if (filter_delete(nl, ifindex) >= 0 && ingress_filters(nl, ifindex) == 0)
                (void)qdisc_ingress(nl, ifindex, false);
        return 0;
}

void net_detach(struct net_attachment *a)
{
        _cleanup_close_ int nl = -1;

        if (nl_open(&nl) >= 0) {
                if (a->mode == NET_MODE_TCFILTER) {
                        /* Our qdisc takes our filter with it; someone else's keeps theirs. */
                        if (a->made_qdisc)
                                (void)qdisc_ingress(nl, a->ifindex, false);
                        else {
                                (void)filter_delete(nl, a->ifindex);
                                /* Left empty, it does nothing (and may be a killed sandbox's). */
                                if (ingress_filters(nl, a->ifindex) == 0)
                                        (void)qdisc_ingress(nl, a->ifindex, false);
                        }
                } else if (a->mode == NET_MODE_MACVTAP && a->tap_ifindex > 0) {
                        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = a->tap_ifindex};
                        struct nlmsg m;
                        nlmsg_init(&m, RTM_DELLINK, 0, &ifi, sizeof(ifi));
                        (void)nl_call(nl, &m);
                }
        }
        /* The tap is ours alone: it goes when its last fd does (QEMU holds a copy). */
        a->fd = safe_close(a->fd);
        a->made_qdisc = false;
        a->tap_ifindex = 0;
}
