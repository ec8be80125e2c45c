/* SPDX-License-Identifier: Apache-2.0 */
#include "ttrpc-server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arena.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

struct ttrpc_conn {
        struct ttrpc_server *server;
        int fd;
        uint64_t id;
        struct ttrpc_reader reader;
        uint64_t skip; /* rest of an oversized frame still to be dropped */
        bool closed;   /* freed at the next round */
};

struct ttrpc_server {
        struct ttrpc_server_config cfg;
        int listen_fd;
        struct ttrpc_conn **conns;
        unsigned n_conns;
        uint64_t next_id;
        struct arena arena;
};

int ttrpc_server_new(const struct ttrpc_server_config *cfg, struct ttrpc_server **ret)
{
        struct ttrpc_server *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->cfg = *cfg;
        s->listen_fd = cfg->listen_fd;
        s->next_id = 1;
        s->conns = calloc(cfg->max_connections, sizeof(*s->conns));
        r = s->conns ? arena_init(&s->arena, cfg->arena_size) : -ENOMEM;
        if (r < 0) {
                free(s->conns);
                free(s);
                return r;
        }
        if (s->listen_fd >= 0)
                fd_set_nonblock(s->listen_fd, 1);
        *ret = s;
        return 0;
}

static void conn_free(struct ttrpc_conn *c)
{
        safe_close(c->fd);
        ttrpc_reader_done(&c->reader);
        free(c);
}

struct ttrpc_server *ttrpc_server_free(struct ttrpc_server *s)
{
        if (!s)
                return NULL;
        for (unsigned i = 0; i < s->n_conns; i++)
                conn_free(s->conns[i]);
        free(s->conns);
        safe_close(s->listen_fd);
        arena_done(&s->arena);
        free(s);
        return NULL;
}

void ttrpc_server_stop_listening(struct ttrpc_server *s)
{
        s->listen_fd = safe_close(s->listen_fd);
}

unsigned ttrpc_server_connections(const struct ttrpc_server *s)
{
        unsigned n = 0;

        for (unsigned i = 0; i < s->n_conns; i++)
                n += !s->conns[i]->closed;
        return n;
}

static struct ttrpc_conn *conn_find(struct ttrpc_server *s, uint64_t id)
{
        for (unsigned i = 0; i < s->n_conns; i++)
                if (s->conns[i]->id == id && !s->conns[i]->closed)
                        return s->conns[i];
        return NULL;
}

bool ttrpc_call_alive(const struct ttrpc_call *call)
{
        return conn_find(call->server, call->conn_id) != NULL;
}

static void conn_close(struct ttrpc_conn *c)
{
        c->closed = true;
        c->fd = safe_close(c->fd);
}

int ttrpc_reply(const struct ttrpc_call *call, int code, const char *message, const ProtobufCMessage *resp)
{
        struct ttrpc_conn *c = conn_find(call->server, call->conn_id);
        int r;

        if (!c)
                return -ENOTCONN;
        r = ttrpc_send_response(c->fd, call->stream_id, code, message, resp);
        if (r < 0) {
                /* A client that does not read its answers (or is gone) loses its connection. */
                log_debug_errno(r, "ttrpc: answering stream %u: %m", call->stream_id);
                conn_close(c);
        }
        return r;
}

int ttrpc_reply_error(const struct ttrpc_call *call, int code, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return ttrpc_reply(call, code, msg, NULL);
}

static void serve_frame(struct ttrpc_conn *c, const struct ttrpc_frame *f)
{
        struct ttrpc_server *s = c->server;
        struct ttrpc_call call = {.server = s, .conn_id = c->id, .stream_id = f->stream_id};
        Hako__Ttrpc__Request *req;

        arena_reset(&s->arena);
        req = hako__ttrpc__request__unpack(&s->arena.allocator, f->length, f->data);
        if (!req) {
                ttrpc_reply(&call, TTRPC_INVALID_ARGUMENT, "undecodable request", NULL);
                return;
        }
        for (size_t i = 0; i < s->cfg.n_methods; i++) {
                const struct ttrpc_method *m = &s->cfg.methods[i];
                ProtobufCMessage *payload;

                if (strcmp(req->service, m->service) != 0 || strcmp(req->method, m->name) != 0)
                        continue;
                payload = protobuf_c_message_unpack(m->request, &s->arena.allocator, req->payload.len,
                                                    req->payload.data);
                if (!payload) {
                        ttrpc_reply_error(&call, TTRPC_INVALID_ARGUMENT, "%s: undecodable %s", m->name,
                                          m->request->name);
                        return;
                }
                m->fn(s->cfg.userdata, &call, payload);
                return;
        }
        /* ttrpc's own wording, which containerd maps to "not implemented". */
        ttrpc_reply_error(&call, TTRPC_UNIMPLEMENTED, "%.100s/%.100s: method not found", req->service,
                          req->method);
}

