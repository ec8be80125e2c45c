/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads a whole file of at most `max` bytes, NUL-terminated. -EFBIG if it is larger. */
int read_full_file(const char *path, size_t max, char **ret_data, size_t *ret_len);
/* Writes via a temporary file and rename(), so readers never see half a file. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
int mkdir_p(const char *path, mode_t mode);
/* Removes a tree without crossing into other filesystems (never follows symlinks). */
int rm_rf(const char *path);
/* The same for `name` in the directory dir_fd. */
int rm_rf_at(int dir_fd, const char *name);
int fd_set_nonblock(int fd, int nonblock);
/* The last `lines` lines of a text file, for error messages (console tails). */
int read_file_tail(const char *path, unsigned lines, char **ret);

/* Points fds 0-2 at /dev/null (a host process must not keep its caller's pipes open). */
void stdio_to_null(void);
/* Closes every fd above 2 except the n in keep: fds a caller leaked to a long-lived process
 * (no O_CLOEXEC) would stay open as long as it runs, and a caller waiting for EOF would hang. */
void close_fds_except(const int *keep, size_t n);
