/* SPDX-License-Identifier: Apache-2.0 */
/* Boots a real sandbox and throws malformed traffic at the guest agent over the raw channel:
 * garbage payloads, unknown services and methods, bad ids, wrong frame types, an oversized length.
 * Each must get an error answer (or be dropped), and the agent must keep serving. Prints TAP. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-client.h"
#include "sandbox.h"
#include "state.h"
#include "timeutil.h"
#include "ttrpc.h"

static int n, failed;

static void ok(int cond, const char *what)
{
        n++;
        if (!cond)
                failed++;
        printf("%sok %d - %s\n", cond ? "" : "not ", n, what);
        fflush(stdout);
}

/* Waits for the response to stream `id`; returns its status code, or -1 on timeout. */
static int wait_code(struct ttrpc_reader *rd, int fd, uint32_t id, int timeout_ms)
{
        long long deadline = mono_ms() + timeout_ms;
        struct arena a;

        arena_init(&a, 1 << 20);
        for (;;) {
                struct ttrpc_frame f;
                int r = ttrpc_reader_next(rd, &f);
                if (r == 1) {
                        if (f.type != TTRPC_TYPE_RESPONSE || f.stream_id != id)
                                continue;
                        arena_reset(&a);
                        Hako__Ttrpc__Response *resp =
                            hako__ttrpc__response__unpack(&a.allocator, f.length, f.data);
                        int code = resp ? (resp->status ? resp->status->code : 0) : -2;
                        arena_done(&a);
                        return code;
                }
                long long left = deadline - mono_ms();
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
                        arena_done(&a);
                        return -1;
                }
                if (ttrpc_reader_fill(rd, fd) == 0) {
                        arena_done(&a);
                        return -1;
                }
        }
}

static int send_raw_request(int fd, uint32_t id, const char *service, const char *method, const void *payload,
                            size_t len)
{
        Hako__Ttrpc__Request req = HAKO__TTRPC__REQUEST__INIT;
        req.service = (char *)service;
        req.method = (char *)method;
        req.payload.data = (uint8_t *)payload;
        req.payload.len = len;
        return ttrpc_write_message(fd, id, TTRPC_TYPE_REQUEST, &req.base);
}

static int health(struct ttrpc_reader *rd, int fd, uint32_t id)
{
        Hako__Agent__V1__HealthRequest h = HAKO__AGENT__V1__HEALTH_REQUEST__INIT;
        if (ttrpc_send_request(fd, id, HAKO_AGENT_SERVICE, "Health", &h.base, 0) < 0)
                return -1;
        return wait_code(rd, fd, id, 10000);
}

