/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "attach.h"

/* What a sandbox attached outlives it when it is killed (kill -9): a tc filter on the caller's
 * interface that steals every frame arriving there, a macvtap. Its record, a file in its state
 * directory, names the attachments and the network namespace they are in, by the path the
 * caller mounted that at (ip netns, CNI, Docker, podman), so that whoever removes the dead
 * sandbox's state takes them away (net_reclaim). A namespace without such a path was the
 * sandbox's own and went with it: nothing is recorded for it. */

/* The record's name in a sandbox's state directory. */
#define NET_RECORD "net"

/* Writes the record of the interfaces ifindex[0..n) attached (or about to be) in mode, in the
 * calling thread's network namespace, to path; removes it instead for none, or for a namespace
 * no path names. */
int net_record_write(const char *path, enum net_mode mode, const int *ifindex, size_t n);
/* Takes away what a record names, in its namespace (from a child process: the caller's own
 * namespace does not change), if the path still names that namespace. An interface whose tap is
 * busy gets up to 2 s for its holder to go (a killed sandbox's VMM dies a moment after it).
 * -ENOENT: no record. */
int net_record_reclaim(const char *path);
