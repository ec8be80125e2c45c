/* SPDX-License-Identifier: Apache-2.0 */
/* A DNS relay for the nameservers that live in the container's network namespace on the host:
 * a resolv.conf naming a loopback address (Docker's embedded resolver at 127.0.0.11) means that
 * namespace, and the guest has its own. Queries to such an address are taken here, queued for
 * the host (which keeps a NextDNSQuery waiting) and answered with what the host got back. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent-protocol.h"
#include "agent.h"
#include "log.h"
#include "macro.h"
#include "timeutil.h"

/* A query nobody answered in this long is dropped: the client has given up by then. */
#define DNS_QUERY_TTL_MS 10000

struct dns_listener {
        struct agent_watch w;
        int family;
        uint8_t addr[16];
};

struct dns_query {
        bool used, queued; /* queued: not handed to the host yet */
        uint32_t id;
        struct dns_listener *l;
        struct sockaddr_storage client;
        socklen_t client_len;
        long long born_ms;
        size_t len;
        uint8_t data[HAKO_MAX_DNS_MESSAGE];
};

static struct dns_listener listeners[HAKO_MAX_DNS_SERVERS];
static size_t n_listeners;
static struct dns_query queries[HAKO_MAX_DNS_QUERIES];
static uint32_t next_id = 1;
static void (*queued_fn)(void);

/* A free slot: an unused one, else an expired one, else the oldest. */
static struct dns_query *slot_take(void)
{
        struct dns_query *oldest = &queries[0];
        long long now = mono_ms();

        for (size_t i = 0; i < HAKO_MAX_DNS_QUERIES; i++) {
                struct dns_query *q = &queries[i];
                if (!q->used || now - q->born_ms > DNS_QUERY_TTL_MS)
                        return q;
                if (q->born_ms < oldest->born_ms)
                        oldest = q;
        }
        return oldest;
}

static void on_readable(struct agent_watch *w, uint32_t revents)
{
        struct dns_listener *l = (struct dns_listener *)w;
        bool queued = false;

        (void)revents;
        /* Bounded per wake-up: a flood cannot keep the agent from everything else. */
        for (int i = 0; i < 16; i++) {
                static uint8_t buf[HAKO_MAX_DNS_MESSAGE];
                struct sockaddr_storage from;
                socklen_t from_len = sizeof(from);
                ssize_t n = recvfrom(l->w.fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
                                     (struct sockaddr *)&from, &from_len);
                if (n < 0)
                        break;
                if (n == 0 || (size_t)n > sizeof(buf))
                        continue; /* nothing, or more than a DNS query over UDP */
                struct dns_query *q = slot_take();
                *q = (struct dns_query){.used = true,
                                        .queued = true,
                                        .id = next_id++,
                                        .l = l,
                                        .client_len = from_len,
                                        .born_ms = mono_ms(),
                                        .len = (size_t)n};
                memcpy(&q->client, &from, from_len);
                memcpy(q->data, buf, (size_t)n);
                queued = true;
        }
        if (queued && queued_fn)
                queued_fn();
}

void agent_dns_init(void (*fn)(void))
{
        queued_fn = fn;
}

int agent_dns_listen(const uint8_t *addr, size_t len)
{
        union {
                struct sockaddr_in v4;
                struct sockaddr_in6 v6;
        } sa = {0};
        int family = len == 4 ? AF_INET : AF_INET6, fd;
        struct dns_listener *l;

        if (len == 4 ? addr[0] != 127 : len != 16 || memcmp(addr, &in6addr_loopback, 16) != 0)
                return -EINVAL;
        for (size_t i = 0; i < n_listeners; i++)
                if (listeners[i].family == family && !memcmp(listeners[i].addr, addr, len))
                        return 0;
        if (n_listeners >= HAKO_MAX_DNS_SERVERS)
                return -ENOSPC;
        fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (family == AF_INET) {
                sa.v4.sin_family = AF_INET;
                sa.v4.sin_port = htons(53);
                memcpy(&sa.v4.sin_addr, addr, 4);
        } else {
                sa.v6.sin6_family = AF_INET6;
                sa.v6.sin6_port = htons(53);
                memcpy(&sa.v6.sin6_addr, addr, 16);
        }
        if (bind(fd, (struct sockaddr *)&sa, family == AF_INET ? sizeof(sa.v4) : sizeof(sa.v6)) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        l = &listeners[n_listeners];
        *l = (struct dns_listener){.w = {.fd = fd, .fn = on_readable}, .family = family};
        memcpy(l->addr, addr, len);
        int r = agent_watch_set(&l->w, EPOLLIN);
        if (r < 0) {
                close(fd);
                return r;
        }
        n_listeners++;
        return 0;
}

bool agent_dns_next(uint32_t *ret_id, const uint8_t **ret_server, size_t *ret_server_len,
                    const uint8_t **ret_data, size_t *ret_len)
{
        struct dns_query *first = NULL;
        long long now = mono_ms();

        for (size_t i = 0; i < HAKO_MAX_DNS_QUERIES; i++) {
                struct dns_query *q = &queries[i];
                if (!q->used || !q->queued)
                        continue;
                if (now - q->born_ms > DNS_QUERY_TTL_MS) {
                        q->used = false;
                        continue;
                }
                if (!first || q->id < first->id)
                        first = q;
        }
        if (!first)
                return false;
        first->queued = false;
        *ret_id = first->id;
        *ret_server = first->l->addr;
        *ret_server_len = first->l->family == AF_INET ? 4 : 16;
        *ret_data = first->data;
        *ret_len = first->len;
        return true;
}

int agent_dns_answer(uint32_t id, const uint8_t *data, size_t len)
{
        for (size_t i = 0; i < HAKO_MAX_DNS_QUERIES; i++) {
                struct dns_query *q = &queries[i];
                if (!q->used || q->queued || q->id != id)
                        continue;
                q->used = false;
                if (len > HAKO_MAX_DNS_MESSAGE)
                        return -EMSGSIZE;
                if (sendto(q->l->w.fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&q->client,
                           q->client_len) < 0)
                        return negative_errno();
                return 0;
        }
        return -ENOENT; /* too late: dropped for a newer query */
}
