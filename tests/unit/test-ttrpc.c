/* SPDX-License-Identifier: Apache-2.0 */
/* ttRPC framing: header layout, reader state machine, request/response round trips over a socketpair,
 * frame size limits and ttrpc_valid_id. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-protocol.h"
#include "agent.pb-c.h"
#include "arena.h"
#include "macro.h"
#include "tap.h"
#include "ttrpc.h"

static int make_pair(int sv[2])
{
        return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
}

static int set_nonblock(int fd)
{
        int fl = fcntl(fd, F_GETFL);
        return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Fills until one frame is available; returns what ttrpc_reader_next returned or a fill error. */
static int read_frame(struct ttrpc_reader *r, int fd, struct ttrpc_frame *f)
{
        for (;;) {
                int k = ttrpc_reader_next(r, f);
                if (k != 0)
                        return k;
                k = ttrpc_reader_fill(r, fd);
                if (k <= 0)
                        return k == 0 ? -EPIPE : k;
        }
}

static void test_header(void)
{
        uint8_t h[TTRPC_HEADER_SIZE];
        static const uint8_t want[TTRPC_HEADER_SIZE] = {0x01, 0x02, 0x03, 0x04, 0xa1,
                                                        0xb2, 0xc3, 0xd4, 0x02, 0x80};
        struct ttrpc_frame f = {.data = (const uint8_t *)"x"};

        ttrpc_header_pack(h, 0x01020304u, 0xa1b2c3d4u, TTRPC_TYPE_RESPONSE, 0x80);
        ok(memcmp(h, want, sizeof(h)) == 0, "header packs big-endian length, stream id, type, flags");
        ttrpc_header_unpack(h, &f);
        is_int(f.length, 0x01020304u, "header unpack: length");
        is_int(f.stream_id, 0xa1b2c3d4u, "header unpack: stream id");
        is_int(f.type, TTRPC_TYPE_RESPONSE, "header unpack: type");
        is_int(f.flags, 0x80, "header unpack: flags");
        ok(f.data == NULL, "header unpack clears data");

        ttrpc_header_pack(h, UINT32_MAX, 0, 0, 0);
        ttrpc_header_unpack(h, &f);
        ok(f.length == UINT32_MAX && f.stream_id == 0, "header round trips extreme values");
}

