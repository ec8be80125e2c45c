/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The control socket of a container's host process, <state dir>/control.sock: one request per
 * connection, one SOCK_SEQPACKET message each way. Requests are words ("start", "kill 15 0",
 * "pause", "resume", "shutdown"); the answer is "0" or "-ERRNO message". */

#define CONTROL_SOCKET "control.sock"

/* Binds and listens; the returned fd is non-blocking and O_CLOEXEC. */
int control_listen(const char *state_dir, int *ret_fd);

/* A request handler: returns 0 or -errno with an optional malloc'd message in *ret_error. */
typedef int (*control_handler_fn)(void *userdata, const char *request, char **ret_error);

/* Accepts one pending connection and answers its request. Errors of a single client are not
 * the server's: they are dropped, and 0 is returned. */
int control_serve_one(int listen_fd, control_handler_fn fn, void *userdata);

/* Sends a request and waits (up to timeout_ms) for the answer: the handler's result, with its
 * message in *ret_error. -ESRCH when nobody serves the socket any more. */
int control_request(const char *state_dir, const char *request, int timeout_ms, char **ret_error);
