/* SPDX-License-Identifier: Apache-2.0 */
/* The host end of the agent channel against a guest that breaks the protocol: the test holds the
 * guest's end of a socketpair and writes what a hostile agent would (docs/hostile-guest.md). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-client.h"
#include "agent-protocol.h"
#include "agent.pb-c.h"
#include "arena.h"
#include "macro.h"
#include "tap.h"
#include "timeutil.h"
#include "ttrpc.h"

struct fake {
        int host, guest;
        struct agent_client c;
};

static int fake_open(struct fake *f)
{
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                return -errno;
        f->host = sv[0];
        f->guest = sv[1];
        return agent_client_init(&f->c, f->host, -1);
}

static void fake_close(struct fake *f)
{
        agent_client_done(&f->c);
        safe_close(f->host);
        safe_close(f->guest);
}

/* Drops what the host sent, so its requests never fill the socket. */
static void drain(struct fake *f)
{
        uint8_t buf[65536];

        while (read(f->guest, buf, sizeof(buf)) > 0)
                ;
}

static void guest_raw(struct fake *f, const void *data, size_t n)
{
        ssize_t k = write(f->guest, data, n);
        (void)k;
}

static void guest_header(struct fake *f, uint32_t length, uint32_t sid, uint8_t type)
{
        uint8_t h[TTRPC_HEADER_SIZE];

        ttrpc_header_pack(h, length, sid, type, 0);
        guest_raw(f, h, sizeof(h));
}

static void guest_health(struct fake *f, uint32_t sid, uint32_t protocol)
{
        Hako__Agent__V1__HealthResponse m = HAKO__AGENT__V1__HEALTH_RESPONSE__INIT;

        m.protocol = protocol;
        (void)ttrpc_send_response(f->guest, sid, TTRPC_OK, NULL, &m.base);
}

static int health(struct fake *f, int timeout_ms, uint32_t *ret_protocol, char **ret_error)
{
        Hako__Agent__V1__HealthRequest req = HAKO__AGENT__V1__HEALTH_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        struct arena a;
        int r;

        if (arena_init(&a, 4096) < 0)
                return -ENOMEM;
        r = agent_call(&f->c, "Health", &req.base, &hako__agent__v1__health_response__descriptor, timeout_ms,
                       &a, &resp, ret_error);
        if (r >= 0 && ret_protocol)
                *ret_protocol = ((Hako__Agent__V1__HealthResponse *)resp)->protocol;
        arena_done(&a);
        drain(f);
        return r;
}

static bool contains(const char *s, const char *what)
{
        return s && strstr(s, what);
}

static void test_well_behaved(void)
{
        struct fake f;
        _cleanup_free_ char *err = NULL;
        uint32_t proto = 0;

        if (fake_open(&f) < 0)
                return;
        guest_health(&f, 1, HAKO_AGENT_PROTOCOL);
        is_int(health(&f, 1000, &proto, &err), 0, "a well-behaved answer: 0");
        is_int(proto, HAKO_AGENT_PROTOCOL, "a well-behaved answer: decoded");
        ok(!agent_client_error(&f.c), "a well-behaved channel has no error");
        fake_close(&f);
}

static void test_huge_frame(void)
{
        struct fake f;
        _cleanup_free_ char *err = NULL, *err2 = NULL;
        long long t;

        if (fake_open(&f) < 0)
                return;
        guest_header(&f, UINT32_MAX, 1, TTRPC_TYPE_RESPONSE);
        guest_raw(&f, "AAAAAAAAAAAAAAAA", 16);
        is_int(health(&f, 5000, NULL, &err), -EPROTO, "a 4 GiB frame: -EPROTO");
        ok(contains(err, "a frame of 4294967295 bytes (the limit is 1048576)"), "a 4 GiB frame: says so (%s)",
           err);
        ok(contains(agent_client_error(&f.c), "4294967295"), "a 4 GiB frame: agent_client_error names it");
        t = mono_ms();
        is_int(health(&f, 5000, NULL, &err2), -EPROTO, "after a broken frame, the next call fails too");
        ok(mono_ms() - t < 1000, "... at once, not after its timeout");
        ok(err2 && err && !strcmp(err, err2), "... with the same reason");
        is_int(agent_client_dispatch(&f.c), -EPROTO, "... and dispatch keeps failing");
        fake_close(&f);
}

