/* SPDX-License-Identifier: Apache-2.0 */
#include "fileio.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

int read_full_file(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 4096;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap > max)
                                return -EFBIG;
                        cap *= 2;
                        char *n = realloc(buf, cap + 1);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                }
                ssize_t k = read(fd, buf + len, cap - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                len += (size_t)k;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = 0;
        *ret_data = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        const char *p = data;

        if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = negative_errno();
                        unlink(tmp);
                        return r;
                }
                p += k;
                len -= (size_t)k;
        }
        if (rename(tmp, path) < 0) {
                int r = negative_errno();
                unlink(tmp);
                return r;
        }
        return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static int rm_rf_on(int parent_fd, const char *name, dev_t dev)
{
        struct stat st;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISDIR(st.st_mode)) {
                if (st.st_dev != dev)
                        return -EXDEV; /* a mount point: never delete into another fs */
                int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                DIR *d = fdopendir(fd);
                if (!d) {
                        int r = negative_errno();
                        close(fd);
                        return r;
                }
                int r = 0;
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                                continue;
                        int k = rm_rf_on(dirfd(d), de->d_name, dev);
                        if (k < 0 && r == 0)
                                r = k;
                }
                closedir(d);
                if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && r == 0 && errno != ENOENT)
                        r = negative_errno();
                return r;
        }
        if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int rm_rf_at(int dir_fd, const char *name)
{
        struct stat st;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return rm_rf_on(dir_fd, name, st.st_dev);
}

int rm_rf(const char *path)
{
        return rm_rf_at(AT_FDCWD, path);
}

int fd_set_nonblock(int fd, int nonblock)
{
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0)
                return negative_errno();
        flags = nonblock ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        if (fcntl(fd, F_SETFL, flags) < 0)
                return negative_errno();
        return 0;
}

int read_file_tail(const char *path, unsigned lines, char **ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        char buf[8192];
        struct stat st;
        ssize_t n;

        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        off_t off = st.st_size > (off_t)sizeof(buf) - 1 ? st.st_size - (off_t)sizeof(buf) + 1 : 0;
        n = pread(fd, buf, sizeof(buf) - 1, off);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = 0;
        char *start = buf;
        unsigned seen = 0;
        for (char *p = buf + n; p > buf; p--)
                if (p[-1] == '\n' && ++seen == lines) {
                        start = p;
                        break;
                }
        /* Console output may hold control characters; keep it printable. */
        for (char *p = start; *p; p++)
                if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
                        *p = '?';
        *ret = strdup(start);
        return *ret ? 0 : -ENOMEM;
}

void stdio_to_null(void)
{
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null < 0)
                return;
        for (int fd = 0; fd <= 2; fd++)
                dup2(null, fd);
        safe_close(null);
}

void close_fds_except(const int *keep, size_t n)
{
        int fds[1024];
        size_t k = 0;
        struct dirent *de;
        DIR *d = opendir("/proc/self/fd");

        if (!d)
                return;
        while ((de = readdir(d)) && k < ELEMENTSOF(fds)) {
                int fd = atoi(de->d_name);
                bool kept = fd <= 2 || fd == dirfd(d);
                for (size_t i = 0; i < n && !kept; i++)
                        kept = keep[i] == fd;
                if (!kept)
                        fds[k++] = fd;
        }
        closedir(d);
        for (size_t i = 0; i < k; i++)
                close(fds[i]);
}
