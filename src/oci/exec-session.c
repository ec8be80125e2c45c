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

#define AGENT_TIMEOUT_MS 60000

int exec_session_start(struct agent_client *agent, const char *container_id, struct control_msg *m,
                       struct exec_session **ret, char **ret_error)
{
        Hako__Agent__V1__ExecProcessRequest req = HAKO__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
        _cleanup_free_ struct exec_session *s = NULL;
        char id[HAKO_MAX_ID_LEN + 2];
        struct winsize ws = {0};
        const char *json;
        int tty, off = 0, r;

        if (sscanf(m->text, "exec %65s %d%n", id, &tty, &off) != 2 || m->text[off] != '\n' ||
            !ttrpc_valid_id(id) || strlen(id) > HAKO_MAX_ID_LEN)
                return error_set(ret_error, -EINVAL, "malformed exec request");
        if (m->n_fds != 3)
                return error_set(ret_error, -EINVAL, "an exec needs its three stdio fds");
        json = m->text + off + 1;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        snprintf(s->exec_id, sizeof(s->exec_id), "%s", id);
        s->tty = tty != 0;
        if (s->tty)
                (void)ioctl(m->fds[0], TIOCGWINSZ, &ws);
        req.container_id = (char *)container_id;
        req.exec_id = s->exec_id;
        req.process = (char *)json;
        req.terminal = s->tty;
        req.rows = ws.ws_row;
        req.columns = ws.ws_col;
        r = agent_call(agent, "ExecProcess", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL, ret_error);
        if (r < 0)
                return r;

        struct relay_opts ro = {
            .agent = agent,
            .container_id = container_id,
            .exec_id = s->exec_id,
            .in_fd = m->fds[0],
            .out_fd = m->fds[1],
            .err_fd = m->fds[2],
            .tty = s->tty,
            .winsize_fd = s->tty ? m->fds[0] : -1,
        };
        r = relay_new(&ro, &s->relay);
        if (r < 0)
                return error_set(ret_error, r, "cannot relay the exec's stdio: %s", strerror(-r));
        for (int i = 0; i < 3; i++)
                s->fds[i] = TAKE_FD(m->fds[i]);
        s->conn_fd = TAKE_FD(m->conn_fd);
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
        if (sscanf(buf, "signal %d", &sig) == 1 && sig > 0 && sig < 65)
                relay_signal(s->relay, sig);
        else if (!strcmp(buf, "winch"))
                relay_resize(s->relay);
}

static void on_removed(void *ud, int code, const char *msg, const ProtobufCMessage *resp)
{
        (void)ud, (void)code, (void)msg, (void)resp;
}

struct exec_session *exec_session_end(struct exec_session *s, struct agent_client *agent,
                                      const char *container_id, int exit_code)
{
        Hako__Agent__V1__RemoveProcessRequest req = HAKO__AGENT__V1__REMOVE_PROCESS_REQUEST__INIT;
        char buf[32];

        if (!s)
                return NULL;
        if (s->conn_fd >= 0) {
                snprintf(buf, sizeof(buf), "exit %d", exit_code);
                (void)control_send(s->conn_fd, buf);
        }
        s->relay = relay_free(s->relay);
        req.container_id = (char *)container_id;
        req.exec_id = s->exec_id;
        (void)agent_call_async(agent, "RemoveProcess", &req.base, NULL, on_removed, NULL);
        safe_close(s->conn_fd);
        for (int i = 0; i < 3; i++)
                safe_close(s->fds[i]);
        free(s);
        return NULL;
}
