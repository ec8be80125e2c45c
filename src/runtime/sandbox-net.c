/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox-net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "macro.h"
#include "netns.h"
#include "record.h"
#include "sandbox.h"

#define AGENT_TIMEOUT_MS 30000

static bool attached(const struct sandbox_net *n, int ifindex)
{
        for (size_t i = 0; i < n->n; i++)
                if (n->att[i].ifindex == ifindex)
                        return true;
        return false;
}

/* Records the interfaces attached and those of c about to be, before they are: a kill -9 at any
 * moment leaves nothing unrecorded. Reclaiming one that never was attached does nothing. Best
 * effort: without a record, the next sandbox attaching an interface still takes over what a
 * killed one left there (attach.c). */
static void record(const struct sandbox_net *n, const struct net_config *c)
{
        int ifindex[2 * NET_MAX_IFACES];
        size_t k = 0;

        if (!n->record)
                return;
        for (size_t i = 0; i < n->n; i++)
                ifindex[k++] = n->att[i].ifindex;
        for (size_t i = 0; c && i < c->n_ifaces && k < ELEMENTSOF(ifindex); i++)
                if (!attached(n, c->ifaces[i].ifindex))
                        ifindex[k++] = c->ifaces[i].ifindex;
        (void)net_record_write(n->record, n->mode, ifindex, k);
}

/* Attaches the interfaces of c not attached yet; their NICs are the entries from n->n on. */
static int attach_new(struct sandbox_net *n, const struct net_config *c, const char *scratch,
                      size_t *ret_first, char **ret_error)
{
        *ret_first = n->n;
        record(n, c);
        for (size_t i = 0; i < c->n_ifaces; i++) {
                const struct net_iface *f = &c->ifaces[i];
                int r;

                if (attached(n, f->ifindex))
                        continue;
                if (n->n >= NET_MAX_IFACES)
                        return error_set(ret_error, -E2BIG, "more than %d network interfaces",
                                         NET_MAX_IFACES);
                r = net_attach(f, n->mode, scratch, &n->att[n->n], ret_error);
                if (r < 0)
                        return r;
                snprintf(n->nic_ids[n->n], sizeof(n->nic_ids[n->n]), "net%u", n->next_id++);
                n->nics[n->n] = (struct hv_nic){.id = n->nic_ids[n->n], .fd = n->att[n->n].fd};
                memcpy(n->nics[n->n].mac, n->att[n->n].mac, 6);
                n->n++;
        }
        return 0;
}

/* Takes away the attachments from index first on (they never reached the guest, or the
 * sandbox ends). */
static void drop_from(struct sandbox_net *n, size_t first)
{
        while (n->n > first) {
                n->n--;
                net_detach(&n->att[n->n]);
                free(n->sent[n->n]);
                n->sent[n->n] = NULL;
        }
}

/* The calling thread's network namespace as it is now. */
static int scan(struct net_config **ret, char **ret_error)
{
        _cleanup_free_ struct net_config *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        r = net_scan(c);
        if (r < 0)
                return error_set(ret_error, r, "cannot read the network namespace: %s", strerror(-r));
        *ret = TAKE_PTR(c);
        return 0;
}

int sandbox_net_prepare(struct sandbox_net *n, enum net_mode mode, bool host_network, const char *state_dir,
                        char **ret_error)
{
        _cleanup_free_ struct net_config *c = NULL;
        size_t first;
        int r;

        *n = (struct sandbox_net){.mode = mode};
        if (mode == NET_MODE_NONE)
                return 0;
        /* The host's own interfaces would be taken from it and given to the VM. */
        if (host_network || netns_current_is_host())
                return error_set(
                    ret_error, -EPERM,
                    "the container would share the host's network namespace (host networking): a VM "
                    "cannot; use a bridge network, or --net-mode none for no network");
        if (asprintf(&n->record, "%s/" NET_RECORD, state_dir) < 0) {
                n->record = NULL;
                return -ENOMEM;
        }
        r = scan(&c, ret_error);
        if (r >= 0)
                r = attach_new(n, c, state_dir, &first, ret_error);
        if (r < 0)
                sandbox_net_done(n);
        return r;
}

static void put_addr(ProtobufCBinaryData *b, int family, const uint8_t *addr)
{
        b->data = (uint8_t *)addr;
        b->len = family == AF_INET ? 4 : 16;
}

