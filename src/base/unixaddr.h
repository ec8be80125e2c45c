/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/un.h>

/* The address of socket NAME in the directory open as dir_fd, through /proc/self/fd: a state
 * directory can be deeper than sun_path allows (docker's exec-root/runtime-hako/moby/<64 hex>).
 * -ENAMETOOLONG only for a name that does not fit even so. */
int unix_addr_in_dir(int dir_fd, const char *name, struct sockaddr_un *ret);
