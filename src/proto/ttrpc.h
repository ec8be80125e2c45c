/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttrpc.pb-c.h"

/* ttRPC wire framing: a 10-byte header (big-endian length and stream id, a type and flags byte)
 * followed by `length` bytes of protobuf. Clients use odd stream ids. */
#define TTRPC_HEADER_SIZE 10
/* How long writing one frame may take in all when the peer reads slowly or not at all
 * (non-blocking fds): then -ETIMEDOUT, with part of the frame possibly written. */
#define TTRPC_WRITE_TIMEOUT_MS 30000

enum ttrpc_type {
        TTRPC_TYPE_REQUEST = 1,
        TTRPC_TYPE_RESPONSE = 2,
        TTRPC_TYPE_DATA = 3,
};

/* gRPC status codes used in Response.status.code. */
enum ttrpc_code {
        TTRPC_OK = 0,
        TTRPC_CANCELLED = 1,
        TTRPC_UNKNOWN = 2,
        TTRPC_INVALID_ARGUMENT = 3,
        TTRPC_DEADLINE_EXCEEDED = 4,
        TTRPC_NOT_FOUND = 5,
        TTRPC_ALREADY_EXISTS = 6,
        TTRPC_PERMISSION_DENIED = 7,
        TTRPC_RESOURCE_EXHAUSTED = 8,
        TTRPC_FAILED_PRECONDITION = 9,
        TTRPC_ABORTED = 10,
        TTRPC_OUT_OF_RANGE = 11,
        TTRPC_UNIMPLEMENTED = 12,
        TTRPC_INTERNAL = 13,
        TTRPC_UNAVAILABLE = 14,
};

struct ttrpc_frame {
        uint32_t length;
        uint32_t stream_id;
        uint8_t type;
        uint8_t flags;
        const uint8_t *data; /* points into the reader's buffer, valid until the next fill */
};

/* Accumulates bytes from a stream fd and cuts them into frames. The buffer never grows past
 * TTRPC_HEADER_SIZE + max_frame. */
struct ttrpc_reader {
        uint8_t *buf;
        size_t len;      /* bytes held */
        size_t consumed; /* bytes of buf already returned as frames */
        size_t cap;
        uint32_t max_frame;
        uint32_t oversized; /* the length of the frame refused with -EMSGSIZE */
};

int ttrpc_reader_init(struct ttrpc_reader *r, uint32_t max_frame);
void ttrpc_reader_done(struct ttrpc_reader *r);
/* Reads what the fd has. Returns bytes read (> 0), 0 on EOF, -EAGAIN when nothing is there. */
int ttrpc_reader_fill(struct ttrpc_reader *r, int fd);
/* Feeds bytes directly (used by the fuzzer and tests). Returns bytes taken (may be < n). */
size_t ttrpc_reader_feed(struct ttrpc_reader *r, const void *data, size_t n);
/* 1 with *ret_frame set when a whole frame is buffered, 0 when more bytes are needed,
 * -EMSGSIZE when the peer announced a frame over the limit (the stream is then unusable). */
int ttrpc_reader_next(struct ttrpc_reader *r, struct ttrpc_frame *ret_frame);

void ttrpc_header_pack(uint8_t out[TTRPC_HEADER_SIZE], uint32_t length, uint32_t stream_id, uint8_t type,
                       uint8_t flags);
void ttrpc_header_unpack(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_frame *ret_frame);

/* Writes a whole frame, waiting for POLLOUT when the fd is non-blocking (TTRPC_WRITE_TIMEOUT_MS). */
int ttrpc_write_frame(int fd, uint32_t stream_id, uint8_t type, uint8_t flags, const void *data, size_t len);

/* Packs a protobuf message into a frame and writes it. */
int ttrpc_write_message(int fd, uint32_t stream_id, uint8_t type, const ProtobufCMessage *msg);

/* Sends a Response with the given status and (on success) payload message. */
int ttrpc_send_response(int fd, uint32_t stream_id, int code, const char *message,
                        const ProtobufCMessage *payload);

/* Sends a Request for service/method with the payload message. */
int ttrpc_send_request(int fd, uint32_t stream_id, const char *service, const char *method,
                       const ProtobufCMessage *payload, int64_t timeout_ns);

/* Strings in a decoded message are NUL-terminated, but a valid name is short and printable. */
bool ttrpc_valid_id(const char *s);
