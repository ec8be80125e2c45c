/* SPDX-License-Identifier: Apache-2.0 */
#include "ttrpc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent-protocol.h"
#include "macro.h"
#include "timeutil.h"

int ttrpc_reader_init(struct ttrpc_reader *r, uint32_t max_frame)
{
        *r = (struct ttrpc_reader){.max_frame = max_frame, .cap = TTRPC_HEADER_SIZE + (size_t)max_frame};
        /* Large but lazily touched: untouched pages of a malloc'd buffer cost no memory. */
        r->buf = malloc(r->cap);
        return r->buf ? 0 : -ENOMEM;
}

void ttrpc_reader_done(struct ttrpc_reader *r)
{
        free(r->buf);
        r->buf = NULL;
        r->len = r->cap = r->consumed = 0;
}

static void reader_compact(struct ttrpc_reader *r)
{
        if (r->consumed == 0)
                return;
        memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
        r->len -= r->consumed;
        r->consumed = 0;
}

int ttrpc_reader_fill(struct ttrpc_reader *r, int fd)
{
        ssize_t n;

        reader_compact(r);
        if (r->len == r->cap)
                return -ENOBUFS; /* caller must drain frames first */
        do
                n = read(fd, r->buf + r->len, r->cap - r->len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : negative_errno();
        r->len += (size_t)n;
        return (int)n;
}

size_t ttrpc_reader_feed(struct ttrpc_reader *r, const void *data, size_t n)
{
        if (n == 0)
                return 0;
        reader_compact(r);
        n = MIN(n, r->cap - r->len);
        memcpy(r->buf + r->len, data, n);
        r->len += n;
        return n;
}

void ttrpc_header_pack(uint8_t out[TTRPC_HEADER_SIZE], uint32_t length, uint32_t stream_id, uint8_t type,
                       uint8_t flags)
{
        out[0] = (uint8_t)(length >> 24);
        out[1] = (uint8_t)(length >> 16);
        out[2] = (uint8_t)(length >> 8);
        out[3] = (uint8_t)length;
        out[4] = (uint8_t)(stream_id >> 24);
        out[5] = (uint8_t)(stream_id >> 16);
        out[6] = (uint8_t)(stream_id >> 8);
        out[7] = (uint8_t)stream_id;
        out[8] = type;
        out[9] = flags;
}

void ttrpc_header_unpack(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_frame *ret_frame)
{
        ret_frame->length = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
        ret_frame->stream_id = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
        ret_frame->type = in[8];
        ret_frame->flags = in[9];
        ret_frame->data = NULL;
}

int ttrpc_reader_next(struct ttrpc_reader *r, struct ttrpc_frame *ret_frame)
{
        struct ttrpc_frame f;
        size_t avail = r->len - r->consumed;

        if (avail < TTRPC_HEADER_SIZE)
                return 0;
        ttrpc_header_unpack(r->buf + r->consumed, &f);
        if (f.length > r->max_frame) {
                r->oversized = f.length;
                return -EMSGSIZE;
        }
        if (avail < TTRPC_HEADER_SIZE + (size_t)f.length)
                return 0;
        f.data = r->buf + r->consumed + TTRPC_HEADER_SIZE;
        r->consumed += TTRPC_HEADER_SIZE + (size_t)f.length;
        *ret_frame = f;
        return 1;
}

/* The whole frame must go within TTRPC_WRITE_TIMEOUT_MS: a peer that takes a byte now and then
 * cannot keep us writing forever. */
static int write_all(int fd, struct iovec *iov, int iovcnt)
{
        long long deadline = mono_ms() + TTRPC_WRITE_TIMEOUT_MS;

        while (iovcnt > 0) {
                ssize_t n = writev(fd, iov, iovcnt);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                /* A peer that stops reading must not hang us forever. */
                                struct pollfd p = {.fd = fd, .events = POLLOUT};
                                long long left = deadline - mono_ms();
                                if (left <= 0)
                                        return -ETIMEDOUT;
                                int k = poll(&p, 1, (int)left);
                                if (k < 0 && errno != EINTR)
                                        return negative_errno();
                                continue;
                        }
                        return negative_errno();
                }
                while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
                        n -= (ssize_t)iov->iov_len;
                        iov++;
                        iovcnt--;
                }
                if (iovcnt > 0) {
                        iov->iov_base = (uint8_t *)iov->iov_base + n;
                        iov->iov_len -= (size_t)n;
                }
        }
        return 0;
}

