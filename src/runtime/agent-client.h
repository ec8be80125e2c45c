/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "agent-protocol.h"
#include "agent.pb-c.h"
#include "arena.h"
#include "ttrpc.h"

/* The host end of the agent channel. Everything the guest sends is hostile: frames are bounded,
 * responses are decoded in a capped arena, and anything that breaks the protocol (an oversized
 * frame, a frame that is not a response, an answer to a stream no call waits on or a second
 * answer, an undecodable message) ends the channel for good: every later call fails at once with
 * the same error, and agent_client_error() says what the guest did. Calls can be synchronous
 * (agent_call, always with a timeout) or asynchronous with a callback, served by
 * agent_client_dispatch() when the fd is readable; many may be in flight at once
 * (HAKO_MAX_PENDING). docs/hostile-guest.md. */

/* code: a TTRPC_* status; resp is NULL unless code == TTRPC_OK. Valid only during the callback. */
typedef void (*agent_reply_fn)(void *userdata, int code, const char *message, const ProtobufCMessage *resp);

#define AGENT_METHOD_MAX 32 /* a method's name as kept for messages (cut if longer) */

struct agent_pending {
        uint32_t stream_id;
        char method[AGENT_METHOD_MAX];
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

/* The last calls answered, to tell a second answer from one to a stream never opened. */
#define AGENT_ANSWERED_KEPT 16

struct agent_client {
        int fd;
        int abort_fds[2]; /* optional (the VM's pidfd, a signalfd): readable means give up waiting */
        struct ttrpc_reader reader;
        struct arena arena;
        uint32_t next_stream;
        struct agent_pending pending[HAKO_MAX_PENDING];
        unsigned n_pending;
        struct {
                uint32_t stream_id;
                char method[AGENT_METHOD_MAX];
        } answered[AGENT_ANSWERED_KEPT];
        unsigned n_answered;
        int broken;      /* -errno that ended the channel, 0 while it works */
        char error[256]; /* why it ended, one printable line */
};

int agent_client_init(struct agent_client *c, int fd, int abort_fd);
/* A second fd whose readability aborts synchronous calls with -EINTR (pending signals). */
void agent_client_set_interrupt_fd(struct agent_client *c, int fd);
void agent_client_done(struct agent_client *c);
/* Why the channel ended (one line: "the guest agent sent a frame of 4294967295 bytes (the limit is
 * 1048576)"), NULL while it works. */
const char *agent_client_error(const struct agent_client *c);

int agent_call_async(struct agent_client *c, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, agent_reply_fn fn, void *userdata);

/* The asynchronous calls made with this userdata will not run their callbacks: their answers
 * are dropped when they arrive (the userdata is about to be freed). */
void agent_client_forget(struct agent_client *c, const void *userdata);

/* Reads what the channel has and runs callbacks for complete responses. -ECONNRESET when the
 * channel closed (the VM is gone), -EPROTO on data that breaks the protocol; either ends the
 * channel (agent_client_error). */
int agent_client_dispatch(struct agent_client *c);

/* Synchronous call. The response (if ret_resp) is decoded into `arena`, owned by the caller (one
 * is required for a response). A remote error maps to -errno (NOT_FOUND → -ENOENT, ...) with its
 * message (sanitized: at most 512 printable bytes) in *ret_error; so does a local failure with a
 * one-line reason: -ETIMEDOUT ("the guest agent did not answer X within N s"), -ECHILD (the VM
 * exited), -EPROTO (agent_client_error()); -EINTR (the interrupt fd) leaves it unset. */
int agent_call(struct agent_client *c, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, struct arena *arena,
               ProtobufCMessage **ret_resp, char **ret_error);

int agent_code_to_errno(int code);
