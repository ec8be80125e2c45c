/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "containerd.pb-c.h"

/* Mounts containerd's rootfs mounts (the snapshotter's overlay or bind) on target, in the shim's
 * private mount namespace, the way containerd's mount package reads their options: known words
 * are mount flags, the rest the filesystem's data. */
/* Splits options into mount flags (*ret_flags) and the filesystem's data (comma-joined into data
 * of size bytes); -E2BIG when the data does not fit. */
int shim_mount_options(char *const *options, size_t n, unsigned long *ret_flags, char *data, size_t size);
int shim_mount_rootfs(Containerd__Types__Mount **mounts, size_t n, const char *target, char **ret_error);