static void conn_read(struct ttrpc_conn *c)
{
        struct ttrpc_frame f;
        int r;

        /* Bounded per round, so one busy client cannot starve the others. */
        for (int round = 0; round < 16 && !c->closed; round++) {
                r = ttrpc_reader_fill(&c->reader, c->fd);
                if (r == -EAGAIN)
                        return;
                if (r <= 0) {
                        conn_close(c);
                        return;
                }
                for (;;) {
                        if (c->skip) {
                                size_t n =
                                    (size_t)MIN(c->skip, (uint64_t)(c->reader.len - c->reader.consumed));
                                c->reader.consumed += n;
                                c->skip -= n;
                                if (c->skip)
                                        break;
                        }
                        r = ttrpc_reader_next(&c->reader, &f);
                        if (r == 0)
                                break;
                        if (r == -EMSGSIZE) {
                                /* The length is known: skipping the body keeps the stream in sync. */
                                struct ttrpc_call call = {c->server, c->id, 0};
                                ttrpc_header_unpack(c->reader.buf + c->reader.consumed, &f);
                                call.stream_id = f.stream_id;
                                ttrpc_reply_error(&call, TTRPC_RESOURCE_EXHAUSTED,
                                                  "message of %u bytes is over the limit of %u", f.length,
                                                  c->server->cfg.max_frame);
                                c->reader.consumed += TTRPC_HEADER_SIZE;
                                c->skip = f.length;
                                continue;
                        }
                        if (f.type != TTRPC_TYPE_REQUEST || f.stream_id % 2 == 0) {
                                /* Clients send requests on odd streams; anything else breaks the
                                 * protocol. */
                                conn_close(c);
                                return;
                        }
                        serve_frame(c, &f);
                        if (c->closed)
                                return;
                }
        }
}

static void on_conn(void *userdata, short revents)
{
        struct ttrpc_conn *c = userdata;

        if (c->closed)
                return;
        if (revents & POLLIN)
                conn_read(c);
        else if (revents & (POLLHUP | POLLERR))
                conn_close(c);
}

int ttrpc_server_adopt(struct ttrpc_server *s, int fd)
{
        struct ttrpc_conn *c;
        int r;

        if (s->n_conns >= s->cfg.max_connections) {
                safe_close(fd);
                return -EMFILE;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->server = s;
        c->fd = fd;
        c->id = s->next_id++;
        r = ttrpc_reader_init(&c->reader, s->cfg.max_frame);
        if (r < 0) {
                conn_free(c);
                return r;
        }
        fd_set_nonblock(fd, 1);
        s->conns[s->n_conns++] = c;
        return 0;
}

static void on_listen(void *userdata, short revents)
{
        struct ttrpc_server *s = userdata;
        int fd;

        (void)revents;
        fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
                return;
        if (ttrpc_server_adopt(s, fd) < 0)
                log_warning("ttrpc: refusing a connection: %u already", s->n_conns);
}

void ttrpc_server_poll_add(struct ttrpc_server *s, struct pollset *ps)
{
        for (unsigned i = 0; i < s->n_conns;) {
                if (s->conns[i]->closed) {
                        conn_free(s->conns[i]);
                        s->conns[i] = s->conns[--s->n_conns];
                        continue;
                }
                (void)pollset_add(ps, s->conns[i]->fd, POLLIN, on_conn, s->conns[i]);
                i++;
        }
        if (s->n_conns < s->cfg.max_connections)
                (void)pollset_add(ps, s->listen_fd, POLLIN, on_listen, s);
}
