/* SPDX-License-Identifier: Apache-2.0 */
#include "agent-client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "timeutil.h"

int agent_client_init(struct agent_client *c, int fd, int abort_fd)
{
        int r;

        *c = (struct agent_client){.fd = fd, .abort_fds = {abort_fd, -1}, .next_stream = 1};
        r = ttrpc_reader_init(&c->reader, HAKO_TTRPC_MAX_FRAME);
        if (r < 0)
                return r;
        r = arena_init(&c->arena, HAKO_TTRPC_ARENA);
        if (r < 0) {
                ttrpc_reader_done(&c->reader);
                return r;
        }
        return 0;
}

void agent_client_set_interrupt_fd(struct agent_client *c, int fd)
{
        c->abort_fds[1] = fd;
}

void agent_client_done(struct agent_client *c)
{
        for (unsigned i = 0; i < c->n_pending; i++) {
                free(c->pending[i].sync_message);
                free(c->pending[i].sync_payload);
        }
        ttrpc_reader_done(&c->reader);
        arena_done(&c->arena);
        c->n_pending = 0;
}

int agent_code_to_errno(int code)
{
        switch (code) {
        case TTRPC_OK:
                return 0;
        case TTRPC_NOT_FOUND:
                return -ENOENT;
        case TTRPC_ALREADY_EXISTS:
                return -EEXIST;
        case TTRPC_INVALID_ARGUMENT:
                return -EINVAL;
        case TTRPC_PERMISSION_DENIED:
                return -EACCES;
        case TTRPC_RESOURCE_EXHAUSTED:
                return -ENOSPC;
        case TTRPC_UNIMPLEMENTED:
                return -EOPNOTSUPP;
        case TTRPC_DEADLINE_EXCEEDED:
                return -ETIMEDOUT;
        case TTRPC_FAILED_PRECONDITION:
                return -EBUSY;
        default:
                return -EREMOTEIO;
        }
}

/* A message from the guest ends up on the user's terminal: keep it short and printable. */
static char *sanitize_message(const char *m)
{
        size_t n = m ? strnlen(m, 512) : 0;
        char *s = malloc(n + 1);

        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++)
                s[i] = (m[i] >= 0x20 && m[i] < 0x7f) ? m[i] : '?';
        s[n] = 0;
        return s;
}

static struct agent_pending *pending_add(struct agent_client *c)
{
        if (c->n_pending >= HAKO_MAX_PENDING)
                return NULL;
        struct agent_pending *p = &c->pending[c->n_pending++];
        *p = (struct agent_pending){.stream_id = c->next_stream};
        c->next_stream += 2; /* client streams are odd */
        return p;
}

static void pending_remove(struct agent_client *c, struct agent_pending *p)
{
        free(p->sync_message);
        free(p->sync_payload);
        *p = c->pending[--c->n_pending];
}

static struct agent_pending *pending_find(struct agent_client *c, uint32_t id)
{
        for (unsigned i = 0; i < c->n_pending; i++)
                if (c->pending[i].stream_id == id)
                        return &c->pending[i];
        return NULL;
}

static int send_request(struct agent_client *c, struct agent_pending *p, const char *method,
                        const ProtobufCMessage *req)
{
        return ttrpc_send_request(c->fd, p->stream_id, HAKO_AGENT_SERVICE, method, req, 0);
}

int agent_call_async(struct agent_client *c, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, agent_reply_fn fn, void *userdata)
{
        struct agent_pending *p = pending_add(c);
        int r;

        if (!p)
                return -EBUSY;
        p->desc = resp_desc;
        p->fn = fn;
        p->userdata = userdata;
        r = send_request(c, p, method, req);
        if (r < 0)
                pending_remove(c, p);
        return r;
}