static void test_request_roundtrip(void)
{
        _cleanup_close_ int a = -1, b = -1;
        int sv[2];
        struct ttrpc_reader r;
        struct ttrpc_frame f;
        struct arena ar;
        Hako__Agent__V1__CreateContainerRequest cc = HAKO__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
        Hako__Agent__V1__Rootfs rootfs = HAKO__AGENT__V1__ROOTFS__INIT;

        if (!ok(make_pair(sv) == 0, "socketpair"))
                return;
        a = sv[0];
        b = sv[1];
        is_int(ttrpc_reader_init(&r, HAKO_TTRPC_MAX_FRAME), 0, "reader init");
        is_int(arena_init(&ar, HAKO_TTRPC_ARENA), 0, "arena init");

        cc.container_id = "web-1";
        cc.oci_spec = "{\"ociVersion\":\"1.0.2\"}";
        rootfs.source = "/run/hako/shared/web-1/rootfs";
        rootfs.overlay = true;
        cc.rootfs = &rootfs;
        cc.terminal = true;
        cc.rows = 24;
        cc.columns = 80;
        is_int(ttrpc_send_request(a, 7, HAKO_AGENT_SERVICE, "CreateContainer", &cc.base, 5000000000LL), 0,
               "send CreateContainer request");

        is_int(read_frame(&r, b, &f), 1, "request frame read");
        is_int(f.stream_id, 7, "stream id preserved");
        is_int(f.type, TTRPC_TYPE_REQUEST, "type is request");
        is_int(f.flags, 0, "flags are 0");

        Hako__Ttrpc__Request *req = hako__ttrpc__request__unpack(&ar.allocator, f.length, f.data);
        if (ok(req != NULL, "request envelope decodes")) {
                ok(strcmp(req->service, HAKO_AGENT_SERVICE) == 0, "service is %s", HAKO_AGENT_SERVICE);
                ok(strcmp(req->method, "CreateContainer") == 0, "method is CreateContainer");
                is_int(req->timeout_nano, 5000000000LL, "timeout preserved");
                is_int(req->n_metadata, 0, "no metadata");
                Hako__Agent__V1__CreateContainerRequest *p =
                    hako__agent__v1__create_container_request__unpack(&ar.allocator, req->payload.len,
                                                                      req->payload.data);
                if (ok(p != NULL, "payload decodes as CreateContainerRequest")) {
                        ok(strcmp(p->container_id, "web-1") == 0 && ttrpc_valid_id(p->container_id),
                           "container id preserved and valid");
                        ok(strcmp(p->oci_spec, cc.oci_spec) == 0, "oci spec preserved");
                        ok(p->rootfs && p->rootfs->overlay && !p->rootfs->readonly &&
                               strcmp(p->rootfs->source, rootfs.source) == 0,
                           "nested rootfs preserved");
                        ok(p->terminal && p->rows == 24 && p->columns == 80, "scalars preserved");
                }
        }
        arena_reset(&ar);

        /* A request without payload has an empty payload field. */
        is_int(ttrpc_send_request(a, 9, HAKO_AGENT_SERVICE, "Health", NULL, 0), 0,
               "send request, no payload");
        is_int(read_frame(&r, b, &f), 1, "frame read");
        req = hako__ttrpc__request__unpack(&ar.allocator, f.length, f.data);
        ok(req && req->payload.len == 0 && strcmp(req->method, "Health") == 0, "empty payload decodes");
        if (req) {
                Hako__Agent__V1__HealthRequest *h = hako__agent__v1__health_request__unpack(
                    &ar.allocator, req->payload.len, req->payload.data);
                ok(h != NULL, "empty payload is a valid HealthRequest");
        }

        /* Payload over the frame limit is refused before anything is written. */
        Hako__Agent__V1__WriteStreamRequest ws = HAKO__AGENT__V1__WRITE_STREAM_REQUEST__INIT;
        _cleanup_free_ uint8_t *big = calloc(1, HAKO_TTRPC_MAX_FRAME + 1);
        ws.container_id = "c";
        ws.data.data = big;
        ws.data.len = HAKO_TTRPC_MAX_FRAME + 1;
        is_int(ttrpc_send_request(a, 11, HAKO_AGENT_SERVICE, "WriteStream", &ws.base, 0), -EMSGSIZE,
               "oversized payload refused with -EMSGSIZE");
        /* Payload at the limit fits, but the envelope around it does not. */
        ws.data.len = HAKO_TTRPC_MAX_FRAME;
        is_int(ttrpc_send_request(a, 11, HAKO_AGENT_SERVICE, "WriteStream", &ws.base, 0), -EMSGSIZE,
               "payload at limit + envelope refused with -EMSGSIZE");
        set_nonblock(b);
        is_int(ttrpc_reader_fill(&r, b), -EAGAIN, "nothing was written for the refused requests");

        arena_done(&ar);
        ttrpc_reader_done(&r);
}

static void test_response_roundtrip(void)
{
        _cleanup_close_ int a = -1, b = -1;
        int sv[2];
        struct ttrpc_reader r;
        struct ttrpc_frame f;
        struct arena ar;
        Hako__Agent__V1__WaitProcessResponse w = HAKO__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;

        if (!ok(make_pair(sv) == 0, "socketpair"))
                return;
        a = sv[0];
        b = sv[1];
        ttrpc_reader_init(&r, HAKO_TTRPC_MAX_FRAME);
        arena_init(&ar, HAKO_TTRPC_ARENA);

        w.exit_code = -1;
        w.signal = 9;
        is_int(ttrpc_send_response(a, 3, TTRPC_OK, NULL, &w.base), 0, "send OK response");
        is_int(ttrpc_send_response(a, 5, TTRPC_NOT_FOUND, "no such container", &w.base), 0,
               "send error response");

        is_int(read_frame(&r, b, &f), 1, "response frame read");
        ok(f.type == TTRPC_TYPE_RESPONSE && f.stream_id == 3, "type response, stream 3");
        Hako__Ttrpc__Response *resp = hako__ttrpc__response__unpack(&ar.allocator, f.length, f.data);
        if (ok(resp && resp->status, "response decodes with status")) {
                is_int(resp->status->code, TTRPC_OK, "status OK");
                ok(resp->status->message && resp->status->message[0] == 0, "empty status message");
                Hako__Agent__V1__WaitProcessResponse *p = hako__agent__v1__wait_process_response__unpack(
                    &ar.allocator, resp->payload.len, resp->payload.data);
                ok(p && p->exit_code == -1 && p->signal == 9, "payload round trips (negative int32 too)");
        }

        is_int(read_frame(&r, b, &f), 1, "second response frame read");
        resp = hako__ttrpc__response__unpack(&ar.allocator, f.length, f.data);
        if (ok(resp && resp->status, "error response decodes")) {
                is_int(resp->status->code, TTRPC_NOT_FOUND, "status NOT_FOUND");
                ok(strcmp(resp->status->message, "no such container") == 0, "status message");
                is_int(resp->payload.len, 0, "error response carries no payload");
        }
        arena_done(&ar);
        ttrpc_reader_done(&r);
}

