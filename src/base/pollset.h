/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <poll.h>
#include <stddef.h>

/* One round of poll(2) over fds registered afresh each round, each with its callback: the host
 * processes (hako run, the OCI host process, the shim) rebuild their set from what they serve
 * right now, so nothing stays registered for an object that is gone or no longer wants input.
 * A callback must not free what a later entry of the same round points at: owners free such
 * objects before the next round is built. */

#define POLLSET_MAX 512

typedef void (*pollset_fn)(void *userdata, short revents);

struct pollset {
        struct pollfd fds[POLLSET_MAX];
        struct {
                pollset_fn fn;
                void *userdata;
        } cb[POLLSET_MAX];
        size_t n;
        int timeout_ms; /* -1: none */
};

void pollset_reset(struct pollset *ps);
/* fd < 0 is skipped. -ENOSPC when the set is full. */
int pollset_add(struct pollset *ps, int fd, short events, pollset_fn fn, void *userdata);
/* Lowers the round's timeout to ms (>= 0). */
void pollset_timeout(struct pollset *ps, long long ms);
/* Polls and runs the callbacks of ready fds in order. 0 (also on EINTR or a timeout), -errno. */
int pollset_wait(struct pollset *ps);
