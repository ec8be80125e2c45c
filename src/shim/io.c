/* SPDX-License-Identifier: Apache-2.0 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "spawn.h"
#include "strv.h"

#define LOGGER_READY_MS 10000
#define URI_MAX         4096

/* %XX escapes of a URI's path and query. */
static int uri_unescape(const char *in, size_t len, char **ret)
{
        char *out = malloc(len + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                unsigned v;
                if (in[i] == '%' && i + 2 < len + 1 && sscanf(in + i + 1, "%2x", &v) == 1 && v > 0) {
                        *o++ = (char)v;
                        i += 2;
                } else
                        *o++ = in[i] == '+' ? ' ' : in[i];
        }
        *o = 0;
        *ret = out;
        return 0;
}

/* A stream named by path: a fifo (ours to write into, or read from for stdin) or a file. */
static int open_path(const char *path, bool input, int *ret_fd)
{
        struct stat st;
        int fd;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (S_ISFIFO(st.st_mode))
                /* Read-write for output: the open never waits for a reader, and the process's
                 * output waits (backpressure) while nobody reads. Read-only for input: EOF comes
                 * when containerd's end closes. */
                fd = open(path, (input ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_CLOEXEC);
        else if (input)
                fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        else
                fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        *ret_fd = fd;
        return 0;
}

static int start_logger(struct shim_stdio *io, const char *uri, const char *id, const char *ns,
                        char **ret_error)
{
        const char *rest = uri + strlen("binary://");
        const char *q = strchr(rest, '?');
        _cleanup_free_ char *path = NULL, *env_id = NULL, *env_ns = NULL;
        struct strv argv = {0};
        int out[2] = {-1, -1}, err[2] = {-1, -1}, ready[2] = {-1, -1}, r;

        r = uri_unescape(rest, q ? (size_t)(q - rest) : strlen(rest), &path);
        if (r < 0)
                return r;
        if (path[0] != '/')
                return error_set(ret_error, -EINVAL, "logging binary %s is not an absolute path", path);
        strv_push(&argv, path);
        /* Each query key, then its value (containerd's order). */
        for (const char *s = q ? q + 1 : NULL; s && *s;) {
                size_t n = strcspn(s, "&");
                const char *eq = memchr(s, '=', n);
                char *k = NULL, *v = NULL;
                if (uri_unescape(s, eq ? (size_t)(eq - s) : n, &k) >= 0)
                        strv_push(&argv, k);
                if (eq && uri_unescape(eq + 1, n - (size_t)(eq + 1 - s), &v) >= 0)
                        strv_push(&argv, v);
                free(k);
                free(v);
                s += n;
                if (*s == '&')
                        s++;
        }
        if (asprintf(&env_id, "CONTAINER_ID=%s", id) < 0 ||
            asprintf(&env_ns, "CONTAINER_NAMESPACE=%s", ns) < 0 || strv_status(&argv) < 0) {
                strv_done(&argv);
                return -ENOMEM;
        }
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
                r = negative_errno();
                goto out;
        }
        int pass[3] = {out[0], err[0], ready[1]};
        struct spawn_opts o = {
            .argv = (const char *const *)argv.v,
            .pass_fds = pass,
            .n_pass_fds = 3,
            .stdin_fd = -1,
            .stdout_fd = -1,
            .stderr_fd = -1,
            .new_session = 1,
            .envp = (const char *const[]){env_id, env_ns, NULL},
        };
        r = spawn_process(&o, &io->logger_pid, &io->logger_pidfd);
        if (r < 0) {
                error_set(ret_error, r, "cannot start the logging binary %s: %s", path, strerror(-r));
                goto out;
        }
        ready[1] = safe_close(ready[1]);
        /* It says it is ready by closing fd 5 (or writing to it). */
        struct pollfd pf = {.fd = ready[0], .events = POLLIN};
        if (poll(&pf, 1, LOGGER_READY_MS) <= 0) {
                r = error_set(ret_error, -ETIMEDOUT, "the logging binary %s did not get ready", path);
                kill(io->logger_pid, SIGKILL);
                goto out;
        }
        io->out = TAKE_FD(out[1]);
        io->err = TAKE_FD(err[1]);
        fd_set_nonblock(io->out, 1);
        fd_set_nonblock(io->err, 1);
        r = 0;
out:
        for (int i = 0; i < 2; i++) {
                safe_close(out[i]);
                safe_close(err[i]);
                safe_close(ready[i]);
        }
        strv_done(&argv);
        return r;
}

int shim_stdio_open(struct shim_stdio *io, const char *id, const char *ns, const char *in, const char *out,
                    const char *err, bool terminal, char **ret_error)
{
        int r;

        *io = (struct shim_stdio){.in = -1, .out = -1, .err = -1, .logger_pidfd = -1, .terminal = terminal};
        if (strlen(in) > URI_MAX || strlen(out) > URI_MAX || strlen(err) > URI_MAX)
                return error_set(ret_error, -ENAMETOOLONG, "stdio path too long");
        io->stdin_path = strdup(in);
        io->stdout_path = strdup(out);
        io->stderr_path = strdup(err);
        if (!io->stdin_path || !io->stdout_path || !io->stderr_path)
                return -ENOMEM;
        if (*in) {
                r = open_path(in, true, &io->in);
                if (r < 0)
                        return error_set(ret_error, r, "cannot open stdin %s: %s", in, strerror(-r));
        }
        if (!strncmp(out, "binary://", 9))
                return start_logger(io, out, id, ns, ret_error);
        if (!strncmp(out, "file://", 7)) {
                _cleanup_free_ char *path = NULL, *dir = NULL;
                r = uri_unescape(out + 7, strlen(out + 7), &path);
                if (r < 0)
                        return r;
                if (path[0] != '/')
                        return error_set(ret_error, -EINVAL, "log file %s is not an absolute path", path);
                dir = strdup(path);
                if (!dir)
                        return -ENOMEM;
                *strrchr(dir, '/') = 0;
                if (*dir)
                        (void)mkdir_p(dir, 0755);
                io->out = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0644);
                if (io->out < 0)
                        return error_set(ret_error, negative_errno(), "cannot open log file %s: %s", path,
                                         strerror(errno));
                io->err = fcntl(io->out, F_DUPFD_CLOEXEC, 3);
                return io->err < 0 ? negative_errno() : 0;
        }
        if (*out) {
                r = open_path(out, false, &io->out);
                if (r < 0)
                        return error_set(ret_error, r, "cannot open stdout %s: %s", out, strerror(-r));
        }
        if (*err && !terminal) {
                r = open_path(err, false, &io->err);
                if (r < 0)
                        return error_set(ret_error, r, "cannot open stderr %s: %s", err, strerror(-r));
        }
        return 0;
}

void shim_stdio_close(struct shim_stdio *io)
{
        io->in = safe_close(io->in);
        io->out = safe_close(io->out);
        io->err = safe_close(io->err);
}

void shim_stdio_done(struct shim_stdio *io)
{
        shim_stdio_close(io);
        if (io->logger_pid > 0) {
                /* It ends once its streams do; a stuck one is not ours to wait for. */
                struct pollfd p = {.fd = io->logger_pidfd, .events = POLLIN};
                if (poll(&p, 1, 1000) <= 0)
                        kill(io->logger_pid, SIGKILL);
                waitpid(io->logger_pid, NULL, 0);
        }
        safe_close(io->logger_pidfd);
        free(io->stdin_path);
        free(io->stdout_path);
        free(io->stderr_path);
        *io = (struct shim_stdio){.in = -1, .out = -1, .err = -1, .logger_pidfd = -1};
}