static void test_multiple_frames_one_read(void)
{
        _cleanup_close_ int a = -1, b = -1;
        int sv[2];
        struct ttrpc_reader r;
        struct ttrpc_frame f;

        if (!ok(make_pair(sv) == 0, "socketpair"))
                return;
        a = sv[0];
        b = sv[1];
        ttrpc_reader_init(&r, 4096);

        is_int(ttrpc_write_frame(a, 1, TTRPC_TYPE_REQUEST, 0, "abc", 3), 0, "write frame 1");
        is_int(ttrpc_write_frame(a, 3, TTRPC_TYPE_DATA, 1, NULL, 0), 0, "write frame 2 (empty)");
        is_int(ttrpc_write_frame(a, 5, TTRPC_TYPE_RESPONSE, 2, "hello", 5), 0, "write frame 3");

        is_int(ttrpc_reader_fill(&r, b), 3 * TTRPC_HEADER_SIZE + 8, "one read returns all three frames");
        is_int(ttrpc_reader_next(&r, &f), 1, "frame 1");
        ok(f.stream_id == 1 && f.length == 3 && memcmp(f.data, "abc", 3) == 0, "frame 1 content");
        is_int(ttrpc_reader_next(&r, &f), 1, "frame 2");
        ok(f.stream_id == 3 && f.length == 0 && f.type == TTRPC_TYPE_DATA && f.flags == 1,
           "frame 2 is zero-length");
        is_int(ttrpc_reader_next(&r, &f), 1, "frame 3");
        ok(f.stream_id == 5 && f.length == 5 && memcmp(f.data, "hello", 5) == 0 && f.flags == 2,
           "frame 3 content");
        is_int(ttrpc_reader_next(&r, &f), 0, "no fourth frame");

        /* EAGAIN on an empty non-blocking fd, 0 on EOF. */
        set_nonblock(b);
        is_int(ttrpc_reader_fill(&r, b), -EAGAIN, "empty non-blocking fd: -EAGAIN");
        a = safe_close(a);
        is_int(ttrpc_reader_fill(&r, b), 0, "peer closed: EOF is 0");
        is_int(ttrpc_reader_fill(&r, -1), -EBADF, "bad fd: -EBADF");
        ttrpc_reader_done(&r);
}

static void test_byte_by_byte(void)
{
        struct ttrpc_reader r;
        struct ttrpc_frame f;
        uint8_t wire[2 * TTRPC_HEADER_SIZE + 20 + TTRPC_HEADER_SIZE];
        bool early = false;
        size_t i;
        int k = 0;

        /* frame A (20 bytes), a zero-length frame B, then frame C's header only */
        ttrpc_header_pack(wire, 20, 0x01000001u, TTRPC_TYPE_REQUEST, 0);
        for (i = 0; i < 20; i++)
                wire[TTRPC_HEADER_SIZE + i] = (uint8_t)i;
        ttrpc_header_pack(wire + TTRPC_HEADER_SIZE + 20, 0, 3, TTRPC_TYPE_DATA, 0);
        ttrpc_header_pack(wire + 2 * TTRPC_HEADER_SIZE + 20, 1, 5, TTRPC_TYPE_DATA, 0);

        ttrpc_reader_init(&r, 64);
        for (i = 0; i < TTRPC_HEADER_SIZE + 20 - 1; i++) {
                if (ttrpc_reader_feed(&r, wire + i, 1) != 1)
                        early = true;
                if (ttrpc_reader_next(&r, &f) != 0)
                        early = true;
        }
        ok(!early, "no frame before its last byte arrives (1-byte feeds)");
        is_int(ttrpc_reader_feed(&r, wire + i, 1), 1, "last byte taken");
        is_int(ttrpc_reader_next(&r, &f), 1, "frame complete with its last byte");
        ok(f.length == 20 && f.stream_id == 0x01000001u && f.data[0] == 0 && f.data[19] == 19,
           "split frame reassembled");
        i++;
        for (; i < TTRPC_HEADER_SIZE + 20 + TTRPC_HEADER_SIZE - 1; i++) {
                ttrpc_reader_feed(&r, wire + i, 1);
                k |= ttrpc_reader_next(&r, &f);
        }
        is_int(k, 0, "zero-length frame not ready before its header completes");
        ttrpc_reader_feed(&r, wire + i++, 1);
        is_int(ttrpc_reader_next(&r, &f), 1, "zero-length frame ready at end of header");
        ok(f.length == 0 && f.stream_id == 3, "zero-length frame content");
        for (; i < sizeof(wire); i++) {
                ttrpc_reader_feed(&r, wire + i, 1);
                k |= ttrpc_reader_next(&r, &f);
        }
        is_int(k, 0, "header of a 1-byte frame alone is not a frame");
        ttrpc_reader_feed(&r, "z", 1);
        is_int(ttrpc_reader_next(&r, &f), 1, "1-byte frame complete");
        ok(f.length == 1 && f.data[0] == 'z', "1-byte frame content");
        ttrpc_reader_done(&r);
}

