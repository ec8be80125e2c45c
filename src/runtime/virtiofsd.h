/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One virtiofsd per sandbox serves a directory under the sandbox state. What it exposes (the
 * container rootfs, volumes) is bind-mounted in a mount namespace private to virtiofsd, so the
 * mounts vanish with it: no mount can outlive a sandbox, even after `kill -9` of hako. */
struct virtiofsd_share {
        const char *host_path; /* a directory or a file */
        const char *name;      /* relative path inside the shared directory, e.g. "vol/0" */
        bool readonly;
};

struct virtiofsd {
        pid_t pid;
        int pidfd;
        char *socket_path;
        char *shared_dir;
        int qemu_fd; /* connected to virtiofsd's socket: QEMU's vhost-user end */
};

#define VIRTIOFSD_BINARY "/usr/lib/qemu/virtiofsd"

int virtiofsd_start(const char *state_dir, const struct virtiofsd_share *shares, size_t n_shares,
                    struct virtiofsd *ret);
void virtiofsd_stop(struct virtiofsd *v);
const char *virtiofsd_binary(void);
