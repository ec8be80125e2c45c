/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

/* The `hako exec` end of an exec session (exec-session.h): hands the process and the stdio to
 * the container's host process, then stands for the exec's process until it exits. */
struct exec_client_opts {
        const char *state_dir;
        const char *process_json;
        bool tty;
        const char *console_socket; /* with tty: send a pty master there, as runc does */
        int stdin_fd; /* the exec's stdin when no console socket: 0 is ours (runc's), /dev/null is
                       * Docker's `exec` without -i */
};

/* Starts the exec. The stdio handed over is fds 0-2, or with a console socket a new pty.
 * Returns the session fd. */
int exec_client_start(const struct exec_client_opts *o, int *ret_conn, char **ret_error);

/* Forwards the signals signal_fd delivers (SIGWINCH as a resize) until the process exits;
 * returns its exit code (128+N for signal N; 137 when the container went away). */
int exec_client_wait(int conn, int signal_fd);