/* Tells the guest what the host's interface i is: addresses, routes through it, neighbours. */
static int configure_one(struct sandbox *sb, size_t k, const struct net_config *c, const struct net_iface *f,
                         char **ret_error)
{
        struct sandbox_net *n = &sb->net;
        _cleanup_free_ uint8_t *packed = NULL;
        size_t len;
        Hako__Agent__V1__ConfigureInterfaceRequest req = HAKO__AGENT__V1__CONFIGURE_INTERFACE_REQUEST__INIT;
        Hako__Agent__V1__IPAddress addrs[NET_MAX_ADDRS], *paddrs[NET_MAX_ADDRS];
        Hako__Agent__V1__Route routes[NET_MAX_ROUTES], *proutes[NET_MAX_ROUTES];
        Hako__Agent__V1__Neighbor neighs[NET_MAX_NEIGHS], *pneighs[NET_MAX_NEIGHS];
        _cleanup_free_ char *err = NULL;
        int r;

        req.mac.data = (uint8_t *)f->mac;
        req.mac.len = 6;
        req.name = (char *)f->name;
        req.mtu = f->mtu;
        req.up = f->up;
        for (size_t i = 0; i < f->n_addrs; i++) {
                addrs[i] = (Hako__Agent__V1__IPAddress)HAKO__AGENT__V1__IPADDRESS__INIT;
                addrs[i].family = (uint32_t)f->addrs[i].family;
                put_addr(&addrs[i].address, f->addrs[i].family, f->addrs[i].addr);
                addrs[i].prefix_len = f->addrs[i].prefix_len;
                paddrs[i] = &addrs[i];
        }
        req.addresses = paddrs;
        req.n_addresses = f->n_addrs;
        for (size_t i = 0; i < c->n_routes; i++) {
                const struct net_route *rt = &c->routes[i];
                Hako__Agent__V1__Route *o = &routes[req.n_routes];
                if (rt->ifindex != f->ifindex)
                        continue;
                *o = (Hako__Agent__V1__Route)HAKO__AGENT__V1__ROUTE__INIT;
                o->family = (uint32_t)rt->family;
                if (rt->dst_len)
                        put_addr(&o->dst, rt->family, rt->dst);
                o->dst_len = rt->dst_len;
                if (rt->has_gateway)
                        put_addr(&o->gateway, rt->family, rt->gateway);
                o->scope = rt->scope;
                o->metric = rt->metric;
                o->onlink = rt->onlink;
                proutes[req.n_routes++] = o;
        }
        req.routes = proutes;
        for (size_t i = 0; i < c->n_neighs; i++) {
                const struct net_neigh *nb = &c->neighs[i];
                Hako__Agent__V1__Neighbor *o = &neighs[req.n_neighbors];
                if (nb->ifindex != f->ifindex)
                        continue;
                *o = (Hako__Agent__V1__Neighbor)HAKO__AGENT__V1__NEIGHBOR__INIT;
                o->family = (uint32_t)nb->family;
                put_addr(&o->ip, nb->family, nb->ip);
                o->mac.data = (uint8_t *)nb->mac;
                o->mac.len = 6;
                pneighs[req.n_neighbors++] = o;
        }
        req.neighbors = pneighs;
        len = protobuf_c_message_get_packed_size(&req.base);
        packed = malloc(len ? len : 1);
        if (!packed)
                return -ENOMEM;
        protobuf_c_message_pack(&req.base, packed);
        if (n->sent[k] && n->sent_len[k] == len && !memcmp(n->sent[k], packed, len))
                return 0;
        r = agent_call(&sb->agent, "ConfigureInterface", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL, &err);
        if (r < 0)
                return error_set(ret_error, r, "the guest could not set up %s: %s", f->name,
                                 err ? err : strerror(-r));
        free(n->sent[k]);
        n->sent[k] = TAKE_PTR(packed);
        n->sent_len[k] = len;
        return 0;
}

static int configure_all(struct sandbox *sb, const struct net_config *c, char **ret_error)
{
        for (size_t i = 0; i < sb->net.n; i++) {
                const struct net_iface *f = NULL;
                for (size_t k = 0; k < c->n_ifaces; k++)
                        if (c->ifaces[k].ifindex == sb->net.att[i].ifindex)
                                f = &c->ifaces[k];
                if (!f)
                        continue; /* gone from the namespace; its device stays, unused */
                int r = configure_one(sb, i, c, f, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int sandbox_net_configure(struct sandbox *sb, char **ret_error)
{
        _cleanup_free_ struct net_config *c = NULL;
        int r;

        if (sb->net.n == 0)
                return 0;
        /* Read again: the caller may have changed it while the VM booted. */
        r = scan(&c, ret_error);
        return r < 0 ? r : configure_all(sb, c, ret_error);
}

int sandbox_net_sync(struct sandbox *sb, char **ret_error)
{
        _cleanup_free_ struct net_config *c = NULL;
        size_t first;
        int r;

        if (sb->net.mode == NET_MODE_NONE)
                return 0;
        r = scan(&c, ret_error);
        if (r < 0)
                return r;
        r = attach_new(&sb->net, c, sb->state_dir, &first, ret_error);
        size_t added = first;
        for (; added < sb->net.n && r >= 0; added++) {
                r = sb->vm->ops->add_nic(sb->vm, &sb->net.nics[added]);
                if (r < 0) {
                        error_set(ret_error, r, "cannot add a network device for %s to the VM: %s",
                                  sb->net.att[added].name,
                                  r == -EOPNOTSUPP ? "this machine type cannot hot-plug (use pc)"
                                                   : strerror(-r));
                        break;
                }
        }
        if (r < 0) {
                /* What did not reach the guest goes again, so a later sync retries it. */
                drop_from(&sb->net, added);
                record(&sb->net, NULL);
                return r;
        }
        r = configure_all(sb, c, ret_error);
        /* What set up the namespace may have pointed resolv.conf at a resolver in it. */
        if (r >= 0)
                r = sandbox_dns_refresh(sb, NULL, ret_error);
        return r;
}

void sandbox_net_done(struct sandbox_net *n)
{
        drop_from(n, 0);
        if (n->record)
                (void)unlink(n->record);
        free(n->record);
        n->record = NULL;
}
