/* SPDX-License-Identifier: Apache-2.0 */
/* A guest agent that misbehaves on purpose (tests/integration/hostile.sh, docs/hostile-guest.md).
 *
 * PID 1 of a test initrd: the real initrd with this binary appended as /init, plus a file
 * /hostile-mode holding "METHOD ACTION [ARG]". It speaks just enough of the agent protocol for
 * `hako run` (Health, CreateSandbox, CreateContainer, StartContainer, then a process that prints
 * one line and exits 0) and misbehaves the first time the host calls METHOD:
 *
 *   huge        a response header announcing 4 GiB - 1 bytes, then junk
 *   overmax     a response of HAKO_TTRPC_MAX_FRAME + 1 bytes
 *   wrongstream the right answer on a stream the host never opened
 *   evenstream  the right answer on an even (server-side) stream id
 *   silent      no answer, ever (the rest is still served)
 *   twice       the right answer, twice
 *   garbage     a response frame that is not protobuf
 *   badpayload  a valid Response whose payload is not the method's message
 *   request     a request frame sent to the host
 *   badtype     a frame of an unknown type
 *   close       closes the channel and keeps the VM running, silent
 *   partial     half of the answer, then silence
 *   reboot      the VM goes away mid-call
 *   absurd      absurd values: protocol 2^32-1 (Health), pid 2^32-1 (CreateContainer), exit code
 *               2^31-1 (WaitProcess), a chunk far over what was asked (ReadStdout), an unknown
 *               status code (others)
 *   badsignal   (WaitProcess) killed by "signal" 2^31-1
 *   longmsg     an error whose message is 200 KiB of escape sequences and newlines
 *   flood       (ReadStdout) ARG MiB of output in ~1 MiB answers before the exit
 *   console     ARG MiB written to the console, then the right answer
 *
 * The process starts with StartContainer (reads and waits are parked until then, as a real agent
 * parks them) and exits at once; with METHOD SignalProcess it runs until the host sends a signal.
 * A parked call misbehaves when it is answered. "none" serves everything correctly (to prove the
 * test initrd is what boots). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-protocol.h"
#include "agent.h"
#include "agent.pb-c.h"
#include "arena.h"
#include "macro.h"
#include "ttrpc.h"

#define GREETING "hello from the hostile agent\n"

static struct {
        char method[64], action[32];
        unsigned long arg;
        bool fired;
} mode;

static struct {
        int fd;
        bool started, exited, out_sent, hold;
        uint32_t wait_sid, out_sid, err_sid; /* parked calls, 0: none */
        int exit_signal;
        unsigned long long flood_left;
} st = {.fd = -1};

_printf_(1, 2) static void say(const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "hostile-agent: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void init_system(void)
{
        (void)mkdir("/proc", 0755);
        (void)mkdir("/sys", 0755);
        (void)mkdir("/dev", 0755);
        (void)mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        (void)mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        (void)mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
        int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0) {
                for (int i = 0; i < 3; i++)
                        dup2(fd, i);
                if (fd > 2)
                        close(fd);
        }
        setvbuf(stderr, NULL, _IONBF, 0);
}

static void read_mode(void)
{
        char line[256] = "";
        FILE *f = fopen("/hostile-mode", "re");

        if (f) {
                if (!fgets(line, sizeof(line), f))
                        line[0] = 0;
                fclose(f);
        }
        if (sscanf(line, "%63s %31s %lu", mode.method, mode.action, &mode.arg) < 2)
                snprintf(mode.method, sizeof(mode.method), "none");
        say("mode %s %s", mode.method, mode.action);
}

static _noreturn_ void idle_forever(void)
{
        for (;;)
                pause();
}

