/* SPDX-License-Identifier: Apache-2.0 */
#include "netns.h"

#include <fcntl.h>
#include <sched.h>

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
