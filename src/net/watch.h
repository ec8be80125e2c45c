/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

/* Changes of the calling thread's network namespace as they happen (links, addresses, routes):
 * the caller's setup may come after create (Docker's libnetwork hooks, `docker network connect`),
 * and the guest follows it. */

/* A non-blocking netlink socket subscribed to those changes. */
int net_watch_open(int *ret_fd);
/* Reads what is pending. true: something the guest mirrors changed (or messages were lost, so
 * it may have); false: only hako's own taps, or nothing. */
bool net_watch_drain(int fd);
