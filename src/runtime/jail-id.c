/* SPDX-License-Identifier: Apache-2.0 */
#include "jail-id.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

int jail_id_acquire(uint32_t base, uint32_t count, uid_t *ret_uid, int *ret_lock_fd)
{
        uint32_t start;

        if (count == 0 || base == 0 || (uint64_t)base + count > 0xfffffffeull)
                return -EINVAL;
        if (mkdir("/run/hako", 0711) < 0 && errno != EEXIST)
                return negative_errno();
        if (mkdir(JAIL_ID_DIR, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        /* A random start: concurrent sandboxes rarely try the same uid first. */
        if (getrandom(&start, sizeof(start), 0) != (ssize_t)sizeof(start))
                start = (uint32_t)getpid();
        for (uint32_t i = 0; i < count; i++) {
                uid_t uid = base + (start + i) % count;
                char path[64];
                int fd;

                snprintf(path, sizeof(path), JAIL_ID_DIR "/%u", (unsigned)uid);
                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return negative_errno();
                if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
                        *ret_uid = uid;
                        *ret_lock_fd = fd;
                        return 0;
                }
                close(fd);
                if (errno != EWOULDBLOCK)
                        return negative_errno();
        }
        return -EAGAIN;
}
