/* SPDX-License-Identifier: Apache-2.0 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "timeutil.h"

#define STDIN_CHUNK (64u << 10)
/* Once the process is gone, output still in flight gets this long to arrive. */
#define DRAIN_AFTER_EXIT_MS 5000
/* The agent answers SignalProcess at once (kill() in the guest); a guest that leaves a signal
 * unanswered this long is not going to deliver it, and the process is given up (exit 125), so
 * that Ctrl-C on `hako run` always ends it. */
#define SIGNAL_ANSWER_TIMEOUT_MS 10000
/* The highest signal number a Linux guest has (SIGRTMAX). */
#define GUEST_SIGNAL_MAX 64

/* Output the caller's fd did not take yet (its reader is slow or stopped): the next read from the
 * guest waits until it is written, so a reader that stops reading stops the process's output
 * instead of making us buffer without bound. */
struct relay_backlog {
        uint8_t *buf;
        size_t len, off;
};

struct relay {
        struct relay_opts o;
        bool out_eof, err_eof, exited, in_eof, in_busy, in_closing, failed;
        bool out_broken, err_broken;
        int exit_code;
        long long exited_at;
        uint8_t *in_buf;
        size_t in_len, in_off;
        struct relay_backlog backlog[2]; /* stdout, stderr */
        int error;
        unsigned signals_unanswered;
        long long signal_sent_at; /* of the oldest unanswered one (mono ms) */
};

/* Writes what the fd takes now: 0 when all of it went, 1 with the rest in *b when the fd is
 * full, -errno when it is broken. A blocking fd (a terminal, the pipe or fifo a caller handed us)
 * must not block us either: the owner's loop would stop serving signals, `hako kill` and the agent
 * while the reader is paused. So it gets what poll() says it takes now, PIPE_BUF at a time (a
 * writable pipe has a free page, so PIPE_BUF bytes cannot block). */
static int write_some(int fd, const uint8_t *p, size_t n, struct relay_backlog *b)
{
        int fl = fcntl(fd, F_GETFL);
        bool blocking = fl >= 0 && !(fl & O_NONBLOCK);

        while (n > 0) {
                if (blocking) {
                        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                        int k = poll(&pfd, 1, 0);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k == 0)
                                break; /* full: the rest waits */
                }
                ssize_t k = write(fd, p, blocking ? MIN(n, (size_t)PIPE_BUF) : n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return negative_errno();
                }
                p += k;
                n -= (size_t)k;
        }
        if (n == 0)
                return 0;
        uint8_t *copy = malloc(n);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, p, n);
        *b = (struct relay_backlog){.buf = copy, .len = n};
        return 1;
}

static void stream_req(struct relay *r, const char *method,
                       void (*cb)(void *, int, const char *, const ProtobufCMessage *));

/* Returns true when the data is out (or dropped) and the next read may go. */
static bool on_read(struct relay *r, bool is_err, int code, const ProtobufCMessage *resp)
{
        bool *eof = is_err ? &r->err_eof : &r->out_eof;
        bool *broken = is_err ? &r->err_broken : &r->out_broken;
        int k;

        if (code != TTRPC_OK) {
                *eof = true; /* the process or container is gone */
                return true;
        }
        const Hako__Agent__V1__ReadStreamResponse *m = (const void *)resp;
        if (m->data.len == 0) {
                *eof = true;
                return true;
        }
        if (*broken)
                return true;
        k = write_some(is_err ? r->o.err_fd : r->o.out_fd, m->data.data, m->data.len, &r->backlog[is_err]);
        if (k < 0)
                *broken = true; /* our reader went away: keep draining so the process is not blocked */
        return k <= 0;
}

static void on_stdout(void *ud, int code, const char *msg, const ProtobufCMessage *resp)
{
        struct relay *r = ud;
        (void)msg;
        if (on_read(r, false, code, resp) && !r->out_eof)
                stream_req(r, "ReadStdout", on_stdout);
}

static void on_stderr(void *ud, int code, const char *msg, const ProtobufCMessage *resp)
{
        struct relay *r = ud;
        (void)msg;
        if (on_read(r, true, code, resp) && !r->err_eof)
                stream_req(r, "ReadStderr", on_stderr);
}

int relay_output_fd(const struct relay *r, bool err)
{
        return r->backlog[err].buf ? (err ? r->o.err_fd : r->o.out_fd) : -1;
}

void relay_on_output(struct relay *r, bool err)
{
        struct relay_backlog *b = &r->backlog[err], rest = {0};
        int k;

        if (!b->buf)
                return;
        k = write_some(err ? r->o.err_fd : r->o.out_fd, b->buf + b->off, b->len - b->off, &rest);
        free(b->buf);
        *b = rest;
        if (k < 0)
                *(err ? &r->err_broken : &r->out_broken) = true;
        if (k <= 0 && !(err ? r->err_eof : r->out_eof))
                stream_req(r, err ? "ReadStderr" : "ReadStdout", err ? on_stderr : on_stdout);
}

