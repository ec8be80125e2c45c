/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>

/* A bundle's rootfs may lack the directories its mounts go on: the pause image holds one static
 * binary and no /proc, /dev, /sys or /etc, and CRI makes its root read-only. runc creates the
 * missing mount points in the rootfs before it makes the root read-only, and leaves them there;
 * so does hako, on the host, before the rootfs is shared with the guest (read-only, maybe).
 *
 * Every mount destination of the spec that does not exist yet is made: a directory, or an empty
 * file for a bind mount of a file. A destination below another mount's destination (/dev/pts
 * under the /dev tmpfs) is left to crun, which makes it inside that mount. /dev is always made:
 * crun fills it even without a /dev mount. Paths resolve inside the rootfs (openat2
 * RESOLVE_IN_ROOT): a symlink in an untrusted image cannot make hako create anything outside. */
int rootfs_make_mountpoints(const char *rootfs, json_t *spec, char **ret_error);
