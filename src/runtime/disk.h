/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* The sandbox's scratch disk: a sparse host file, formatted ext4 on the host, attached as a
 * virtio-blk device. The guest puts what the workload writes on it (a container's writable
 * layer, the storage of engines nested inside), so that image builds write to the host's disk
 * instead of filling guest RAM, and overlayfs works on it (it does not on virtio-fs). Blocks the
 * guest frees are discarded back to the host (the file shrinks). */

#define DISK_DIR_DEFAULT  "/var/lib/hako/disks"
#define DISK_SIZE_DEFAULT (32ull << 30)
#define DISK_SIZE_MIN     (64ull << 20)
#define DISK_SIZE_MAX     (16ull << 40)

/* Creates dir/<id>-<random>.img of size bytes (sparse), opens it read-write, and starts mkfs.ext4
 * on it: the VM can be started with it meanwhile; disk_ready() waits for the file system (before
 * the guest may touch the disk). On failure nothing is left behind. */
struct disk_mkfs {
        pid_t pid; /* 0: done */
        int pidfd;
};
int disk_create(const char *dir, const char *id, uint64_t size, char **ret_path, int *ret_fd,
                struct disk_mkfs *ret_mkfs);
/* Waits for mkfs.ext4; -EIO if it failed. */
int disk_ready(struct disk_mkfs *m);
/* Kills and reaps an mkfs.ext4 still running (a sandbox that failed before its disk was ready). */
void disk_mkfs_abort(struct disk_mkfs *m);
/* Removes a disk made by disk_create; NULL or a path that is not one is ignored. */
void disk_remove(const char *path);
