/* SPDX-License-Identifier: Apache-2.0 */
#include "unixaddr.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

int unix_addr_in_dir(int dir_fd, const char *name, struct sockaddr_un *ret)
{
        *ret = (struct sockaddr_un){.sun_family = AF_UNIX};
        int k = snprintf(ret->sun_path, sizeof(ret->sun_path), "/proc/self/fd/%d/%s", dir_fd, name);
        return k < 0 || (size_t)k >= sizeof(ret->sun_path) ? -ENAMETOOLONG : 0;
}