static void test_frame_just_over(void)
{
        struct fake f;
        _cleanup_free_ char *err = NULL;

        if (fake_open(&f) < 0)
                return;
        guest_header(&f, HAKO_TTRPC_MAX_FRAME + 1, 1, TTRPC_TYPE_RESPONSE);
        is_int(health(&f, 5000, NULL, &err), -EPROTO, "a frame one byte over the limit: -EPROTO");
        ok(contains(err, "1048577 bytes"), "... named with its size (%s)", err);
        fake_close(&f);
}

static void test_wrong_stream(void)
{
        struct fake f;
        _cleanup_free_ char *err = NULL, *err2 = NULL;

        if (fake_open(&f) < 0)
                return;
        guest_health(&f, 77, HAKO_AGENT_PROTOCOL);
        is_int(health(&f, 5000, NULL, &err), -EPROTO, "an answer on a stream never opened: -EPROTO");
        ok(contains(err, "stream 77, which no call is waiting on"), "... says so (%s)", err);
        fake_close(&f);

        if (fake_open(&f) < 0)
                return;
        guest_health(&f, 2, HAKO_AGENT_PROTOCOL);
        is_int(health(&f, 5000, NULL, &err2), -EPROTO, "an answer on an even (server) stream: -EPROTO");
        fake_close(&f);
}

static void test_twice(void)
{
        struct fake f;
        _cleanup_free_ char *err = NULL, *err2 = NULL;

        if (fake_open(&f) < 0)
                return;
        guest_health(&f, 1, HAKO_AGENT_PROTOCOL);
        is_int(health(&f, 5000, NULL, &err), 0, "answered twice: the first answer is taken");
        guest_health(&f, 1, HAKO_AGENT_PROTOCOL);
        is_int(health(&f, 5000, NULL, &err2), -EPROTO, "answered twice: the second breaks the channel");
        ok(contains(err2, "answered Health (stream 1) twice"), "... and is named as a second answer (%s)",
           err2);
        fake_close(&f);

        /* Both in one read: the call fails, nothing from that guest is taken any more. */
        _cleanup_free_ char *err3 = NULL;
        if (fake_open(&f) < 0)
                return;
        guest_health(&f, 1, HAKO_AGENT_PROTOCOL);
        guest_health(&f, 1, HAKO_AGENT_PROTOCOL);
        is_int(health(&f, 5000, NULL, &err3), -EPROTO, "answered twice at once: -EPROTO");
        ok(contains(err3, "twice"), "... named as a second answer (%s)", err3);
        fake_close(&f);
}

static int async_code = -1, async_calls;
static void on_reply(void *ud, int code, const char *message, const ProtobufCMessage *resp)
{
        (void)ud, (void)message, (void)resp;
        async_code = code;
        async_calls++;
}

static void test_async_twice(void)
{
        Hako__Agent__V1__WaitProcessRequest req = HAKO__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
        Hako__Agent__V1__WaitProcessResponse resp = HAKO__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
        struct fake f;

        if (fake_open(&f) < 0)
                return;
        async_calls = 0;
        is_int(agent_call_async(&f.c, "WaitProcess", &req.base,
                                &hako__agent__v1__wait_process_response__descriptor, on_reply, NULL),
               0, "async call sent");
        (void)ttrpc_send_response(f.guest, 1, TTRPC_OK, NULL, &resp.base);
        (void)ttrpc_send_response(f.guest, 1, TTRPC_OK, NULL, &resp.base);
        is_int(agent_client_dispatch(&f.c), -EPROTO, "an async call answered twice: dispatch fails");
        is_int(async_calls, 1, "... after running the callback once");
        ok(contains(agent_client_error(&f.c), "answered WaitProcess (stream 1) twice"),
           "... and says why (%s)", agent_client_error(&f.c));
        is_int(agent_call_async(&f.c, "WaitProcess", &req.base, NULL, on_reply, NULL), -EPROTO,
               "no new call on a broken channel");
        fake_close(&f);
}

