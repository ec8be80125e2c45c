/* SPDX-License-Identifier: Apache-2.0 */
#include "exec-client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "console.h"
#include "control.h"
#include "macro.h"

#define EXEC_START_TIMEOUT_MS 120000
#define EXIT_CONTAINER_GONE   (128 + SIGKILL)

int exec_client_start(const struct exec_client_opts *o, int *ret_conn, char **ret_error)
{
        _cleanup_close_ int pty = -1;
        _cleanup_free_ char *req = NULL;
        uint8_t rnd[8];
        char id[32];
        int fds[3] = {o->stdin_fd, STDOUT_FILENO, STDERR_FILENO}, r;

        if (o->tty && o->console_socket) {
                r = console_send_pty(o->console_socket, &pty);
                if (r < 0)
                        return r;
                fds[0] = fds[1] = fds[2] = pty;
        }
        /* runc does not name exec processes; the agent needs a name unique in the container. */
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -EIO;
        snprintf(id, sizeof(id), "exec-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
                 rnd[4], rnd[5], rnd[6], rnd[7]);
        if (asprintf(&req, "exec %s %d\n%s", id, o->tty, o->process_json) < 0)
                return -ENOMEM;
        return control_open_session(o->state_dir, req, fds, 3, EXEC_START_TIMEOUT_MS, ret_conn, ret_error);
}

int exec_client_wait(int conn, int signal_fd)
{
        for (;;) {
                struct pollfd fds[2] = {{.fd = conn, .events = POLLIN}, {.fd = signal_fd, .events = POLLIN}};
                char buf[64];
                int code;

                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return EXIT_CONTAINER_GONE;
                }
                if (fds[1].revents) {
                        struct signalfd_siginfo si;
                        while (read(signal_fd, &si, sizeof(si)) == sizeof(si)) {
                                if (si.ssi_signo == SIGCHLD || si.ssi_signo == SIGPIPE)
                                        continue;
                                if (si.ssi_signo == SIGWINCH)
                                        snprintf(buf, sizeof(buf), "winch");
                                else
                                        snprintf(buf, sizeof(buf), "signal %u", si.ssi_signo);
                                (void)control_send(conn, buf);
                        }
                }
                if (fds[0].revents) {
                        int n = control_recv(conn, buf, sizeof(buf));
                        if (n == -EAGAIN || n == -EINTR)
                                continue;
                        if (n <= 0)
                                return EXIT_CONTAINER_GONE;
                        if (sscanf(buf, "exit %d", &code) == 1)
                                return code & 0xff;
                }
        }
}
