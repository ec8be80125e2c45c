/* SPDX-License-Identifier: Apache-2.0 */
#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include "macro.h"

int netns_enter(const char *path, bool new_ns)
{
        _cleanup_close_ int fd = -1;

        if (path && *path) {
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                return setns(fd, CLONE_NEWNET) < 0 ? negative_errno() : 0;
        }
        if (new_ns && unshare(CLONE_NEWNET) < 0)
                return negative_errno();
        return 0;
}

static bool same_file(const struct stat *a, const char *path)
{
        struct stat b;

        return stat(path, &b) == 0 && a->st_ino == b.st_ino && a->st_dev == b.st_dev;
}

bool netns_is_host(const char *path, bool new_ns)
{
        struct stat st;

        if (!path || !*path)
                return !new_ns;
        return stat(path, &st) == 0 &&
               (same_file(&st, "/proc/self/ns/net") || same_file(&st, "/proc/1/ns/net"));
}

bool netns_current_is_host(void)
{
        struct stat st;

        return stat("/proc/self/ns/net", &st) == 0 && same_file(&st, "/proc/1/ns/net");
}
