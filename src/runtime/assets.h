/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Where the guest kernel and initrd are: $HAKO_KERNEL / $HAKO_INITRD, else $HAKO_GUEST_DIR, else
 * the installed data directory. Returns malloc'd paths; -ENOENT names the missing one. */
int assets_find(char **ret_kernel, char **ret_initrd, char **ret_error);
const char *assets_dir(void);
