/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "container.h"
#include "control.h"

/* An exec process as the container's host process serves it: `hako exec` hands over its stdio
 * fds and the process JSON on the control socket ("exec ID TTY\nJSON"), the agent starts the
 * process, and the session's connection stays open: "signal N" and "winch" come in, "exit N"
 * goes out when the process is done. The stdio is relayed by the host process. */

#define EXEC_SESSIONS_MAX 16

struct exec_session {
        int conn_fd; /* -1 once `hako exec` went away; the process keeps running */
        int fds[3];  /* stdin, stdout, stderr (one terminal three times with -t) */
        struct process *process;
};

/* Starts the process the request describes; takes the connection and fds from m on success.
 * The session is the process's userdata. */
int exec_session_start(struct container *c, struct control_msg *m, struct exec_session **ret,
                       char **ret_error);
/* Reads one message from `hako exec` (its connection is readable). */
void exec_session_on_conn(struct exec_session *s);
/* Tells `hako exec` the exit code (if it is still there), has the agent forget the process and
 * frees everything. NULL-safe, returns NULL. */
struct exec_session *exec_session_end(struct exec_session *s, int exit_code);
