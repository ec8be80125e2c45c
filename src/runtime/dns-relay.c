/* SPDX-License-Identifier: Apache-2.0 */
#include "dns-relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "pollset.h"
#include "container.h"
#include "sandbox.h"
#include "timeutil.h"

#define DNS_TIMEOUT_MS        5000
#define RESOLV_CONF_MAX       (64u << 10)
#define AGENT_CALL_TIMEOUT_MS 10000

static bool server_parse(const char *s, struct dns_server *ret)
{
        char buf[64];
        size_t n = strcspn(s, " \t\r\n#;");

        if (n == 0 || n >= sizeof(buf))
                return false;
        memcpy(buf, s, n);
        buf[n] = 0;
        if (inet_pton(AF_INET, buf, ret->addr) == 1) {
                ret->family = AF_INET;
                return ret->addr[0] == 127;
        }
        if (inet_pton(AF_INET6, buf, ret->addr) == 1) {
                ret->family = AF_INET6;
                return !memcmp(ret->addr, &in6addr_loopback, 16);
        }
        return false;
}

int dns_relay_resolv_conf(struct sandbox *sb, json_t *spec, char **ret)
{
        static const char prefix[] = HAKO_GUEST_SHARED_DIR "/";
        const char *host = NULL;
        size_t i;
        json_t *m;

        json_array_foreach(json_object_get(spec, "mounts"), i, m)
        {
                const char *dst = json_string_value(json_object_get(m, "destination"));
                const char *src = json_string_value(json_object_get(m, "source"));
                if (!dst || !src || strcmp(dst, "/etc/resolv.conf") != 0 ||
                    strncmp(src, prefix, strlen(prefix)) != 0)
                        continue;
                struct share *s = share_table_find(&sb->shares, src + strlen(prefix));
                host = s ? s->host : NULL;
        }
        *ret = NULL;
        if (host && !(*ret = strdup(host)))
                return -ENOMEM;
        return 0;
}

/* The loopback nameservers of a resolv.conf. */
static int servers_of(const char *path, struct dns_server ret[HAKO_MAX_DNS_SERVERS], size_t *ret_n)
{
        _cleanup_free_ char *text = NULL;
        size_t len, n = 0;
        int r;

        r = read_full_file(path, RESOLV_CONF_MAX, &text, &len);
        if (r < 0)
                return r;
        for (char *line = text; line && *line && n < HAKO_MAX_DNS_SERVERS;) {
                char *next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                line += strspn(line, " \t");
                if (!strncmp(line, "nameserver", 10) && (line[10] == ' ' || line[10] == '\t') &&
                    server_parse(line + 10 + strspn(line + 10, " \t"), &ret[n]))
                        n++;
                line = next;
        }
        *ret_n = n;
        return 0;
}

static const struct dns_server *server_find(const struct dns_relay *d, const ProtobufCBinaryData *addr)
{
        for (size_t i = 0; i < d->n_servers; i++) {
                const struct dns_server *s = &d->servers[i];
                if (addr->len == (s->family == AF_INET ? 4u : 16u) && !memcmp(addr->data, s->addr, addr->len))
                        return s;
        }
        return NULL;
}

static void arm(struct sandbox *sb);

/* A new query, in the slot of an answered one or the oldest. */
static struct dns_inflight *slot_take(struct dns_relay *d)
{
        struct dns_inflight *oldest = &d->q[0];

        for (size_t i = 0; i < HAKO_MAX_DNS_QUERIES; i++) {
                if (d->q[i].fd < 0)
                        return &d->q[i];
                if (d->q[i].deadline < oldest->deadline)
                        oldest = &d->q[i];
        }
        oldest->fd = safe_close(oldest->fd);
        return oldest;
}