static int handle_frame(struct agent_client *c, const struct ttrpc_frame *f)
{
        Hako__Ttrpc__Response *resp;
        struct agent_pending *p;

        if (f->type != TTRPC_TYPE_RESPONSE)
                return -EPROTO;
        p = pending_find(c, f->stream_id);
        if (!p || p->sync_done)
                return -EPROTO; /* an answer to nothing we asked */
        if (p->abandoned) {
                pending_remove(c, p);
                return 0;
        }

        arena_reset(&c->arena);
        resp = hako__ttrpc__response__unpack(&c->arena.allocator, f->length, f->data);
        if (!resp)
                return -EPROTO;
        int code = resp->status ? resp->status->code : TTRPC_OK;
        const char *msg = resp->status && resp->status->message ? resp->status->message : "";

        if (!p->fn) {
                /* synchronous: keep a copy for agent_call, which decodes into the caller's arena */
                p->sync_done = true;
                p->sync_code = code;
                p->sync_message = sanitize_message(msg);
                if (code == TTRPC_OK && resp->payload.len > 0) {
                        p->sync_payload = malloc(resp->payload.len);
                        if (!p->sync_payload)
                                return -ENOMEM;
                        memcpy(p->sync_payload, resp->payload.data, resp->payload.len);
                        p->sync_len = resp->payload.len;
                }
                return 0;
        }

        ProtobufCMessage *m = NULL;
        if (code == TTRPC_OK && p->desc) {
                m = protobuf_c_message_unpack(p->desc, &c->arena.allocator, resp->payload.len,
                                              resp->payload.data);
                if (!m)
                        return -EPROTO;
        }
        agent_reply_fn fn = p->fn;
        void *ud = p->userdata;
        _cleanup_free_ char *clean = sanitize_message(msg);
        pending_remove(c, p); /* before the callback, which may issue the next call */
        fn(ud, code, clean ? clean : "", m);
        return 0;
}

void agent_client_forget(struct agent_client *c, const void *userdata)
{
        for (unsigned i = 0; i < c->n_pending; i++)
                if (c->pending[i].fn && c->pending[i].userdata == userdata)
                        c->pending[i].abandoned = true;
}

int agent_client_dispatch(struct agent_client *c)
{
        struct ttrpc_frame f;
        int r, got;

        got = ttrpc_reader_fill(&c->reader, c->fd);
        if (got == -EAGAIN)
                return 0;
        if (got < 0)
                return got;
        for (;;) {
                r = ttrpc_reader_next(&c->reader, &f);
                if (r < 0)
                        return -EPROTO;
                if (r == 0)
                        break;
                r = handle_frame(c, &f);
                if (r < 0)
                        return r;
        }
        return got == 0 ? -ECONNRESET : 0;
}

int agent_call(struct agent_client *c, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, struct arena *arena,
               ProtobufCMessage **ret_resp, char **ret_error)
{
        struct agent_pending *p = pending_add(c);
        long long deadline = mono_ms() + timeout_ms;
        uint32_t id;
        int r;

        if (!p)
                return -EBUSY;
        id = p->stream_id;
        r = send_request(c, p, method, req);
        if (r < 0) {
                pending_remove(c, p);
                return r;
        }
        for (;;) {
                p = pending_find(c, id);
                if (!p)
                        return -EPROTO;
                if (p->sync_done)
                        break;
                long long left = deadline - mono_ms();
                if (left <= 0) {
                        /* Keep the slot so a late answer is recognised and dropped. */
                        p->abandoned = true;
                        return -ETIMEDOUT;
                }
                struct pollfd fds[3] = {{.fd = c->fd, .events = POLLIN},
                                        {.fd = c->abort_fds[0], .events = POLLIN},
                                        {.fd = c->abort_fds[1], .events = POLLIN}};
                r = poll(fds, 3, (int)left); /* negative fds are ignored by poll */
                if (r < 0 && errno != EINTR)
                        return negative_errno();
                if (r <= 0)
                        continue;
                if (fds[0].revents) {
                        r = agent_client_dispatch(c);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (fds[1].revents) {
                        p->abandoned = true;
                        return -ECHILD;
                }
                if (fds[2].revents) {
                        p->abandoned = true;
                        return -EINTR;
                }
        }

        int code = p->sync_code;
        if (code != TTRPC_OK) {
                if (ret_error)
                        *ret_error = TAKE_PTR(p->sync_message);
                pending_remove(c, p);
                return agent_code_to_errno(code);
        }
        if (ret_resp && resp_desc) {
                ProtobufCMessage *m = protobuf_c_message_unpack(resp_desc, arena ? &arena->allocator : NULL,
                                                                p->sync_len, p->sync_payload);
                if (!m) {
                        pending_remove(c, p);
                        return -EPROTO;
                }
                *ret_resp = m;
        }
        pending_remove(c, p);
        return 0;
}