static void test_garbage(void)
{
        static const uint8_t junk[64] = {[0 ... 63] = 0xff};
        Hako__Ttrpc__Response resp = HAKO__TTRPC__RESPONSE__INIT;
        struct fake f;
        _cleanup_free_ char *err = NULL, *err2 = NULL, *err3 = NULL, *err4 = NULL;

        if (fake_open(&f) < 0)
                return;
        guest_header(&f, sizeof(junk), 1, TTRPC_TYPE_RESPONSE);
        guest_raw(&f, junk, sizeof(junk));
        is_int(health(&f, 5000, NULL, &err), -EPROTO, "a response that is not protobuf: -EPROTO");
        ok(contains(err, "is not a valid response"), "... says so (%s)", err);
        fake_close(&f);

        if (fake_open(&f) < 0)
                return;
        resp.payload.data = (uint8_t *)junk;
        resp.payload.len = sizeof(junk);
        (void)ttrpc_write_message(f.guest, 1, TTRPC_TYPE_RESPONSE, &resp.base);
        is_int(health(&f, 5000, NULL, &err2), -EPROTO, "a payload that is not the method's message: -EPROTO");
        ok(contains(err2, "does not decode"), "... says so (%s)", err2);
        ok(agent_client_error(&f.c) != NULL, "... and ends the channel");
        fake_close(&f);

        if (fake_open(&f) < 0)
                return;
        guest_header(&f, 0, 1, TTRPC_TYPE_REQUEST);
        is_int(health(&f, 5000, NULL, &err3), -EPROTO, "a request from the guest: -EPROTO");
        ok(contains(err3, "type 1"), "... says so (%s)", err3);
        fake_close(&f);

        if (fake_open(&f) < 0)
                return;
        guest_header(&f, 0, 1, 99);
        is_int(health(&f, 5000, NULL, &err4), -EPROTO, "a frame of an unknown type: -EPROTO");
        fake_close(&f);
}

static void test_silent(void)
{
        struct fake f;
        _cleanup_free_ char *err = NULL, *err2 = NULL;
        long long t;

        if (fake_open(&f) < 0)
                return;
        t = mono_ms();
        is_int(health(&f, 300, NULL, &err), -ETIMEDOUT, "no answer: -ETIMEDOUT");
        t = mono_ms() - t;
        ok(t >= 290 && t < 2000, "... after the call's timeout (%lld ms)", t);
        ok(contains(err, "did not answer Health within 300 ms"), "... says so (%s)", err);
        /* The late answer to the abandoned call is dropped, not taken for a protocol error. */
        guest_health(&f, 1, HAKO_AGENT_PROTOCOL);
        guest_health(&f, 3, HAKO_AGENT_PROTOCOL);
        is_int(health(&f, 5000, NULL, &err2), 0, "a late answer to a call given up on is dropped quietly");
        fake_close(&f);
}

static void test_partial(void)
{
        struct fake f;
        _cleanup_free_ char *err = NULL;

        if (fake_open(&f) < 0)
                return;
        guest_header(&f, 100, 1, TTRPC_TYPE_RESPONSE);
        guest_raw(&f, "0123456789", 10);
        is_int(health(&f, 300, NULL, &err), -ETIMEDOUT, "half an answer, then silence: -ETIMEDOUT");
        fake_close(&f);
}

/* A guest (a child process) that reads the request, sends part of an answer and goes away. */
static pid_t guest_dies_mid_call(struct fake *f)
{
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        struct pollfd p = {.fd = f->guest, .events = POLLIN};
        (void)poll(&p, 1, 5000);
        drain(f);
        guest_header(f, 100, 1, TTRPC_TYPE_RESPONSE);
        _exit(0);
}

static void test_closed(void)
{
        struct fake f;
        _cleanup_free_ char *err = NULL, *err2 = NULL, *err3 = NULL;
        int vm[2];
        pid_t pid;

        if (fake_open(&f) < 0)
                return;
        pid = guest_dies_mid_call(&f);
        f.guest = safe_close(f.guest);
        is_int(health(&f, 5000, NULL, &err), -ECONNRESET, "the channel closed mid-call: -ECONNRESET");
        ok(contains(err, "closed"), "... says so (%s)", err);
        (void)waitpid(pid, NULL, 0);
        fake_close(&f);

        /* With the VM's pidfd readable too, it is the VM that exited. */
        if (fake_open(&f) < 0 || pipe2(vm, O_CLOEXEC) < 0)
                return;
        f.c.abort_fds[0] = vm[0];
        pid = guest_dies_mid_call(&f);
        f.guest = safe_close(f.guest);
        (void)!write(vm[1], "x", 1);
        is_int(health(&f, 5000, NULL, &err2), -ECHILD, "the channel closed as the VM exited: -ECHILD");
        ok(contains(err2, "the VM exited during Health"), "... says so (%s)", err2);
        (void)waitpid(pid, NULL, 0);
        /* Writing to a channel whose VM is gone: the same, not a broken pipe. */
        long long t = mono_ms();
        int r = health(&f, 5000, NULL, &err3);
        ok((r == -ECHILD || r == -ECONNRESET) && mono_ms() - t < 1000, "the next call fails at once (%d)", r);
        safe_close(vm[0]);
        safe_close(vm[1]);
        fake_close(&f);

        _cleanup_free_ char *err4 = NULL;
        if (fake_open(&f) < 0)
                return;
        f.guest = safe_close(f.guest);
        is_int(health(&f, 5000, NULL, &err4), -ECONNRESET, "a request into a closed channel: -ECONNRESET");
        ok(contains(err4, "closed"), "... says so (%s)", err4);
        fake_close(&f);
}

