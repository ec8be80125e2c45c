/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pollset.h"

/* The output of a detached `hako run` container (`hako logs`). Its host process takes the
 * container's stdout and stderr from the relay through two pipes and appends them to
 * <state dir>/container.log in Docker's multiplexed stream format (an 8-byte header: the stream,
 * 1 or 2, three zero bytes, the length big-endian; then the bytes), so that `hako logs` gives each
 * stream back on its own fd, in the order they came. The file is rotated at RUN_LOG_MAX, the
 * previous one kept as container.log.1: a chatty container costs at most twice that in the state
 * directory, which is in memory (tmpfs). */

#define RUN_LOG_FILE  "container.log"
#define RUN_LOG_OLD   "container.log.1"
#define RUN_LOG_MAX   (8u << 20)
#define RUN_LOG_CHUNK (64u << 10) /* one record at most: one read of a pipe */

struct run_log {
        int dir_fd;
        int file_fd;
        uint64_t size;
        int out_r, err_r; /* ours to read */
        int out_w, err_w; /* the relay's to write (non-blocking, as it expects) */
};

/* Creates the (empty) log in state_dir and the pipes. */
int run_log_open(const char *state_dir, struct run_log *ret);
/* Registers the pipes' read ends for the next round. */
void run_log_poll_add(struct run_log *l, struct pollset *ps);
/* Closes the write ends and moves everything still in the pipes into the file. */
void run_log_finish(struct run_log *l);
/* Safe on a zeroed struct with fds at -1 (run_log_init). */
void run_log_close(struct run_log *l);
void run_log_init(struct run_log *l);

/* `hako logs`: copies the log of the container in state_dir to out_fd and err_fd; with follow,
 * goes on until the container's host process is gone (its state directory's lock is free).
 * -ENOENT when the container keeps no log. */
int run_log_copy(const char *state_dir, bool follow, int out_fd, int err_fd);