int ttrpc_write_frame(int fd, uint32_t stream_id, uint8_t type, uint8_t flags, const void *data, size_t len)
{
        uint8_t hdr[TTRPC_HEADER_SIZE];
        struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)data, len}};

        if (len > HAKO_TTRPC_MAX_FRAME)
                return -EMSGSIZE;
        ttrpc_header_pack(hdr, (uint32_t)len, stream_id, type, flags);
        return write_all(fd, iov, len ? 2 : 1);
}

int ttrpc_write_message(int fd, uint32_t stream_id, uint8_t type, const ProtobufCMessage *msg)
{
        size_t len = protobuf_c_message_get_packed_size(msg);
        _cleanup_free_ uint8_t *buf = NULL;

        if (len > HAKO_TTRPC_MAX_FRAME)
                return -EMSGSIZE;
        buf = malloc(len ? len : 1);
        if (!buf)
                return -ENOMEM;
        protobuf_c_message_pack(msg, buf);
        return ttrpc_write_frame(fd, stream_id, type, 0, buf, len);
}

static int pack_payload(const ProtobufCMessage *payload, ProtobufCBinaryData *ret)
{
        ret->len = 0;
        ret->data = NULL;
        if (!payload)
                return 0;
        ret->len = protobuf_c_message_get_packed_size(payload);
        if (ret->len > HAKO_TTRPC_MAX_FRAME)
                return -EMSGSIZE;
        ret->data = malloc(ret->len ? ret->len : 1);
        if (!ret->data)
                return -ENOMEM;
        protobuf_c_message_pack(payload, ret->data);
        return 0;
}

int ttrpc_send_response(int fd, uint32_t stream_id, int code, const char *message,
                        const ProtobufCMessage *payload)
{
        Hako__Ttrpc__Response resp = HAKO__TTRPC__RESPONSE__INIT;
        Hako__Ttrpc__Status status = HAKO__TTRPC__STATUS__INIT;
        int r;

        status.code = code;
        status.message = (char *)(message ? message : "");
        resp.status = &status;
        if (code == TTRPC_OK) {
                r = pack_payload(payload, &resp.payload);
                if (r < 0)
                        return r;
        }
        r = ttrpc_write_message(fd, stream_id, TTRPC_TYPE_RESPONSE, &resp.base);
        free(resp.payload.data);
        return r;
}

int ttrpc_send_request(int fd, uint32_t stream_id, const char *service, const char *method,
                       const ProtobufCMessage *payload, int64_t timeout_ns)
{
        Hako__Ttrpc__Request req = HAKO__TTRPC__REQUEST__INIT;
        int r;

        req.service = (char *)service;
        req.method = (char *)method;
        req.timeout_nano = timeout_ns;
        r = pack_payload(payload, &req.payload);
        if (r < 0)
                return r;
        r = ttrpc_write_message(fd, stream_id, TTRPC_TYPE_REQUEST, &req.base);
        free(req.payload.data);
        return r;
}

bool ttrpc_valid_id(const char *s)
{
        size_t n = 0;

        if (!s || !*s)
                return false;
        for (; s[n]; n++) {
                char c = s[n];
                if (n >= HAKO_MAX_ID_LEN)
                        return false;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.'))
                        return false;
        }
        /* "." and ".." would escape the per-container directory. */
        return !(s[0] == '.' && (s[1] == 0 || (s[1] == '.' && s[2] == 0)));
}
