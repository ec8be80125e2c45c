/* SPDX-License-Identifier: Apache-2.0 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "unixaddr.h"

/* Answers are short; the data of one (stats) is a few hundred bytes. */
#define CONTROL_MAX_ANSWER 4096

int control_listen(const char *state_dir, int *ret_fd)
{
        _cleanup_close_ int dir_fd = -1, fd = -1;
        struct sockaddr_un sa;
        _cleanup_free_ char *path = NULL;
        int r, size = CONTROL_MAX_MSG * 2;

        if (asprintf(&path, "%s/" CONTROL_SOCKET, state_dir) < 0)
                return -ENOMEM;
        dir_fd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        unlink(path);
        r = unix_addr_in_dir(dir_fd, CONTROL_SOCKET, &sa);
        if (r < 0)
                return r;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void set_timeout(int fd, int timeout_ms)
{
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Receives one message and up to CONTROL_MAX_FDS fds into m. A truncated message (too long) or
 * one with too many fds is refused. */
static int recv_msg(int fd, struct control_msg *m)
{
        union {
                char buf[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)];
                struct cmsghdr align;
        } cbuf;
        _cleanup_free_ char *text = malloc(CONTROL_MAX_MSG + 1);
        struct iovec iov = {.iov_base = text, .iov_len = CONTROL_MAX_MSG};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cbuf, .msg_controllen = sizeof(cbuf)};
        ssize_t n;

        if (!text)
                return -ENOMEM;
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return negative_errno();
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (int i = 0; i < k; i++) {
                        int f;
                        memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (m->n_fds < CONTROL_MAX_FDS)
                                m->fds[m->n_fds++] = f;
                        else
                                close(f);
                }
        }
        if (n == 0)
                return -ECONNRESET;
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
                return -EMSGSIZE;
        text[n] = 0;
        m->text = TAKE_PTR(text);
        m->len = (size_t)n;
        return 0;
}

int control_serve_one(int listen_fd, control_handler_fn fn, void *userdata)
{
        struct control_msg m = {.conn_fd = -1, .fds = {-1, -1, -1}};
        _cleanup_free_ char *error = NULL, *answer = NULL;
        int fd, r;

        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return 0;
        m.conn_fd = fd;
        /* A client that connects and says nothing must not stall the container's relay. */
        set_timeout(fd, 2000);
        r = recv_msg(fd, &m);
        if (r >= 0) {
                r = fn(userdata, &m, &error);
                if (r >= 0)
                        r = asprintf(&answer, "0 %s", m.answer_data ? m.answer_data : "");
                else
                        r = asprintf(&answer, "%d %s", r, error ? error : "");
                if (r >= 0)
                        (void)send(fd, answer, strlen(answer), MSG_NOSIGNAL);
        }
        for (int i = 0; i < m.n_fds; i++)
                safe_close(m.fds[i]);
        safe_close(m.conn_fd); /* unless the handler kept it */
        free(m.text);
        free(m.answer_data);
        return 0;
}

static int send_with_fds(int fd, const char *text, const int *fds, int n_fds)
{
        union {
                char buf[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)];
                struct cmsghdr align;
        } cbuf = {0};
        struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        if (n_fds > CONTROL_MAX_FDS)
                return -EINVAL;
        if (n_fds > 0) {
                mh.msg_control = &cbuf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n_fds);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n_fds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n_fds);
        }
        return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

static int call(const char *state_dir, const char *request, const int *fds, int n_fds, int timeout_ms,
                int *ret_fd, char **ret_data, char **ret_error)
{
        _cleanup_close_ int dir_fd = -1, fd = -1;
        struct sockaddr_un sa;
        char ans[CONTROL_MAX_ANSWER + 1];
        ssize_t n;
        int r = 0, off = 0, size = CONTROL_MAX_MSG * 2;

        if (strlen(request) > CONTROL_MAX_MSG)
                return -E2BIG;
        dir_fd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        r = unix_addr_in_dir(dir_fd, CONTROL_SOCKET, &sa);
        if (r < 0)
                return r;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return errno == ECONNREFUSED || errno == ENOENT ? -ESRCH : negative_errno();
        set_timeout(fd, timeout_ms);
        r = send_with_fds(fd, request, fds, n_fds);
        if (r < 0)
                return r;
        n = recv(fd, ans, CONTROL_MAX_ANSWER, 0);
        if (n < 0)
                return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
        if (n == 0)
                return -ESRCH; /* the host process went away while answering */
        ans[n] = 0;
        if (sscanf(ans, "%d %n", &r, &off) < 1 || r > 0)
                return -EPROTO;
        if (r < 0) {
                if (ret_error && ans[off])
                        *ret_error = strdup(ans + off);
                return r;
        }
        if (ret_data) {
                *ret_data = strdup(ans + off);
                if (!*ret_data)
                        return -ENOMEM;
        }
        if (ret_fd) {
                set_timeout(fd, 0); /* sessions wait as long as the process runs */
                *ret_fd = TAKE_FD(fd);
        }
        return 0;
}

int control_request(const char *state_dir, const char *request, int timeout_ms, char **ret_error)
{
        return call(state_dir, request, NULL, 0, timeout_ms, NULL, NULL, ret_error);
}

int control_request_data(const char *state_dir, const char *request, int timeout_ms, char **ret_data,
                         char **ret_error)
{
        return call(state_dir, request, NULL, 0, timeout_ms, NULL, ret_data, ret_error);
}

int control_open_session(const char *state_dir, const char *request, const int *fds, int n_fds,
                         int timeout_ms, int *ret_fd, char **ret_error)
{
        return call(state_dir, request, fds, n_fds, timeout_ms, ret_fd, NULL, ret_error);
}

int control_send(int fd, const char *text)
{
        return send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? negative_errno() : 0;
}

int control_recv(int fd, char *buf, size_t size)
{
        ssize_t n;

        if (size == 0)
                return -EINVAL;
        n = recv(fd, buf, size - 1, MSG_DONTWAIT);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        return (int)n;
}
