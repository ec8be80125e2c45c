/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One virtiofsd per sandbox serves <state>/shared. What it exposes (container rootfs, volumes)
 * is bind-mounted under that directory in the owner's private mount namespace
 * (mountns_make_private), where the directory is a shared mount: virtiofsd's own namespace (a
 * slave copy, made by its sandbox) receives every bind added later, so the containers of a pod
 * can come and go while one virtiofsd serves them all. The mounts live only in those two
 * namespaces and vanish with them: no mount can outlive a sandbox, even after `kill -9`. */
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
        bool shared_mounted; /* shared_dir is our shared bind mount */
        int dir_fd;          /* shared_dir itself, below that bind: mount points are made here */
        int qemu_fd;         /* connected to virtiofsd's socket: QEMU's vhost-user end */
};

#define VIRTIOFSD_BINARY "/usr/lib/qemu/virtiofsd"

/* Starts virtiofsd on <state_dir>/shared with the given shares; the caller is in its private
 * mount namespace. */
int virtiofsd_start(const char *state_dir, const struct virtiofsd_share *shares, size_t n_shares,
                    struct virtiofsd *ret);
/* Adds a share to a running virtiofsd: the guest sees it at once under its name. */
int virtiofsd_share_add(struct virtiofsd *v, const struct virtiofsd_share *s);
/* Takes a share away (its mount and its mount point). */
int virtiofsd_share_remove(struct virtiofsd *v, const char *name);
/* Stops virtiofsd and unmounts every share. Safe on a zeroed or stopped struct. */
void virtiofsd_stop(struct virtiofsd *v);
const char *virtiofsd_binary(void);