static void stream_req(struct relay *r, const char *method,
                       void (*cb)(void *, int, const char *, const ProtobufCMessage *))
{
        Hako__Agent__V1__ReadStreamRequest req = HAKO__AGENT__V1__READ_STREAM_REQUEST__INIT;

        req.container_id = (char *)r->o.container_id;
        req.exec_id = (char *)r->o.exec_id;
        req.len = 64 * 1024;
        int k = agent_call_async(r->o.agent, method, &req.base,
                                 &hako__agent__v1__read_stream_response__descriptor, cb, r);
        if (k < 0) {
                r->error = k;
                r->failed = true;
        }
}

static void on_wait(void *ud, int code, const char *msg, const ProtobufCMessage *resp)
{
        struct relay *r = ud;
        const Hako__Agent__V1__WaitProcessResponse *m = (const void *)resp;

        r->exited = true;
        if (code != TTRPC_OK) {
                log_error("waiting for the container failed: %s", msg);
                r->exit_code = 125;
                return;
        }
        /* An exit status is 8 bits and a signal at most SIGRTMAX: anything else is made up, and
         * must not turn into a success (256 & 0xff) or an arbitrary code. */
        if (m->exit_code < 0 || m->exit_code > 255 || m->signal < 0 || m->signal > GUEST_SIGNAL_MAX) {
                log_error("the guest reported an impossible exit status (code %" PRId32 ", signal %" PRId32
                          ")",
                          m->exit_code, m->signal);
                r->exit_code = 125;
                return;
        }
        /* Docker's convention: 128+N for a process killed by signal N. */
        if (m->signal > 0)
                r->exit_code = 128 + m->signal;
        else
                r->exit_code = m->exit_code;
}

static void send_stdin(struct relay *r);

static void on_write(void *ud, int code, const char *msg, const ProtobufCMessage *resp)
{
        struct relay *r = ud;
        const Hako__Agent__V1__WriteStreamResponse *m = (const void *)resp;
        (void)msg;

        /* An error: the process closed its stdin or exited, nothing more to give it. The agent
         * parks a write until some of it is taken, so "0 bytes taken" is made up: resending would
         * spin for as long as the guest keeps saying it. */
        if (code != TTRPC_OK || m->len == 0) {
                r->in_busy = false;
                r->in_eof = true;
                return;
        }
        r->in_off += MIN((size_t)m->len, r->in_len - r->in_off);
        if (r->in_off < r->in_len) {
                send_stdin(r);
                return;
        }
        r->in_busy = false;
        if (r->in_closing)
                relay_on_input(r);
}

static void send_stdin(struct relay *r)
{
        Hako__Agent__V1__WriteStreamRequest req = HAKO__AGENT__V1__WRITE_STREAM_REQUEST__INIT;

        req.container_id = (char *)r->o.container_id;
        req.exec_id = (char *)r->o.exec_id;
        req.data.data = r->in_buf + r->in_off;
        req.data.len = r->in_len - r->in_off;
        r->in_busy = true;
        int k = agent_call_async(r->o.agent, "WriteStdin", &req.base,
                                 &hako__agent__v1__write_stream_response__descriptor, on_write, r);
        if (k < 0) {
                r->error = k;
                r->failed = true;
        }
}

static void on_ignore(void *ud, int code, const char *msg, const ProtobufCMessage *resp)
{
        (void)ud;
        (void)resp;
        if (code != TTRPC_OK)
                log_debug("agent: %s", msg);
}

static void close_stdin(struct relay *r)
{
        Hako__Agent__V1__CloseStdinRequest req = HAKO__AGENT__V1__CLOSE_STDIN_REQUEST__INIT;

        req.container_id = (char *)r->o.container_id;
        req.exec_id = (char *)r->o.exec_id;
        agent_call_async(r->o.agent, "CloseStdin", &req.base, NULL, on_ignore, r);
}

static void on_signalled(void *ud, int code, const char *msg, const ProtobufCMessage *resp)
{
        struct relay *r = ud;
        (void)resp;

        if (code != TTRPC_OK)
                log_debug("agent: %s", msg);
        if (r->signals_unanswered > 0 && --r->signals_unanswered > 0)
                r->signal_sent_at = mono_ms(); /* the next one's clock, roughly */
}

void relay_signal(struct relay *r, int sig)
{
        Hako__Agent__V1__SignalProcessRequest req = HAKO__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;

        req.container_id = (char *)r->o.container_id;
        req.exec_id = (char *)r->o.exec_id;
        req.signal = (uint32_t)sig;
        if (agent_call_async(r->o.agent, "SignalProcess", &req.base, NULL, on_signalled, r) < 0)
                return;
        if (r->signals_unanswered++ == 0)
                r->signal_sent_at = mono_ms();
}

void relay_resize(struct relay *r)
{
        Hako__Agent__V1__TtyWinResizeRequest req = HAKO__AGENT__V1__TTY_WIN_RESIZE_REQUEST__INIT;
        struct winsize ws;

        if (!r->o.tty || r->o.winsize_fd < 0 || ioctl(r->o.winsize_fd, TIOCGWINSZ, &ws) < 0)
                return;
        req.container_id = (char *)r->o.container_id;
        req.exec_id = (char *)r->o.exec_id;
        req.rows = ws.ws_row;
        req.columns = ws.ws_col;
        agent_call_async(r->o.agent, "TtyWinResize", &req.base, NULL, on_ignore, r);
}