static void test_limits(void)
{
        struct ttrpc_reader r;
        struct ttrpc_frame f;
        uint8_t h[TTRPC_HEADER_SIZE];
        _cleanup_free_ uint8_t *payload = NULL;

        /* Exactly at the limit (the real 1 MiB limit) is accepted, one over is refused. */
        payload = malloc(HAKO_TTRPC_MAX_FRAME);
        memset(payload, 0xa5, HAKO_TTRPC_MAX_FRAME);
        ttrpc_reader_init(&r, HAKO_TTRPC_MAX_FRAME);
        ttrpc_header_pack(h, HAKO_TTRPC_MAX_FRAME, 1, TTRPC_TYPE_REQUEST, 0);
        is_int(ttrpc_reader_feed(&r, h, sizeof(h)), sizeof(h), "feed header of a max-size frame");
        is_int(ttrpc_reader_next(&r, &f), 0, "max-size header accepted, waiting for body");
        is_int(ttrpc_reader_feed(&r, payload, HAKO_TTRPC_MAX_FRAME), HAKO_TTRPC_MAX_FRAME, "feed 1 MiB body");
        is_int(ttrpc_reader_feed(&r, "x", 1), 0, "buffer full: feed takes nothing more");
        is_int(ttrpc_reader_next(&r, &f), 1, "frame of exactly HAKO_TTRPC_MAX_FRAME accepted");
        ok(f.length == HAKO_TTRPC_MAX_FRAME && f.data[0] == 0xa5 && f.data[HAKO_TTRPC_MAX_FRAME - 1] == 0xa5,
           "max-size frame content");

        ttrpc_header_pack(h, HAKO_TTRPC_MAX_FRAME + 1, 3, TTRPC_TYPE_REQUEST, 0);
        ttrpc_reader_feed(&r, h, sizeof(h));
        is_int(ttrpc_reader_next(&r, &f), -EMSGSIZE, "one byte over the limit: -EMSGSIZE");
        is_int(ttrpc_reader_next(&r, &f), -EMSGSIZE, "and the stream stays refused");
        ttrpc_reader_done(&r);

        ttrpc_reader_init(&r, 16);
        ttrpc_header_pack(h, UINT32_MAX, 1, TTRPC_TYPE_REQUEST, 0);
        ttrpc_reader_feed(&r, h, sizeof(h));
        is_int(ttrpc_reader_next(&r, &f), -EMSGSIZE, "length 0xffffffff: -EMSGSIZE");
        ttrpc_reader_done(&r);

        /* The writer enforces the same limit. */
        is_int(ttrpc_write_frame(-1, 1, TTRPC_TYPE_DATA, 0, payload, (size_t)HAKO_TTRPC_MAX_FRAME + 1),
               -EMSGSIZE, "write_frame over the limit: -EMSGSIZE");

        /* A small reader: full buffer with a complete frame → fill says -ENOBUFS until drained. */
        _cleanup_close_ int a = -1, b = -1;
        int sv[2];
        if (!ok(make_pair(sv) == 0, "socketpair"))
                return;
        a = sv[0];
        b = sv[1];
        ttrpc_reader_init(&r, 16);
        ttrpc_header_pack(h, 16, 1, TTRPC_TYPE_DATA, 0);
        ttrpc_reader_feed(&r, h, sizeof(h));
        is_int(ttrpc_reader_feed(&r, payload, 100), 16, "feed is capped at header + max_frame");
        ttrpc_write_frame(a, 3, TTRPC_TYPE_DATA, 0, "ab", 2);
        is_int(ttrpc_reader_fill(&r, b), -ENOBUFS, "fill into a full buffer: -ENOBUFS");
        is_int(ttrpc_reader_next(&r, &f), 1, "drain the buffered frame");
        is_int(ttrpc_reader_fill(&r, b), TTRPC_HEADER_SIZE + 2, "then fill works again");
        is_int(ttrpc_reader_next(&r, &f), 1, "next frame");
        ok(f.stream_id == 3 && f.length == 2 && memcmp(f.data, "ab", 2) == 0, "next frame content");
        ttrpc_reader_done(&r);
}

