/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Puts the caller's terminal in raw mode for a container's pty (the guest's pty does the line
 * discipline) and restores it. One terminal per process; term_restore is idempotent. */
int term_raw(int fd);
void term_restore(void);