static void raw_write(const void *data, size_t n)
{
        const uint8_t *p = data;

        while (n > 0) {
                ssize_t k = write(st.fd, p, n);
                if (k < 0 && errno == EAGAIN) {
                        struct pollfd pfd = {.fd = st.fd, .events = POLLOUT};
                        (void)poll(&pfd, 1, 1000);
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return;
                p += k;
                n -= (size_t)k;
        }
}

static void raw_header(uint32_t length, uint32_t sid, uint8_t type)
{
        uint8_t h[TTRPC_HEADER_SIZE];

        ttrpc_header_pack(h, length, sid, type, 0);
        raw_write(h, sizeof(h));
}

static void junk(size_t n, uint8_t byte)
{
        uint8_t buf[4096];

        memset(buf, byte, sizeof(buf));
        while (n > 0) {
                size_t k = MIN(n, sizeof(buf));
                raw_write(buf, k);
                n -= k;
        }
}

static void reply(uint32_t sid, const ProtobufCMessage *payload)
{
        (void)ttrpc_send_response(st.fd, sid, TTRPC_OK, NULL, payload);
}

static void reply_data(uint32_t sid, const void *data, size_t len)
{
        Hako__Agent__V1__ReadStreamResponse m = HAKO__AGENT__V1__READ_STREAM_RESPONSE__INIT;

        m.data.data = (uint8_t *)data;
        m.data.len = len;
        reply(sid, &m.base);
}

static void reply_wait(uint32_t sid, int exit_code, int sig)
{
        Hako__Agent__V1__WaitProcessResponse m = HAKO__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;

        m.exit_code = exit_code;
        m.signal = sig;
        reply(sid, &m.base);
}

static void respond(uint32_t sid, const char *method);

static void unpark(uint32_t *slot, const char *method)
{
        uint32_t sid = *slot;

        *slot = 0;
        if (sid)
                respond(sid, method);
}

static void process_exit(int sig)
{
        st.exited = true;
        st.exit_signal = sig;
        unpark(&st.wait_sid, "WaitProcess");
        unpark(&st.out_sid, "ReadStdout");
        unpark(&st.err_sid, "ReadStderr");
}

static void flood_step(uint32_t sid)
{
        static uint8_t chunk[1000 << 10];
        size_t n = (size_t)MIN(st.flood_left, (unsigned long long)sizeof(chunk));

        if (!chunk[0])
                memset(chunk, 'F', sizeof(chunk));
        st.flood_left -= n;
        reply_data(sid, chunk, n);
        if (st.flood_left == 0) {
                st.hold = false;
                process_exit(0);
        }
}

/* Reads and waits are parked until the process runs (StartContainer), and while it runs when it
 * is held (until a signal, or the end of a flood). */
static bool parked(const char *method)
{
        if (!strcmp(method, "WaitProcess"))
                return !st.exited && (!st.started || st.hold);
        if (!strcmp(method, "ReadStdout"))
                return !st.flood_left && !st.exited && (!st.started || (st.hold && st.out_sent));
        if (!strcmp(method, "ReadStderr"))
                return !st.exited && (!st.started || st.hold);
        return false;
}

/* What a well-behaved agent answers (with just enough state for one process). */
static void serve(uint32_t sid, const char *method)
{
        Hako__Agent__V1__Empty empty = HAKO__AGENT__V1__EMPTY__INIT;

        if (parked(method)) {
                uint32_t *slot = !strcmp(method, "WaitProcess")  ? &st.wait_sid
                                 : !strcmp(method, "ReadStdout") ? &st.out_sid
                                                                 : &st.err_sid;
                *slot = sid;
                return;
        }
        if (!strcmp(method, "Health")) {
                Hako__Agent__V1__HealthResponse m = HAKO__AGENT__V1__HEALTH_RESPONSE__INIT;
                m.protocol = HAKO_AGENT_PROTOCOL;
                m.agent_version = (char *)"hostile";
                reply(sid, &m.base);
        } else if (!strcmp(method, "CreateContainer")) {
                Hako__Agent__V1__CreateContainerResponse m = HAKO__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
                m.pid = 2;
                reply(sid, &m.base);
        } else if (!strcmp(method, "StartContainer")) {
                reply(sid, &empty.base);
                /* The process prints its line, and exits unless it is held. */
                st.started = true;
                unpark(&st.out_sid, "ReadStdout");
                if (!st.hold)
                        process_exit(0);
        } else if (!strcmp(method, "ReadStdout")) {
                if (st.flood_left)
                        flood_step(sid);
                else if (!st.out_sent) {
                        st.out_sent = true;
                        reply_data(sid, GREETING, strlen(GREETING));
                } else
                        reply_data(sid, NULL, 0);
        } else if (!strcmp(method, "ReadStderr"))
                reply_data(sid, NULL, 0);
        else if (!strcmp(method, "WaitProcess"))
                reply_wait(sid, 0, st.exit_signal);
        else if (!strcmp(method, "SignalProcess")) {
                reply(sid, &empty.base);
                if (!st.exited)
                        process_exit(15);
        } else
                reply(sid, &empty.base); /* CreateSandbox, CloseStdin, RemoveContainer, ... */
}

static void reply_absurd(uint32_t sid, const char *method)
{
        if (!strcmp(method, "Health")) {
                Hako__Agent__V1__HealthResponse m = HAKO__AGENT__V1__HEALTH_RESPONSE__INIT;
                m.protocol = UINT32_MAX;
                reply(sid, &m.base);
        } else if (!strcmp(method, "CreateContainer")) {
                Hako__Agent__V1__CreateContainerResponse m = HAKO__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
                m.pid = UINT32_MAX;
                reply(sid, &m.base);
        } else if (!strcmp(method, "WaitProcess"))
                reply_wait(sid, INT32_MAX, 0);
        else if (!strcmp(method, "ReadStdout")) {
                /* Far more than the host asked for, as big as a frame allows. */
                size_t n = HAKO_TTRPC_MAX_FRAME - 64;
                _cleanup_free_ uint8_t *big = malloc(n);
                if (!big)
                        return;
                memset(big, 'A', n);
                st.out_sent = true;
                reply_data(sid, big, n);
        } else
                (void)ttrpc_send_response(st.fd, sid, INT32_MAX, "status code 2147483647", NULL);
}

static void reply_longmsg(uint32_t sid)
{
        static const char piece[] = "\033]0;owned\007\033[2J\r\nfake: prompt$ \t\177";
        size_t n = 200 << 10, len = strlen(piece);
        _cleanup_free_ char *msg = malloc(n + 1);

        if (!msg)
                return;
        for (size_t i = 0; i < n; i++)
                msg[i] = piece[i % len];
        msg[n] = 0;
        (void)ttrpc_send_response(st.fd, sid, TTRPC_NOT_FOUND, msg, NULL);
}

static void misbehave(uint32_t sid, const char *method)
{
        const char *a = mode.action;

        say("misbehaving at %s: %s", method, a);
        if (!strcmp(a, "huge")) {
                raw_header(UINT32_MAX, sid, TTRPC_TYPE_RESPONSE);
                junk(4096, 'A');
        } else if (!strcmp(a, "overmax")) {
                raw_header(HAKO_TTRPC_MAX_FRAME + 1, sid, TTRPC_TYPE_RESPONSE);
                junk(HAKO_TTRPC_MAX_FRAME + 1, 0);
        } else if (!strcmp(a, "wrongstream"))
                serve(0x7ffffff1, method);
        else if (!strcmp(a, "evenstream"))
                serve(sid + 1, method);
        else if (!strcmp(a, "silent"))
                return;
        else if (!strcmp(a, "twice")) {
                serve(sid, method);
                serve(sid, method);
        } else if (!strcmp(a, "garbage")) {
                raw_header(64, sid, TTRPC_TYPE_RESPONSE);
                junk(64, 0xff);
        } else if (!strcmp(a, "badpayload")) {
                Hako__Ttrpc__Response resp = HAKO__TTRPC__RESPONSE__INIT;
                uint8_t bad[64];
                memset(bad, 0xff, sizeof(bad));
                resp.payload.data = bad;
                resp.payload.len = sizeof(bad);
                (void)ttrpc_write_message(st.fd, sid, TTRPC_TYPE_RESPONSE, &resp.base);
        } else if (!strcmp(a, "request")) {
                Hako__Agent__V1__Empty empty = HAKO__AGENT__V1__EMPTY__INIT;
                (void)ttrpc_send_request(st.fd, sid, HAKO_AGENT_SERVICE, "Health", &empty.base, 0);
        } else if (!strcmp(a, "badtype")) {
                raw_header(0, sid, 7);
        } else if (!strcmp(a, "close")) {
                st.fd = safe_close(st.fd);
                idle_forever();
        } else if (!strcmp(a, "partial")) {
                raw_header(100, sid, TTRPC_TYPE_RESPONSE);
                junk(20, 0x0a);
                idle_forever();
        } else if (!strcmp(a, "reboot")) {
                sync();
                reboot(RB_AUTOBOOT);
                idle_forever();
        } else if (!strcmp(a, "absurd"))
                reply_absurd(sid, method);
        else if (!strcmp(a, "badsignal"))
                reply_wait(sid, 0, INT32_MAX);
        else if (!strcmp(a, "longmsg"))
                reply_longmsg(sid);
        else if (!strcmp(a, "flood")) {
                st.flood_left = (unsigned long long)mode.arg << 20;
                st.hold = true;
                serve(sid, method);
        } else if (!strcmp(a, "console")) {
                static char line[1024];
                memset(line, 'C', sizeof(line) - 1);
                line[sizeof(line) - 1] = '\n';
                for (unsigned long i = 0; i < mode.arg * 1024; i++)
                        if (write(STDERR_FILENO, line, sizeof(line)) < 0)
                                break;
                serve(sid, method);
        } else {
                say("unknown action %s", a);
                serve(sid, method);
        }
}

/* The first answer to METHOD misbehaves (a parked call: when it is answered). */
static void respond(uint32_t sid, const char *method)
{
        if (!mode.fired && !strcmp(method, mode.method) && !parked(method)) {
                mode.fired = true;
                misbehave(sid, method);
                return;
        }
        serve(sid, method);
}

static void handle(const struct ttrpc_frame *f, struct arena *a)
{
        Hako__Ttrpc__Request *req;

        if (f->type != TTRPC_TYPE_REQUEST)
                return;
        arena_reset(a);
        req = hako__ttrpc__request__unpack(&a->allocator, f->length, f->data);
        if (!req || !req->method)
                return;
        respond(f->stream_id, req->method);
}

int main(void)
{
        struct ttrpc_reader reader;
        struct arena arena;
        int r;

        if (getpid() == 1)
                init_system();
        read_mode();
        st.hold = !strcmp(mode.method, "SignalProcess") || !strcmp(mode.action, "flood");
        if (ttrpc_reader_init(&reader, HAKO_TTRPC_MAX_FRAME) < 0 || arena_init(&arena, HAKO_TTRPC_ARENA) < 0)
                idle_forever();
        r = agent_transport_open_serial(&st.fd);
        if (r < 0) {
                say("no agent port: %s", strerror(-r));
                idle_forever();
        }
        for (;;) {
                struct pollfd pfd = {.fd = st.fd, .events = POLLIN};
                struct ttrpc_frame f;

                if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                        idle_forever();
                r = ttrpc_reader_fill(&reader, st.fd);
                if (r == 0 || (r < 0 && r != -EAGAIN)) {
                        /* No host on the other end (yet): wait for one. */
                        usleep(10000);
                        continue;
                }
                while ((r = ttrpc_reader_next(&reader, &f)) > 0)
                        handle(&f, &arena);
                if (r < 0)
                        idle_forever();
        }
}