/* A 1 MiB frame through a non-blocking socketpair: the writer must handle short writes and EAGAIN. */
static void test_large_nonblocking(void)
{
        int sv[2];
        struct ttrpc_reader r;
        struct ttrpc_frame f;
        int status = -1;
        pid_t pid;

        if (!ok(make_pair(sv) == 0, "socketpair"))
                return;
        pid = fork();
        if (pid == 0) {
                uint8_t *p = malloc(HAKO_TTRPC_MAX_FRAME);
                close(sv[1]);
                if (!p)
                        _exit(2);
                for (size_t i = 0; i < HAKO_TTRPC_MAX_FRAME; i++)
                        p[i] = (uint8_t)(i * 7);
                set_nonblock(sv[0]);
                int k = ttrpc_write_frame(sv[0], 41, TTRPC_TYPE_DATA, 0, p, HAKO_TTRPC_MAX_FRAME);
                k |= ttrpc_write_frame(sv[0], 43, TTRPC_TYPE_DATA, 0, "end", 3);
                free(p);
                _exit(k == 0 ? 0 : 1);
        }
        close(sv[0]);
        ttrpc_reader_init(&r, HAKO_TTRPC_MAX_FRAME);
        is_int(read_frame(&r, sv[1], &f), 1, "1 MiB frame read from a non-blocking writer");
        bool good = f.length == HAKO_TTRPC_MAX_FRAME && f.stream_id == 41;
        for (size_t i = 0; good && i < f.length; i++)
                good = f.data[i] == (uint8_t)(i * 7);
        ok(good, "1 MiB frame content intact");
        is_int(read_frame(&r, sv[1], &f), 1, "frame after it");
        ok(f.stream_id == 43 && f.length == 3 && memcmp(f.data, "end", 3) == 0, "trailing frame content");
        is_int(read_frame(&r, sv[1], &f), -EPIPE, "then EOF");
        waitpid(pid, &status, 0);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer succeeded");
        close(sv[1]);
        ttrpc_reader_done(&r);
}

/* Quotes s for a TAP line: printable ASCII as is, the rest as \xNN. */
static void escape(const char *s, char *out, size_t size)
{
        size_t n = 0;

        if (!s) {
                snprintf(out, size, "NULL");
                return;
        }
        out[n++] = '"';
        for (; *s && n + 6 < size; s++) {
                unsigned char c = (unsigned char)*s;
                if (c >= 0x20 && c < 0x7f && c != '#' && c != '\\')
                        out[n++] = (char)c;
                else
                        n += (size_t)snprintf(out + n, size - n, "\\x%02x", c);
        }
        out[n++] = '"';
        out[n] = 0;
}

static void test_valid_id(void)
{
        static const struct {
                const char *s;
                bool valid;
        } table[] = {
            {"a", true},
            {"web-1", true},
            {"A_b.c-9", true},
            {"...", true}, /* not a path component of its own */
            {".a", true},
            {"a..", true},
            {"0123456789012345678901234567890123456789012345678901234567890123", true}, /* 64 */
            {NULL, false},
            {"", false},
            {".", false},
            {"..", false},
            {"01234567890123456789012345678901234567890123456789012345678901234", false}, /* 65 */
            {"a/b", false},
            {"/", false},
            {"../etc", false},
            {"a b", false},
            {"a\tb", false},
            {"a\nb", false},
            {"caf\xc3\xa9", false},
            {"\xff", false},
            {"\x80", false},
            {"a:b", false},
            {"a\\b", false},
            {"$x", false},
            {"a\x7f", false},
        };
        char buf[1024];

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                char name[300];
                escape(table[i].s, name, sizeof(name));
                is_int(ttrpc_valid_id(table[i].s), table[i].valid, "ttrpc_valid_id(%s) is %s", name,
                       table[i].valid ? "true" : "false");
        }

        memset(buf, 'x', sizeof(buf) - 1);
        buf[sizeof(buf) - 1] = 0;
        ok(!ttrpc_valid_id(buf), "1023-char id rejected");
}

int main(void)
{
        /* A writer into a closed socket must see EPIPE, not die. */
        signal(SIGPIPE, SIG_IGN);

        test_header();
        test_request_roundtrip();
        test_response_roundtrip();
        test_multiple_frames_one_read();
        test_byte_by_byte();
        test_limits();
        test_large_nonblocking();
        test_valid_id();

        done_testing();
        return exit_status();
}