static void test_long_message(void)
{
        struct fake f;
        _cleanup_free_ char *err = NULL, *msg = NULL;
        size_t n = 200 << 10;
        bool printable = true;

        if (fake_open(&f) < 0 || !(msg = malloc(n + 1)))
                return;
        for (size_t i = 0; i < n; i++)
                msg[i] = "\033]0;owned\007\r\n"[i % 12];
        msg[n] = 0;
        (void)ttrpc_send_response(f.guest, 1, TTRPC_NOT_FOUND, msg, NULL);
        is_int(health(&f, 5000, NULL, &err), -ENOENT, "a remote error maps to its errno");
        ok(err && strlen(err) <= 512, "its 200 KiB message is cut to 512 bytes (%zu)", err ? strlen(err) : 0);
        for (const char *p = err; p && *p; p++)
                printable = printable && *p >= 0x20 && *p < 0x7f;
        ok(err && printable, "... of printable characters only");
        fake_close(&f);
}

static void test_absurd(void)
{
        Hako__Agent__V1__ListProcessesRequest req = HAKO__AGENT__V1__LIST_PROCESSES_REQUEST__INIT;
        Hako__Agent__V1__ListProcessesResponse resp = HAKO__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
        ProtobufCMessage *m = NULL;
        _cleanup_free_ char *err = NULL, *err2 = NULL;
        _cleanup_free_ uint32_t *pids = NULL;
        struct fake f;
        struct arena a;
        size_t n = 20000;

        /* 20000 pids (100 KB on the wire, 80 KB decoded) do not fit in the caller's 64 KiB arena. */
        if (fake_open(&f) < 0 || !(pids = calloc(n, sizeof(*pids))) || arena_init(&a, 64 << 10) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                pids[i] = UINT32_MAX;
        resp.pids = pids;
        resp.n_pids = n;
        (void)ttrpc_send_response(f.guest, 1, TTRPC_OK, NULL, &resp.base);
        is_int(agent_call(&f.c, "ListProcesses", &req.base,
                          &hako__agent__v1__list_processes_response__descriptor, 5000, &a, &m, &err),
               -EPROTO, "a response over the caller's arena is refused: -EPROTO");
        ok(a.used <= a.cap, "... and the arena stayed within its cap");
        arena_done(&a);
        fake_close(&f);

        /* Absurd status codes are errors, not successes. */
        if (fake_open(&f) < 0)
                return;
        (void)ttrpc_send_response(f.guest, 1, INT32_MAX, "nonsense", NULL);
        is_int(health(&f, 5000, NULL, &err2), -EREMOTEIO, "an unknown status code: -EREMOTEIO");
        fake_close(&f);
}

static void test_pending_limit(void)
{
        Hako__Agent__V1__WaitProcessRequest req = HAKO__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
        struct fake f;
        int r = 0;

        if (fake_open(&f) < 0)
                return;
        for (unsigned i = 0; i < HAKO_MAX_PENDING && r == 0; i++) {
                r = agent_call_async(&f.c, "WaitProcess", &req.base, NULL, on_reply, NULL);
                drain(&f);
        }
        is_int(r, 0, "%d calls may wait at once", HAKO_MAX_PENDING);
        is_int(agent_call_async(&f.c, "WaitProcess", &req.base, NULL, on_reply, NULL), -EBUSY,
               "one more is refused: -EBUSY");
        fake_close(&f);
}

static void test_no_arena(void)
{
        Hako__Agent__V1__HealthRequest req = HAKO__AGENT__V1__HEALTH_REQUEST__INIT;
        ProtobufCMessage *m = NULL;
        struct fake f;

        if (fake_open(&f) < 0)
                return;
        is_int(agent_call(&f.c, "Health", &req.base, &hako__agent__v1__health_response__descriptor, 1000,
                          NULL, &m, NULL),
               -EINVAL, "a response without an arena to bound it is refused");
        fake_close(&f);
}

int main(void)
{
        signal(SIGPIPE, SIG_IGN); /* as hako's main() does: a closed channel is EPIPE */
        test_well_behaved();
        test_huge_frame();
        test_frame_just_over();
        test_wrong_stream();
        test_twice();
        test_async_twice();
        test_garbage();
        test_silent();
        test_partial();
        test_closed();
        test_long_message();
        test_absurd();
        test_pending_limit();
        test_no_arena();
        done_testing();
        return exit_status();
}