int main(void)
{
        char id[13], *err = NULL;
        struct sandbox *sb;
        struct ttrpc_reader rd;
        uint32_t s = 1;
        int fd, r;

        state_new_id(id);
        struct sandbox_config cfg = {.id = id, .vcpus = 1, .memory_mib = 128, .boot_timeout_ms = 60000};
        r = sandbox_create(&cfg, &sb, &err);
        if (r < 0) {
                printf("Bail out! cannot boot a sandbox: %s\n", err ? err : strerror(-r));
                return 1;
        }
        /* From here on we speak raw frames; the client's own buffers are unused. */
        fd = sb->agent_fd;
        ttrpc_reader_init(&rd, HAKO_TTRPC_MAX_FRAME);

        ok(health(&rd, fd, s += 2) == TTRPC_OK, "Health answers");

        static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99, 0x01};
        ttrpc_write_frame(fd, s += 2, TTRPC_TYPE_REQUEST, 0, garbage, sizeof(garbage));
        r = wait_code(&rd, fd, s, 10000);
        ok(r > 0, "a frame that is not a Request gets an error answer");

        send_raw_request(fd, s += 2, HAKO_AGENT_SERVICE, "NoSuchMethod", NULL, 0);
        ok(wait_code(&rd, fd, s, 10000) == TTRPC_UNIMPLEMENTED, "an unknown method gets UNIMPLEMENTED");

        send_raw_request(fd, s += 2, "other.Service", "Health", NULL, 0);
        ok(wait_code(&rd, fd, s, 10000) == TTRPC_UNIMPLEMENTED, "an unknown service gets UNIMPLEMENTED");

        send_raw_request(fd, s += 2, HAKO_AGENT_SERVICE, "CreateContainer", garbage, sizeof(garbage));
        ok(wait_code(&rd, fd, s, 10000) == TTRPC_INVALID_ARGUMENT,
           "an undecodable payload gets INVALID_ARGUMENT");

        Hako__Agent__V1__StartContainerRequest sc = HAKO__AGENT__V1__START_CONTAINER_REQUEST__INIT;
        sc.container_id = (char *)"../../etc";
        ttrpc_send_request(fd, s += 2, HAKO_AGENT_SERVICE, "StartContainer", &sc.base, 0);
        ok(wait_code(&rd, fd, s, 10000) == TTRPC_INVALID_ARGUMENT,
           "a path-like container id gets INVALID_ARGUMENT");

        sc.container_id = (char *)"nosuch";
        ttrpc_send_request(fd, s += 2, HAKO_AGENT_SERVICE, "StartContainer", &sc.base, 0);
        ok(wait_code(&rd, fd, s, 10000) == TTRPC_NOT_FOUND, "an unknown container gets NOT_FOUND");

        Hako__Agent__V1__ReadStreamRequest rs = HAKO__AGENT__V1__READ_STREAM_REQUEST__INIT;
        rs.container_id = (char *)"nosuch";
        rs.exec_id = (char *)"";
        rs.len = 0xffffffffu;
        ttrpc_send_request(fd, s += 2, HAKO_AGENT_SERVICE, "ReadStdout", &rs.base, 0);
        r = wait_code(&rd, fd, s, 10000);
        ok(r == TTRPC_NOT_FOUND || r == TTRPC_INVALID_ARGUMENT,
           "a huge read length is refused, not allocated");

        ttrpc_write_frame(fd, s += 2, TTRPC_TYPE_RESPONSE, 0, NULL, 0);
        ok(health(&rd, fd, s += 2) == TTRPC_OK, "a stray response frame is ignored");

        /* A frame over the limit (2 MiB, sent in full) is refused with RESOURCE_EXHAUSTED and skipped
         * by its length, as ttRPC does: the stream stays in sync and the agent keeps serving. */
        {
                size_t big = 2u << 20;
                uint8_t *junk = calloc(1, big);
                uint8_t hdr[TTRPC_HEADER_SIZE];
                uint32_t big_id = s += 2;
                ttrpc_header_pack(hdr, (uint32_t)big, big_id, TTRPC_TYPE_REQUEST, 0);
                if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
                        big = 0;
                for (size_t off = 0; junk && off < big;) {
                        struct pollfd p = {.fd = fd, .events = POLLOUT};
                        poll(&p, 1, 1000);
                        ssize_t k = write(fd, junk + off, big - off);
                        if (k > 0)
                                off += (size_t)k;
                        else if (k < 0 && errno != EAGAIN)
                                break;
                }
                free(junk);
                ok(wait_code(&rd, fd, big_id, 20000) == TTRPC_RESOURCE_EXHAUSTED,
                   "an oversized frame gets RESOURCE_EXHAUSTED");
                ok(health(&rd, fd, s += 2) == TTRPC_OK, "after an oversized frame the agent still serves");
        }

        /* Many requests in flight at once: every one answered. */
        Hako__Agent__V1__HealthRequest h = HAKO__AGENT__V1__HEALTH_REQUEST__INIT;
        uint32_t first = s + 2;
        for (int i = 0; i < 100; i++)
                ttrpc_send_request(fd, s += 2, HAKO_AGENT_SERVICE, "Health", &h.base, 0);
        int answered = 0;
        for (uint32_t i = first; i <= s; i += 2) {
                int code = wait_code(&rd, fd, i, 10000);
                answered += code == TTRPC_OK;
                if (code < 0)
                        break; /* one timeout means the rest would time out too */
        }
        ok(answered == 100, "100 pipelined requests all answered");

        ttrpc_reader_done(&rd);
        sandbox_destroy(sb, false);
        printf("1..%d\n# %d passed, %d failed\n", n, n - failed, failed);
        return failed ? 1 : 0;
}
