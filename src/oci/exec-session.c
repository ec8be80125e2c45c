/* SPDX-License-Identifier: Apache-2.0 */
#include "exec-session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "error.h"
#include "macro.h"
#include "ttrpc.h"

int exec_session_start(struct container *c, struct control_msg *m, struct exec_session **ret,
                       char **ret_error)
{
        _cleanup_free_ struct exec_session *s = NULL;
        char id[HAKO_MAX_ID_LEN + 2];
        struct winsize ws = {0};
        struct process *p;
        int tty, off = 0, r;

        if (sscanf(m->text, "exec %65s %d%n", id, &tty, &off) != 2 || m->text[off] != '\n' ||
            !ttrpc_valid_id(id) || strlen(id) > HAKO_MAX_ID_LEN)
                return error_set(ret_error, -EINVAL, "malformed exec request");
        if (m->n_fds != 3)
                return error_set(ret_error, -EINVAL, "an exec needs its three stdio fds");
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        if (tty)
                (void)ioctl(m->fds[0], TIOCGWINSZ, &ws);
        r = container_exec(c, id, m->text + off + 1, tty != 0, ws.ws_row, ws.ws_col, &p, ret_error);
        if (r < 0)
                return r;
        r = process_relay(p, m->fds[0], m->fds[1], m->fds[2], tty ? m->fds[0] : -1);
        if (r < 0) {
                (void)container_signal(c, id, SIGKILL, false, NULL);
                container_remove_exec(p);
                return error_set(ret_error, r, "cannot relay the exec's stdio: %s", strerror(-r));
        }
        for (int i = 0; i < 3; i++)
                s->fds[i] = TAKE_FD(m->fds[i]);
        s->conn_fd = TAKE_FD(m->conn_fd);
        s->process = p;
        p->userdata = s;
        *ret = TAKE_PTR(s);
        return 0;
}

void exec_session_on_conn(struct exec_session *s)
{
        char buf[64];
        int sig, n = control_recv(s->conn_fd, buf, sizeof(buf));

        if (n == -EAGAIN || n == -EINTR)
                return;
        if (n <= 0) {
                /* `hako exec` is gone (killed, or its caller lost interest): the process runs on
                 * and its stdio is still relayed, like a runc exec whose runc died. */
                s->conn_fd = safe_close(s->conn_fd);
                return;
        }
        if (!s->process->relay)
                return;
        if (sscanf(buf, "signal %d", &sig) == 1 && sig > 0 && sig < 65)
                relay_signal(s->process->relay, sig);
        else if (!strcmp(buf, "winch"))
                relay_resize(s->process->relay);
}

struct exec_session *exec_session_end(struct exec_session *s, int exit_code)
{
        char buf[32];

        if (!s)
                return NULL;
        if (s->conn_fd >= 0) {
                snprintf(buf, sizeof(buf), "exit %d", exit_code);
                (void)control_send(s->conn_fd, buf);
        }
        if (s->process)
                container_remove_exec(s->process);
        safe_close(s->conn_fd);
        for (int i = 0; i < 3; i++)
                safe_close(s->fds[i]);
        free(s);
        return NULL;
}
