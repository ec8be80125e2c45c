/* SPDX-License-Identifier: Apache-2.0 */
#include "run-log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "macro.h"
#include "state.h"

#define HEADER_SIZE 8
/* A reader's limit for one record: ours are at most RUN_LOG_CHUNK; anything larger is damage. */
#define RECORD_MAX     (1u << 20)
#define FOLLOW_POLL_US (100 * 1000)

void run_log_init(struct run_log *l)
{
        *l =
            (struct run_log){.dir_fd = -1, .file_fd = -1, .out_r = -1, .err_r = -1, .out_w = -1, .err_w = -1};
}

void run_log_close(struct run_log *l)
{
        safe_close(l->dir_fd);
        safe_close(l->file_fd);
        safe_close(l->out_r);
        safe_close(l->err_r);
        safe_close(l->out_w);
        safe_close(l->err_w);
        run_log_init(l);
}

int run_log_open(const char *state_dir, struct run_log *ret)
{
        struct run_log l;
        int p[2][2] = {{-1, -1}, {-1, -1}}, r;

        run_log_init(&l);
        l.dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (l.dir_fd < 0)
                return negative_errno();
        l.file_fd = openat(l.dir_fd, RUN_LOG_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
        if (l.file_fd < 0 || pipe2(p[0], O_CLOEXEC | O_NONBLOCK) < 0 ||
            pipe2(p[1], O_CLOEXEC | O_NONBLOCK) < 0) {
                r = negative_errno();
                safe_close(p[0][0]);
                safe_close(p[0][1]);
                run_log_close(&l);
                return r;
        }
        l.out_r = p[0][0];
        l.out_w = p[0][1];
        l.err_r = p[1][0];
        l.err_w = p[1][1];
        *ret = l;
        return 0;
}

/* Starts a new file once this one is full, keeping the last one (a reader following the old
 * one finishes it, then moves on). */
static void rotate(struct run_log *l)
{
        int fd;

        if (renameat(l->dir_fd, RUN_LOG_FILE, l->dir_fd, RUN_LOG_OLD) < 0)
                return;
        fd = openat(l->dir_fd, RUN_LOG_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
                return; /* keep appending to the renamed one rather than lose output */
        safe_close(l->file_fd);
        l->file_fd = fd;
        l->size = 0;
}

static void append(struct run_log *l, uint8_t stream, const void *data, size_t len)
{
        uint8_t h[HEADER_SIZE] = {
            stream, 0, 0, 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
        struct iovec iov[2] = {{h, sizeof(h)}, {(void *)data, len}};
        ssize_t n;

        if (l->size >= RUN_LOG_MAX)
                rotate(l);
        /* One writev: a reader sees whole records or a tail it waits for. A full disk drops the
         * output, as the container must not block on its log. */
        n = writev(l->file_fd, iov, 2);
        if (n > 0)
                l->size += (uint64_t)n;
}

/* Reads what one pipe has now into records. Returns false at EOF or on an error. */
static bool pump(struct run_log *l, int fd, uint8_t stream)
{
        static uint8_t buf[RUN_LOG_CHUNK];

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 && errno == EAGAIN;
                append(l, stream, buf, (size_t)n);
        }
}

static void on_out(void *userdata, short revents)
{
        struct run_log *l = userdata;

        (void)revents;
        if (!pump(l, l->out_r, 1))
                l->out_r = safe_close(l->out_r);
}

static void on_err(void *userdata, short revents)
{
        struct run_log *l = userdata;

        (void)revents;
        if (!pump(l, l->err_r, 2))
                l->err_r = safe_close(l->err_r);
}

void run_log_poll_add(struct run_log *l, struct pollset *ps)
{
        (void)pollset_add(ps, l->out_r, POLLIN, on_out, l);
        (void)pollset_add(ps, l->err_r, POLLIN, on_err, l);
}

void run_log_finish(struct run_log *l)
{
        l->out_w = safe_close(l->out_w);
        l->err_w = safe_close(l->err_w);
        if (l->out_r >= 0)
                (void)pump(l, l->out_r, 1);
        if (l->err_r >= 0)
                (void)pump(l, l->err_r, 2);
}

/* --- the reader --------------------------------------------------------------------------- */

struct reader {
        int fd;
        uint8_t *buf;
        size_t len;
        int out_fd, err_fd;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

/* Reads what the file has and writes out every whole record; a partial one waits in the buffer.
 * -EPIPE when our reader went away, -EBADMSG for a damaged file. */
static int reader_pass(struct reader *rd)
{
        for (;;) {
                uint8_t *nb;
                ssize_t n;
                size_t off = 0;

                nb = realloc(rd->buf, rd->len + RUN_LOG_CHUNK);
                if (!nb)
                        return -ENOMEM;
                rd->buf = nb;
                n = read(rd->fd, rd->buf + rd->len, RUN_LOG_CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 0;
                rd->len += (size_t)n;
                while (rd->len - off >= HEADER_SIZE) {
                        const uint8_t *h = rd->buf + off;
                        uint32_t size =
                            (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
                        if ((h[0] != 1 && h[0] != 2) || size > RECORD_MAX)
                                return -EBADMSG;
                        if (rd->len - off - HEADER_SIZE < size)
                                break;
                        if (write_all(h[0] == 1 ? rd->out_fd : rd->err_fd, h + HEADER_SIZE, size) < 0)
                                return -EPIPE;
                        off += HEADER_SIZE + size;
                }
                memmove(rd->buf, rd->buf + off, rd->len - off);
                rd->len -= off;
        }
}

static int open_in(const char *dir, const char *name)
{
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

/* Whether the log at dir/RUN_LOG_FILE is no longer the file rd reads (it was rotated). */
static bool rotated(const char *dir, int fd)
{
        _cleanup_close_ int cur = open_in(dir, RUN_LOG_FILE);
        struct stat a, b;

        return cur >= 0 && fstat(fd, &a) == 0 && fstat(cur, &b) == 0 && a.st_ino != b.st_ino;
}

int run_log_copy(const char *state_dir, bool follow, int out_fd, int err_fd)
{
        struct reader rd = {.fd = -1, .out_fd = out_fd, .err_fd = err_fd};
        int r = 0, old;

        rd.fd = open_in(state_dir, RUN_LOG_FILE);
        if (rd.fd < 0)
                return rd.fd;
        old = open_in(state_dir, RUN_LOG_OLD);
        if (old >= 0) {
                struct reader ro = {.fd = old, .out_fd = out_fd, .err_fd = err_fd};
                r = reader_pass(&ro);
                free(ro.buf);
                safe_close(old);
        }
        while (r >= 0) {
                bool alive = follow && state_lock_held(state_dir) == 1;
                r = reader_pass(&rd);
                if (r < 0 || !follow)
                        break;
                if (rotated(state_dir, rd.fd)) {
                        /* Read to the end of the old one (done above), then the new one. */
                        safe_close(rd.fd);
                        rd.len = 0;
                        rd.fd = open_in(state_dir, RUN_LOG_FILE);
                        if (rd.fd < 0) {
                                r = rd.fd;
                                break;
                        }
                        continue;
                }
                /* Its host process had gone before this last pass: all of it has been read. */
                if (!alive)
                        break;
                usleep(FOLLOW_POLL_US);
        }
        safe_close(rd.fd);
        free(rd.buf);
        return r == -EPIPE ? 0 : r;
}
