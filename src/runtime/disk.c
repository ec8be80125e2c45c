/* SPDX-License-Identifier: Apache-2.0 */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "macro.h"
#include "spawn.h"

#define MKFS "mkfs.ext4"

static int mkdir_parents(const char *dir)
{
        char buf[512];
        size_t n = strlen(dir);

        if (n == 0 || n >= sizeof(buf) || dir[0] != '/')
                return -EINVAL;
        memcpy(buf, dir, n + 1);
        for (char *s = buf + 1;; s++) {
                if (*s && *s != '/')
                        continue;
                char c = *s;
                *s = 0;
                if (mkdir(buf, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
                if (!c)
                        return 0;
                *s = c;
        }
}

/* mkfs.ext4 on a sparse file takes ~10 ms: lazy inode tables, no journal (the disk lives as long
 * as its sandbox; a crash throws it away), no reserved blocks, root-owned root directory. It runs
 * while QEMU starts. */
static int disk_mkfs_start(const char *path, struct disk_mkfs *ret)
{
        const char *argv[] = {
            MKFS,           "-q", "-F",
            "-m",           "0",  "-O",
            "^has_journal", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=0:0",
            path,           NULL};
        struct spawn_opts o = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};

        return spawn_process(&o, &ret->pid, &ret->pidfd);
}

int disk_ready(struct disk_mkfs *m)
{
        int status;

        if (m->pid <= 0)
                return 0;
        while (waitpid(m->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        m->pid = 0;
        m->pidfd = safe_close(m->pidfd);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

void disk_mkfs_abort(struct disk_mkfs *m)
{
        if (m->pid > 0) {
                kill(m->pid, SIGKILL);
                (void)disk_ready(m);
        }
        m->pidfd = safe_close(m->pidfd);
}

int disk_create(const char *dir, const char *id, uint64_t size, char **ret_path, int *ret_fd,
                struct disk_mkfs *ret_mkfs)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        uint32_t salt;
        int r;

        if (size < DISK_SIZE_MIN || size > DISK_SIZE_MAX)
                return -ERANGE;
        r = mkdir_parents(dir);
        if (r < 0)
                return r;
        if (getrandom(&salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
                return -EIO;
        if (asprintf(&path, "%s/%s-%08" PRIx32 ".img", dir, id, salt) < 0)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        if (ftruncate(fd, (off_t)size) < 0) {
                r = negative_errno();
                unlink(path);
                return r;
        }
        r = disk_mkfs_start(path, ret_mkfs);
        if (r < 0) {
                unlink(path);
                return r;
        }
        *ret_path = TAKE_PTR(path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void disk_remove(const char *path)
{
        size_t n = path ? strlen(path) : 0;

        if (n > 4 && path[0] == '/' && !strcmp(path + n - 4, ".img") && !strstr(path, "/../"))
                (void)unlink(path);
}
