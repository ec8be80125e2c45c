/* SPDX-License-Identifier: Apache-2.0 */
#include "qmp.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "timeutil.h"

void qmp_init(struct qmp *q, int fd)
{
        q->fd = fd;
        q->len = 0;
        q->negotiated = 0;
}

/* Returns the next line as a parsed JSON object. */
static int qmp_read_msg(struct qmp *q, long long deadline, json_t **ret)
{
        for (;;) {
                char *nl = memchr(q->buf, '\n', q->len);
                if (nl) {
                        size_t linelen = (size_t)(nl - q->buf);
                        json_error_t err;
                        json_t *j = json_loadb(q->buf, linelen, JSON_REJECT_DUPLICATES, &err);
                        memmove(q->buf, nl + 1, q->len - linelen - 1);
                        q->len -= linelen + 1;
                        if (!j || !json_is_object(j)) {
                                json_decref(j);
                                return -EBADMSG;
                        }
                        *ret = j;
                        return 0;
                }
                if (q->len == sizeof(q->buf))
                        return -EMSGSIZE;
                long long left = deadline - mono_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd p = {.fd = q->fd, .events = POLLIN};
                int r = poll(&p, 1, (int)left);
                if (r < 0 && errno != EINTR)
                        return negative_errno();
                if (r <= 0)
                        continue;
                ssize_t n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -ECONNRESET;
                q->len += (size_t)n;
        }
}

static int qmp_send_fd(struct qmp *q, const char *command, const char *args_json, int fd);

static int qmp_send(struct qmp *q, const char *command, const char *args_json)
{
        return qmp_send_fd(q, command, args_json, -1);
}

static int qmp_send_fd(struct qmp *q, const char *command, const char *args_json, int fd)
{
        _cleanup_free_ char *line = NULL;
        int len;

        if (args_json)
                len = asprintf(&line, "{\"execute\":\"%s\",\"arguments\":%s}\n", command, args_json);
        else
                len = asprintf(&line, "{\"execute\":\"%s\"}\n", command);
        if (len < 0)
                return -ENOMEM;
        if (fd >= 0) {
                /* The fd rides on the command's first byte (QMP's getfd takes it from there). */
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int))];
                } control = {0};
                struct iovec iov = {line, (size_t)len};
                struct msghdr msg = {.msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = &control,
                                     .msg_controllen = sizeof(control)};
                struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
                ssize_t n;
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
                do
                        n = sendmsg(q->fd, &msg, MSG_NOSIGNAL);
                while (n < 0 && errno == EINTR);
                if (n < 0)
                        return negative_errno();
                if (n == len)
                        return 0;
                memmove(line, line + n, (size_t)(len - n));
                len -= (int)n;
        }
        for (int off = 0; off < len;) {
                ssize_t n = write(q->fd, line + off, (size_t)(len - off));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                off += (int)n;
        }
        return 0;
}

static int qmp_wait_reply(struct qmp *q, long long deadline, json_t **ret_return, char **ret_error)
{
        for (;;) {
                json_t *j = NULL;
                int r = qmp_read_msg(q, deadline, &j);
                if (r < 0)
                        return r;
                json_t *rv = json_object_get(j, "return");
                if (rv) {
                        if (ret_return)
                                *ret_return = json_incref(rv);
                        json_decref(j);
                        return 0;
                }
                json_t *e = json_object_get(j, "error");
                if (e) {
                        const char *desc = json_string_value(json_object_get(e, "desc"));
                        if (ret_error)
                                *ret_error = strdup(desc ? desc : "unknown QMP error");
                        json_decref(j);
                        return -EIO;
                }
                json_decref(j); /* greeting or event */
        }
}

int qmp_execute_json(struct qmp *q, const char *command, const char *args_json, int timeout_ms,
                     json_t **ret_return, char **ret_error)
{
        long long deadline = mono_ms() + timeout_ms;
        int r;

        if (!q->negotiated) {
                r = qmp_send(q, "qmp_capabilities", NULL);
                if (r < 0)
                        return r;
                r = qmp_wait_reply(q, deadline, NULL, ret_error);
                if (r < 0)
                        return r;
                q->negotiated = 1;
        }
        r = qmp_send(q, command, args_json);
        if (r < 0)
                return r;
        return qmp_wait_reply(q, deadline, ret_return, ret_error);
}

int qmp_getfd(struct qmp *q, const char *name, int fd, int timeout_ms, char **ret_error)
{
        long long deadline = mono_ms() + timeout_ms;
        _cleanup_free_ char *args = NULL;
        int r;

        r = qmp_execute(q, "query-status", NULL, timeout_ms, ret_error); /* negotiated first */
        if (r < 0)
                return r;
        if (asprintf(&args, "{\"fdname\":\"%s\"}", name) < 0)
                return -ENOMEM;
        r = qmp_send_fd(q, "getfd", args, fd);
        if (r < 0)
                return r;
        return qmp_wait_reply(q, deadline, NULL, ret_error);
}

int qmp_execute(struct qmp *q, const char *command, const char *args_json, int timeout_ms, char **ret_error)
{
        return qmp_execute_json(q, command, args_json, timeout_ms, NULL, ret_error);
}

int qmp_query_string(struct qmp *q, const char *command, const char *key, int timeout_ms, char *ret,
                     size_t size)
{
        json_t *rv = NULL;
        int r = qmp_execute_json(q, command, NULL, timeout_ms, &rv, NULL);

        if (r < 0)
                return r;
        const char *v = json_string_value(json_object_get(rv, key));
        if (!v) {
                json_decref(rv);
                return -EBADMSG;
        }
        snprintf(ret, size, "%s", v);
        json_decref(rv);
        return 0;
}