static int send_query(struct dns_inflight *q, const struct dns_server *s, const ProtobufCBinaryData *query)
{
        union {
                struct sockaddr_in v4;
                struct sockaddr_in6 v6;
        } sa = {0};
        _cleanup_close_ int fd = socket(s->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return negative_errno();
        if (s->family == AF_INET) {
                sa.v4.sin_family = AF_INET;
                sa.v4.sin_port = htons(53);
                memcpy(&sa.v4.sin_addr, s->addr, 4);
        } else {
                sa.v6.sin6_family = AF_INET6;
                sa.v6.sin6_port = htons(53);
                memcpy(&sa.v6.sin6_addr, s->addr, 16);
        }
        if (connect(fd, (struct sockaddr *)&sa, s->family == AF_INET ? sizeof(sa.v4) : sizeof(sa.v6)) < 0 ||
            send(fd, query->data, query->len, MSG_DONTWAIT) < 0)
                return negative_errno();
        q->fd = TAKE_FD(fd);
        q->deadline = mono_ms() + DNS_TIMEOUT_MS;
        return 0;
}

static void on_query(void *userdata, int code, const char *message, const ProtobufCMessage *resp)
{
        struct sandbox *sb = userdata;
        struct dns_relay *d = &sb->dns;
        const Hako__Agent__V1__NextDNSQueryResponse *m = (const void *)resp;
        const struct dns_server *s;

        d->waiting = false;
        if (code != TTRPC_OK) {
                log_debug("DNS relay: %s", message);
                return; /* the guest is going away, or refuses: no more relaying */
        }
        s = server_find(d, &m->nameserver);
        /* Only where the caller's resolv.conf pointed, whatever the guest says. */
        if (s && m->query.len > 0 && m->query.len <= HAKO_MAX_DNS_MESSAGE) {
                struct dns_inflight *q = slot_take(d);
                int r = send_query(q, s, &m->query);
                if (r < 0)
                        log_debug_errno(r, "DNS relay: cannot send a query: %m");
                q->id = m->id;
        }
        arm(sb);
}

static void arm(struct sandbox *sb)
{
        Hako__Agent__V1__NextDNSQueryRequest req = HAKO__AGENT__V1__NEXT_DNSQUERY_REQUEST__INIT;

        if (sb->dns.waiting || sb->agent_error || !sb->agent_ready)
                return;
        if (agent_call_async(&sb->agent, "NextDNSQuery", &req.base,
                             &hako__agent__v1__next_dnsquery_response__descriptor, on_query, sb) >= 0)
                sb->dns.waiting = true;
}

static void on_answered(void *userdata, int code, const char *message, const ProtobufCMessage *resp)
{
        (void)userdata;
        (void)resp;
        if (code != TTRPC_OK)
                log_debug("DNS relay: the guest refused an answer: %s", message);
}

static void on_answer(void *userdata, short revents)
{
        struct dns_inflight *q = userdata;
        Hako__Agent__V1__AnswerDNSQueryRequest req = HAKO__AGENT__V1__ANSWER_DNSQUERY_REQUEST__INIT;
        static uint8_t buf[HAKO_MAX_DNS_MESSAGE];
        ssize_t n;

        (void)revents;
        if (q->fd < 0)
                return;
        n = recv(q->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        q->fd = safe_close(q->fd);
        if (n <= 0)
                return; /* nobody listens there (ECONNREFUSED): the client times out, as it would */
        /* Longer than a UDP answer may be: the client gets what fits, marked truncated. */
        if ((size_t)n > sizeof(buf)) {
                n = sizeof(buf);
                buf[2] |= 0x02;
        }
        req.id = q->id;
        req.answer.data = buf;
        req.answer.len = (size_t)n;
        (void)agent_call_async(&q->sb->agent, "AnswerDNSQuery", &req.base, NULL, on_answered, NULL);
}

static int relay_add(struct sandbox *sb, const struct dns_server *servers, size_t n, char **ret_error)
{
        Hako__Agent__V1__StartDNSRelayRequest req = HAKO__AGENT__V1__START_DNSRELAY_REQUEST__INIT;
        ProtobufCBinaryData addrs[HAKO_MAX_DNS_SERVERS];
        struct dns_relay *d = &sb->dns;
        _cleanup_free_ char *err = NULL;
        size_t first = d->n_servers;
        int r;

        if (!d->n_servers)
                for (size_t i = 0; i < HAKO_MAX_DNS_QUERIES; i++)
                        d->q[i] = (struct dns_inflight){.sb = sb, .fd = -1};
        for (size_t i = 0; i < n; i++) {
                ProtobufCBinaryData b = {servers[i].family == AF_INET ? 4 : 16, (uint8_t *)servers[i].addr};
                if (server_find(d, &b) || d->n_servers >= HAKO_MAX_DNS_SERVERS)
                        continue;
                d->servers[d->n_servers++] = servers[i];
        }
        if (d->n_servers == first)
                return 0;
        for (size_t i = first; i < d->n_servers; i++) {
                addrs[i - first].data = d->servers[i].addr;
                addrs[i - first].len = d->servers[i].family == AF_INET ? 4 : 16;
        }
        req.nameservers = addrs;
        req.n_nameservers = d->n_servers - first;
        r = agent_call(&sb->agent, "StartDNSRelay", &req.base, NULL, AGENT_CALL_TIMEOUT_MS, NULL, NULL, &err);
        if (r < 0) {
                d->n_servers = first;
                return error_set(ret_error, r, "the guest cannot relay DNS to the container's nameserver: %s",
                                 err ? err : strerror(-r));
        }
        arm(sb);
        return 0;
}

int sandbox_dns_refresh(struct sandbox *sb, struct container *c, char **ret_error)
{
        for (struct container *i = c ? c : sandbox_containers(sb); i; i = c ? NULL : i->next) {
                struct dns_server servers[HAKO_MAX_DNS_SERVERS];
                size_t n;
                int r;

                if (!i->resolv_conf)
                        continue;
                r = servers_of(i->resolv_conf, servers, &n);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return error_set(ret_error, r, "cannot read the container's resolv.conf %s: %s",
                                         i->resolv_conf, strerror(-r));
                r = relay_add(sb, servers, n, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

void sandbox_dns_poll_add(struct sandbox *sb, struct pollset *ps)
{
        long long now = mono_ms();

        if (!sb->dns.n_servers)
                return;
        for (size_t i = 0; i < HAKO_MAX_DNS_QUERIES; i++) {
                struct dns_inflight *q = &sb->dns.q[i];
                if (q->fd < 0)
                        continue;
                if (q->deadline <= now) {
                        q->fd = safe_close(q->fd);
                        continue;
                }
                pollset_timeout(ps, q->deadline - now);
                (void)pollset_add(ps, q->fd, POLLIN, on_answer, q);
        }
}

void sandbox_dns_done(struct sandbox *sb)
{
        if (!sb->dns.n_servers)
                return;
        for (size_t i = 0; i < HAKO_MAX_DNS_QUERIES; i++)
                sb->dns.q[i].fd = safe_close(sb->dns.q[i].fd);
        sb->dns.n_servers = 0;
}
