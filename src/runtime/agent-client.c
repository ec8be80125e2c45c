/* SPDX-License-Identifier: Apache-2.0 */
#include "agent-client.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "macro.h"
#include "timeutil.h"

/* How long a channel that closed gets to show that its VM exited (the pidfd turns readable a
 * moment after the process closed its fds). */
#define VM_EXIT_GRACE_MS 200

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

const char *agent_client_error(const struct agent_client *c)
{
        return c->broken ? c->error : NULL;
}

/* The channel is over: the first reason stays, every later call fails with it. */
_printf_(3, 4) static int client_break(struct agent_client *c, int r, const char *fmt, ...)
{
        va_list ap;

        if (c->broken)
                return c->broken;
        c->broken = r;
        va_start(ap, fmt);
        vsnprintf(c->error, sizeof(c->error), fmt, ap);
        va_end(ap);
        return r;
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

static struct agent_pending *pending_add(struct agent_client *c, const char *method)
{
        if (c->n_pending >= HAKO_MAX_PENDING)
                return NULL;
        struct agent_pending *p = &c->pending[c->n_pending++];
        *p = (struct agent_pending){.stream_id = c->next_stream};
        snprintf(p->method, sizeof(p->method), "%s", method);
        c->next_stream += 2; /* client streams are odd (and stay odd when they wrap) */
        return p;
}

static void pending_remove(struct agent_client *c, struct agent_pending *p)
{
        free(p->sync_message);
        free(p->sync_payload);
        *p = c->pending[--c->n_pending];
}

/* Remembers an answered call, so that a second answer is named as such. */
static void answered_add(struct agent_client *c, const struct agent_pending *p)
{
        unsigned i = c->n_answered++ % AGENT_ANSWERED_KEPT;

        c->answered[i].stream_id = p->stream_id;
        memcpy(c->answered[i].method, p->method, sizeof(c->answered[i].method));
}

static const char *answered_find(const struct agent_client *c, uint32_t id)
{
        for (unsigned i = 0; i < MIN(c->n_answered, (unsigned)AGENT_ANSWERED_KEPT); i++)
                if (c->answered[i].stream_id == id)
                        return c->answered[i].method;
        return NULL;
}

static struct agent_pending *pending_find(struct agent_client *c, uint32_t id)
{
        for (unsigned i = 0; i < c->n_pending; i++)
                if (c->pending[i].stream_id == id)
                        return &c->pending[i];
        return NULL;
}

/* A request that could not be written whole leaves the stream out of step: the channel is over. */
static int send_request(struct agent_client *c, struct agent_pending *p, const char *method,
                        const ProtobufCMessage *req)
{
        int r = ttrpc_send_request(c->fd, p->stream_id, HAKO_AGENT_SERVICE, method, req, 0);

        if (r == -EMSGSIZE || r == -ENOMEM) /* refused before a byte went out */
                return r;
        if (r == -EPIPE || r == -ECONNRESET)
                return client_break(c, -ECONNRESET, "the agent channel closed (the VM is gone)");
        if (r == -ETIMEDOUT)
                return client_break(c, r,
                                    "the guest agent stopped reading its channel (a %s request waited %d s)",
                                    p->method, TTRPC_WRITE_TIMEOUT_MS / 1000);
        if (r < 0)
                return client_break(c, r, "writing to the agent channel failed: %s", strerror(-r));
        return 0;
}

int agent_call_async(struct agent_client *c, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, agent_reply_fn fn, void *userdata)
{
        struct agent_pending *p;
        int r;

        if (c->broken)
                return c->broken;
        p = pending_add(c, method);
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
        const char *twice;

        if (f->type != TTRPC_TYPE_RESPONSE)
                return client_break(c, -EPROTO,
                                    "the guest agent sent a frame of type %u on stream %" PRIu32
                                    " (the host expects responses only)",
                                    f->type, f->stream_id);
        p = pending_find(c, f->stream_id);
        if (p && p->sync_done)
                return client_break(c, -EPROTO, "the guest agent answered %s (stream %" PRIu32 ") twice",
                                    p->method, f->stream_id);
        if (!p) {
                twice = answered_find(c, f->stream_id);
                if (twice)
                        return client_break(c, -EPROTO,
                                            "the guest agent answered %s (stream %" PRIu32 ") twice", twice,
                                            f->stream_id);
                return client_break(
                    c, -EPROTO, "the guest agent answered stream %" PRIu32 ", which no call is waiting on",
                    f->stream_id);
        }
        answered_add(c, p);
        if (p->abandoned) {
                pending_remove(c, p);
                return 0;
        }

        arena_reset(&c->arena);
        resp = hako__ttrpc__response__unpack(&c->arena.allocator, f->length, f->data);
        if (!resp)
                return client_break(
                    c, -EPROTO, "the guest agent's answer to %s (stream %" PRIu32 ") is not a valid response",
                    p->method, f->stream_id);
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
                        return client_break(c, -EPROTO,
                                            "the guest agent's answer to %s (stream %" PRIu32
                                            ") does not decode as its response",
                                            p->method, f->stream_id);
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

        if (c->broken)
                return c->broken;
        got = ttrpc_reader_fill(&c->reader, c->fd);
        if (got == -EAGAIN)
                return 0;
        if (got < 0)
                return client_break(c, got, "reading the agent channel failed: %s", strerror(-got));
        for (;;) {
                r = ttrpc_reader_next(&c->reader, &f);
                if (r == -EMSGSIZE)
                        return client_break(
                            c, -EPROTO, "the guest agent sent a frame of %" PRIu32 " bytes (the limit is %u)",
                            c->reader.oversized, (unsigned)HAKO_TTRPC_MAX_FRAME);
                if (r < 0)
                        return client_break(c, -EPROTO, "the guest agent's frames do not parse");
                if (r == 0)
                        break;
                r = handle_frame(c, &f);
                if (r < 0)
                        return r;
                /* A callback may have given up on the channel: stop at once. */
                if (c->broken)
                        return c->broken;
        }
        if (got == 0)
                return client_break(c, -ECONNRESET, "the agent channel closed (the VM is gone)");
        return 0;
}

/* A closed channel mostly means the VM exited: say so when its pidfd agrees. */
static int closed_or_exited(struct agent_client *c)
{
        struct pollfd p = {.fd = c->abort_fds[0], .events = POLLIN};

        if (c->abort_fds[0] >= 0 && poll(&p, 1, VM_EXIT_GRACE_MS) > 0)
                return -ECHILD;
        return -ECONNRESET;
}

static void timeout_text(int ms, char *buf, size_t size)
{
        if (ms % 1000 == 0)
                snprintf(buf, size, "%d s", ms / 1000);
        else
                snprintf(buf, size, "%d ms", ms);
}

int agent_call(struct agent_client *c, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, struct arena *arena,
               ProtobufCMessage **ret_resp, char **ret_error)
{
        struct agent_pending *p;
        long long deadline = mono_ms() + timeout_ms;
        uint32_t id;
        int r;

        /* A response decoded with malloc would be neither bounded nor freed. */
        if (ret_resp && resp_desc && !arena)
                return -EINVAL;
        if (c->broken) {
                error_set(ret_error, c->broken, "%s", c->error);
                return c->broken;
        }
        p = pending_add(c, method);
        if (!p)
                return -EBUSY;
        id = p->stream_id;
        r = send_request(c, p, method, req);
        if (r == -ECONNRESET)
                r = closed_or_exited(c);
        if (r < 0) {
                pending_remove(c, p);
                if (r == -ECHILD)
                        error_set(ret_error, r, "the VM exited during %s", method);
                else if (c->broken)
                        error_set(ret_error, r, "%s", c->error);
                return r;
        }
        for (;;) {
                p = pending_find(c, id);
                if (!p)
                        return -EPROTO; /* not reached: only this call removes its entry */
                if (p->sync_done)
                        break;
                long long left = deadline - mono_ms();
                if (left <= 0) {
                        char t[32];
                        /* Keep the slot so a late answer is recognised and dropped. */
                        p->abandoned = true;
                        timeout_text(timeout_ms, t, sizeof(t));
                        error_set(ret_error, -ETIMEDOUT, "the guest agent did not answer %s within %s",
                                  method, t);
                        return -ETIMEDOUT;
                }
                struct pollfd fds[3] = {{.fd = c->fd, .events = POLLIN},
                                        {.fd = c->abort_fds[0], .events = POLLIN},
                                        {.fd = c->abort_fds[1], .events = POLLIN}};
                r = poll(fds, 3, (int)MIN(left, (long long)INT32_MAX)); /* negative fds are ignored */
                if (r < 0 && errno != EINTR)
                        return negative_errno();
                if (r <= 0)
                        continue;
                if (fds[0].revents) {
                        r = agent_client_dispatch(c);
                        if (r == -ECONNRESET)
                                r = closed_or_exited(c);
                        if (r == -ECHILD) {
                                error_set(ret_error, r, "the VM exited during %s", method);
                                return r;
                        }
                        if (r < 0) {
                                error_set(ret_error, r, "%s", c->broken ? c->error : strerror(-r));
                                return r;
                        }
                        continue;
                }
                if (fds[1].revents) {
                        p->abandoned = true;
                        (void)client_break(c, -ECHILD, "the VM exited");
                        error_set(ret_error, -ECHILD, "the VM exited during %s", method);
                        return -ECHILD;
                }
                if (fds[2].revents) {
                        p->abandoned = true;
                        return -EINTR;
                }
        }

        int code = p->sync_code;
        if (code != TTRPC_OK) {
                if (ret_error && !*ret_error)
                        *ret_error = TAKE_PTR(p->sync_message);
                pending_remove(c, p);
                return agent_code_to_errno(code);
        }
        if (ret_resp && resp_desc) {
                ProtobufCMessage *m =
                    protobuf_c_message_unpack(resp_desc, &arena->allocator, p->sync_len, p->sync_payload);
                if (!m) {
                        r = client_break(c, -EPROTO,
                                         "the guest agent's answer to %s (stream %" PRIu32
                                         ") does not decode as its response",
                                         method, id);
                        pending_remove(c, p);
                        error_set(ret_error, r, "%s", c->error);
                        return r;
                }
                *ret_resp = m;
        }
        pending_remove(c, p);
        return 0;
}
