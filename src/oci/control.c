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

#define CONTROL_MAX_MSG 1024

/* State roots can be deep (a test's mktemp -d): reach the socket through /proc/self/fd so its
 * address always fits sun_path. */
static int socket_addr(int dir_fd, struct sockaddr_un *ret)
{
        *ret = (struct sockaddr_un){.sun_family = AF_UNIX};
        snprintf(ret->sun_path, sizeof(ret->sun_path), "/proc/self/fd/%d/" CONTROL_SOCKET, dir_fd);
        return 0;
}

int control_listen(const char *state_dir, int *ret_fd)
{
        _cleanup_close_ int dir_fd = -1, fd = -1;
        struct sockaddr_un sa;
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/" CONTROL_SOCKET, state_dir) < 0)
                return -ENOMEM;
        dir_fd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        unlink(path);
        socket_addr(dir_fd, &sa);
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

int control_serve_one(int listen_fd, control_handler_fn fn, void *userdata)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *error = NULL, *answer = NULL;
        char req[CONTROL_MAX_MSG + 1];
        ssize_t n;
        int r;

        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return 0;
        /* A client that connects and says nothing must not stall the container's relay. */
        set_timeout(fd, 2000);
        n = recv(fd, req, CONTROL_MAX_MSG, 0);
        if (n <= 0)
                return 0;
        req[n] = 0;
        r = fn(userdata, req, &error);
        if (asprintf(&answer, "%d %s", r, error ? error : "") < 0)
                return 0;
        (void)send(fd, answer, strlen(answer), MSG_NOSIGNAL);
        return 0;
}

int control_request(const char *state_dir, const char *request, int timeout_ms, char **ret_error)
{
        _cleanup_close_ int dir_fd = -1, fd = -1;
        struct sockaddr_un sa;
        char ans[CONTROL_MAX_MSG + 1];
        ssize_t n;
        int r = 0, off = 0;

        dir_fd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        socket_addr(dir_fd, &sa);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return errno == ECONNREFUSED || errno == ENOENT ? -ESRCH : negative_errno();
        set_timeout(fd, timeout_ms);
        if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0)
                return negative_errno();
        n = recv(fd, ans, CONTROL_MAX_MSG, 0);
        if (n < 0)
                return errno == EAGAIN ? -ETIMEDOUT : negative_errno();
        if (n == 0)
                return -ESRCH; /* the host process went away while answering */
        ans[n] = 0;
        if (sscanf(ans, "%d %n", &r, &off) < 1)
                return -EPROTO;
        if (r < 0 && ret_error && ans[off])
                *ret_error = strdup(ans + off);
        return r > 0 ? -EPROTO : r;
}
