/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "agent-protocol.h"
#include "agent.pb-c.h"
#include "arena.h"
#include "ttrpc.h"

/* The host end of the agent channel. Everything the guest sends is hostile: frames are bounded,
 * responses are decoded in a capped arena, unknown stream ids and non-response frames end the
 * connection. Calls can be synchronous (agent_call) or asynchronous with a callback, served by
 * agent_client_dispatch() when the fd is readable; many may be in flight at once. */

/* code: a TTRPC_* status; resp is NULL unless code == TTRPC_OK. Valid only during the callback. */
typedef void (*agent_reply_fn)(void *userdata, int code, const char *message, const ProtobufCMessage *resp);

struct agent_pending {
        uint32_t stream_id;
        const ProtobufCMessageDescriptor *desc;
        agent_reply_fn fn;
        void *userdata;
        bool sync_done;
        bool abandoned; /* the caller gave up; its late answer is dropped */
        int sync_code;
        char *sync_message;
        uint8_t *sync_payload;
        size_t sync_len;
};

struct agent_client {
        int fd;
        int abort_fds[2]; /* optional (the VM's pidfd, a signalfd): readable means give up waiting */
        struct ttrpc_reader reader;
        struct arena arena;
        uint32_t next_stream;
        struct agent_pending pending[HAKO_MAX_PENDING];
        unsigned n_pending;
};

int agent_client_init(struct agent_client *c, int fd, int abort_fd);
/* A second fd whose readability aborts synchronous calls with -EINTR (pending signals). */
void agent_client_set_interrupt_fd(struct agent_client *c, int fd);
void agent_client_done(struct agent_client *c);

int agent_call_async(struct agent_client *c, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, agent_reply_fn fn, void *userdata);

/* The asynchronous calls made with this userdata will not run their callbacks: their answers
 * are dropped when they arrive (the userdata is about to be freed). */
void agent_client_forget(struct agent_client *c, const void *userdata);

/* Reads what the channel has and runs callbacks for complete responses. -ECONNRESET when the guest
 * closed the channel, -EPROTO on data that breaks the protocol. */
int agent_client_dispatch(struct agent_client *c);

/* Synchronous call. The response (if ret_resp) is decoded into `arena`, owned by the caller.
 * A remote error maps to -errno (NOT_FOUND → -ENOENT, ...) with its message in *ret_error. */
int agent_call(struct agent_client *c, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, struct arena *arena,
               ProtobufCMessage **ret_resp, char **ret_error);

int agent_code_to_errno(int code);
