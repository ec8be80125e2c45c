/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <signal.h>
#include <stdbool.h>

#include "agent-client.h"

/* Relays one guest process's stdio and signals until it exits and its output is drained:
 * stdin → WriteStdin/CloseStdin, ReadStdout/ReadStderr → the caller's fds, forwarded signals →
 * SignalProcess, SIGWINCH → TtyWinResize. Reused by `hako run` and the OCI CLI's host process. */
struct relay_opts {
        struct agent_client *agent;
        int vm_pidfd;
        const char *container_id;
        const char *exec_id;
        int in_fd; /* -1: no stdin (the process sees EOF) */
        int out_fd;
        int err_fd;
        bool tty;
        int winsize_fd; /* a terminal to copy window sizes from, -1: none */
        int signal_fd;  /* signalfd for the signals to forward (and SIGWINCH) */
        /* Optional: one more fd served inside the loop (the OCI host process's control socket).
         * on_extra_fd runs when it is readable; a negative return ends the relay with that error. */
        int extra_fd;
        int (*on_extra_fd)(void *userdata);
        void *userdata;
};

/* Blocks the signals a relay forwards (all but the synchronous and job-control ones) and returns
 * a signalfd for them; the old mask goes to *ret_old. */
int relay_signalfd(sigset_t *ret_old);

/* Returns 0 with the Docker-style exit code (128+N for a signal), or -errno. */
int relay_run(const struct relay_opts *o, int *ret_exit_code);
