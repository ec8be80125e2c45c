/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <signal.h>
#include <stdbool.h>

#include "agent-client.h"

/* Relays one guest process's stdio and signals until it exits and its output is drained:
 * stdin → WriteStdin/CloseStdin, ReadStdout/ReadStderr → the caller's fds, forwarded signals →
 * SignalProcess, resizes → TtyWinResize. Several relays can share one agent channel (the OCI
 * host process serves the container's init and its exec processes, the shim a pod's). */
struct relay_opts {
        struct agent_client *agent;
        const char *container_id;
        const char *exec_id;
        int in_fd; /* -1: no stdin (the process sees EOF) */
        int out_fd;
        int err_fd;
        bool tty;
        int winsize_fd; /* a terminal to copy window sizes from, -1: none */
};

struct relay;

/* Asks the agent for the process's output and exit. The fds stay the caller's. */
int relay_new(const struct relay_opts *o, struct relay **ret);
/* NULL-safe; answers still in flight for this relay are dropped when they arrive. */
struct relay *relay_free(struct relay *r);

/* The fd to poll for input now, -1 when the relay does not want any (busy, EOF, exited). */
int relay_input_fd(const struct relay *r);
void relay_on_input(struct relay *r);
/* Ends the process's stdin once what in_fd holds now is sent (containerd's CloseIO). */
void relay_close_input(struct relay *r);
/* The fd to poll for POLLOUT (err: stderr's) while output waits for a slow reader (the relay
 * never blocks in write(), not even on a blocking fd); -1 when none waits. relay_on_output writes
 * more of it. At most one guest answer (≤ HAKO_TTRPC_MAX_FRAME) waits per stream. */
int relay_output_fd(const struct relay *r, bool err);
void relay_on_output(struct relay *r, bool err);
void relay_signal(struct relay *r, int sig);
void relay_resize(struct relay *r);
/* Reads what signal_fd (relay_signalfd) has: SIGWINCH resizes, SIGCHLD and SIGPIPE are ours,
 * the rest go to the process. With r NULL (the process is gone) they are dropped. */
void relay_forward_signals(struct relay *r, int signal_fd);
/* 1 when the process has exited and its output is drained (or the drain time is up), with the
 * Docker-style exit code (128+N for a signal); 0 while it runs, lowering *timeout_ms to when to
 * check again; -errno when the relay failed. */
int relay_check(struct relay *r, int *timeout_ms, int *ret_exit_code);

/* Blocks the signals a relay forwards (all but the synchronous and job-control ones) and returns
 * a signalfd for them; the old mask goes to *ret_old. */
int relay_signalfd(sigset_t *ret_old);
