/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pollset.h"
#include "ttrpc.h"

/* A ttRPC server on a listening unix socket, for one single-threaded process (the shim): each
 * connection's frames are cut by a bounded reader, each request decoded in a capped arena and
 * handed to its method's handler, which answers at once or later (a call is a value that can be
 * kept: Wait answers when the process exits). Answers to a connection that went away are
 * dropped. Every peer is bounded: connections, frame size, decoded size. */

struct ttrpc_server;

struct ttrpc_call {
        struct ttrpc_server *server;
        uint64_t conn_id;
        uint32_t stream_id;
};

/* request is valid during the call only (it lives in the server's arena). */
typedef void (*ttrpc_handler_fn)(void *userdata, const struct ttrpc_call *call,
                                 const ProtobufCMessage *request);

struct ttrpc_method {
        const char *service;
        const char *name;
        const ProtobufCMessageDescriptor *request;
        ttrpc_handler_fn fn;
};

struct ttrpc_server_config {
        int listen_fd; /* taken over */
        const struct ttrpc_method *methods;
        size_t n_methods;
        void *userdata;
        uint32_t max_frame;
        size_t arena_size;
        unsigned max_connections;
};

int ttrpc_server_new(const struct ttrpc_server_config *cfg, struct ttrpc_server **ret);
struct ttrpc_server *ttrpc_server_free(struct ttrpc_server *s);
/* The listening socket and every connection, for one round of the owner's loop. Connections
 * that closed in the last round are freed here. */
void ttrpc_server_poll_add(struct ttrpc_server *s, struct pollset *ps);
unsigned ttrpc_server_connections(const struct ttrpc_server *s);
/* Stops accepting new connections (the listening socket is closed). */
void ttrpc_server_stop_listening(struct ttrpc_server *s);

/* Answers a call: resp on TTRPC_OK, else the status code and message. -ENOTCONN when its
 * connection is gone (nothing is sent). */
int ttrpc_reply(const struct ttrpc_call *call, int code, const char *message, const ProtobufCMessage *resp);
/* The same with printf-style message for errors. */
int ttrpc_reply_error(const struct ttrpc_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool ttrpc_call_alive(const struct ttrpc_call *call);

/* Serves an already connected socket as a connection (tests and fuzzers hand one end of a
 * socketpair). The fd is taken over. */
int ttrpc_server_adopt(struct ttrpc_server *s, int fd);
