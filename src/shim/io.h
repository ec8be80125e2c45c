/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* A process's stdio as containerd hands it to the shim: fifo paths (the client reads and writes
 * the other ends), `file:///path` (both streams appended to a file), `binary:///path?k=v`
 * (a logging program gets the streams on fds 3 and 4 and closes fd 5 once it is ready, with
 * CONTAINER_ID and CONTAINER_NAMESPACE set), or "" for none. The fds below go to the process's
 * relay; they are non-blocking, so a reader that stops reading only stops the relay. */
struct shim_stdio {
        char *stdin_path, *stdout_path, *stderr_path; /* as given, for State */
        bool terminal;
        int in, out, err; /* -1: none */
        pid_t logger_pid;
        int logger_pidfd;
};

int shim_stdio_open(struct shim_stdio *io, const char *id, const char *ns, const char *in, const char *out,
                    const char *err, bool terminal, char **ret_error);
/* Closes the fds: readers see the end of the streams (a logger exits by itself). */
void shim_stdio_close(struct shim_stdio *io);
void shim_stdio_done(struct shim_stdio *io);