void relay_forward_signals(struct relay *r, int signal_fd)
{
        struct signalfd_siginfo si;

        while (read(signal_fd, &si, sizeof(si)) == sizeof(si)) {
                if (!r || si.ssi_signo == SIGCHLD || si.ssi_signo == SIGPIPE)
                        continue;
                if (si.ssi_signo == SIGWINCH)
                        relay_resize(r);
                else
                        relay_signal(r, (int)si.ssi_signo);
        }
}

int relay_signalfd(sigset_t *ret_old)
{
        sigset_t set, fdset;
        int fd;

        /* SIGCHLD stays out: its default is to be ignored, and a child of ours exiting (a VM
         * template's QEMU, say) must not read as a signal for the container. SIGPIPE is blocked
         * (a closed peer shows up as EPIPE) but not forwarded. */
        sigemptyset(&set);
        for (int s = 1; s < SIGRTMIN; s++)
                if (s != SIGKILL && s != SIGSTOP && s != SIGSEGV && s != SIGBUS && s != SIGILL &&
                    s != SIGFPE && s != SIGABRT && s != SIGTRAP && s != SIGSYS && s != SIGTSTP &&
                    s != SIGTTIN && s != SIGTTOU && s != SIGCONT && s != SIGCHLD)
                        sigaddset(&set, s);
        fdset = set;
        sigdelset(&fdset, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &set, ret_old) < 0)
                return negative_errno();
        fd = signalfd(-1, &fdset, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? negative_errno() : fd;
}

int relay_new(const struct relay_opts *o, struct relay **ret)
{
        Hako__Agent__V1__WaitProcessRequest wreq = HAKO__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
        struct relay *r = calloc(1, sizeof(*r));
        int k;

        if (!r)
                return -ENOMEM;
        r->o = *o;
        r->in_eof = o->in_fd < 0;
        r->in_buf = malloc(STDIN_CHUNK);
        if (!r->in_buf) {
                free(r);
                return -ENOMEM;
        }
        if (o->in_fd < 0)
                close_stdin(r);
        stream_req(r, "ReadStdout", on_stdout);
        stream_req(r, "ReadStderr", on_stderr);
        wreq.container_id = (char *)o->container_id;
        wreq.exec_id = (char *)o->exec_id;
        k = agent_call_async(o->agent, "WaitProcess", &wreq.base,
                             &hako__agent__v1__wait_process_response__descriptor, on_wait, r);
        if (k < 0)
                r->failed = true, r->error = k;
        *ret = r;
        return 0;
}

struct relay *relay_free(struct relay *r)
{
        if (!r)
                return NULL;
        agent_client_forget(r->o.agent, r);
        free(r->backlog[0].buf);
        free(r->backlog[1].buf);
        free(r->in_buf);
        free(r);
        return NULL;
}

int relay_input_fd(const struct relay *r)
{
        return (!r->in_eof && !r->in_busy && !r->exited && !r->failed) ? r->o.in_fd : -1;
}

void relay_on_input(struct relay *r)
{
        ssize_t n;

        do
                n = read(r->o.in_fd, r->in_buf, STDIN_CHUNK);
        while (n < 0 && errno == EINTR && r->in_closing);
        /* Closing: what the input holds now is the last of it. */
        if (n < 0 && (errno == EINTR || errno == EAGAIN) && !r->in_closing)
                return;
        if (n <= 0) {
                r->in_eof = true;
                close_stdin(r);
                return;
        }
        r->in_len = (size_t)n;
        r->in_off = 0;
        send_stdin(r);
}

void relay_close_input(struct relay *r)
{
        if (r->in_eof || r->in_closing)
                return;
        r->in_closing = true;
        if (!r->in_busy)
                relay_on_input(r);
}

int relay_check(struct relay *r, int *timeout_ms, int *ret_exit_code)
{
        if (r->failed)
                return r->error < 0 ? r->error : -EIO;
        if (r->signals_unanswered > 0 && !r->exited) {
                long long left = r->signal_sent_at + SIGNAL_ANSWER_TIMEOUT_MS - mono_ms();
                if (left <= 0) {
                        log_error("the guest did not answer a signal for %d s; giving up on the process",
                                  SIGNAL_ANSWER_TIMEOUT_MS / 1000);
                        r->failed = true;
                        r->error = -ETIMEDOUT;
                        return r->error;
                }
                if (*timeout_ms < 0 || left < *timeout_ms)
                        *timeout_ms = (int)left;
        }
        if (!r->exited)
                return 0;
        if (!r->exited_at)
                r->exited_at = mono_ms();
        long long left = r->exited_at + DRAIN_AFTER_EXIT_MS - mono_ms();
        if (r->out_eof && r->err_eof && !r->backlog[0].buf && !r->backlog[1].buf)
                left = 0;
        if (left > 0) {
                if (*timeout_ms < 0 || left < *timeout_ms)
                        *timeout_ms = (int)left;
                return 0;
        }
        *ret_exit_code = r->exit_code;
        return 1;
}
