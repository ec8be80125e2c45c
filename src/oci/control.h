/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* The control socket of a container's host process, <state dir>/control.sock: SOCK_SEQPACKET,
 * one request per connection, one message each way. Requests are words ("start", "kill 15 0",
 * "pause", "resume", "shutdown", "stats"); the answer is "0 [data]" or "-ERRNO message".
 * "exec ..." carries the exec's stdio fds (SCM_RIGHTS) and keeps its connection as a session:
 * the client then sends "signal N" / "winch", and the host process ends it with "exit N". */

#define CONTROL_SOCKET  "control.sock"
#define CONTROL_MAX_MSG (64u << 10)
#define CONTROL_MAX_FDS 3

struct control_msg {
        char *text; /* NUL-terminated */
        size_t len;
        int fds[CONTROL_MAX_FDS]; /* received fds; a handler that keeps one sets it to -1 */
        int n_fds;
        int conn_fd;       /* a handler that keeps the connection (a session) takes it with TAKE_FD */
        char *answer_data; /* optional malloc'd text after "0 " in a successful answer */
};

/* Binds and listens; the returned fd is non-blocking and O_CLOEXEC. */
int control_listen(const char *state_dir, int *ret_fd);

/* A request handler: returns 0 or -errno with an optional malloc'd message in *ret_error. */
typedef int (*control_handler_fn)(void *userdata, struct control_msg *m, char **ret_error);

/* Accepts one pending connection and answers its request. Errors of a single client are not
 * the server's: they are dropped, and 0 is returned. */
int control_serve_one(int listen_fd, control_handler_fn fn, void *userdata);

/* Sends a request and waits (up to timeout_ms) for the answer: the handler's result, with its
 * message in *ret_error (or the answer's data in *ret_data on success, when asked for). -ESRCH
 * when nobody serves the socket any more. */
int control_request(const char *state_dir, const char *request, int timeout_ms, char **ret_error);
int control_request_data(const char *state_dir, const char *request, int timeout_ms, char **ret_data,
                         char **ret_error);

/* Like control_request, with fds attached, keeping the connection open on success: the session
 * fd goes to *ret_fd. */
int control_open_session(const char *state_dir, const char *request, const int *fds, int n_fds,
                         int timeout_ms, int *ret_fd, char **ret_error);

/* One message on a session. control_recv returns its length (0: the peer is gone). */
int control_send(int fd, const char *text);
int control_recv(int fd, char *buf, size_t size);
