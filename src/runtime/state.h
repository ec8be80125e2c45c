/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

/* Per-sandbox state directories under a state root (default /run/hako). A directory is owned by
 * the process holding the flock on its `lock` file; a directory whose lock nobody holds belongs to
 * a process that died (kill -9) and is removed on sight, unless it records an exited container
 * that the user kept (run without --rm). */

#define STATE_ROOT_DEFAULT "/run/hako"

const char *state_root(const char *override);
/* Creates <root>/<id> atomically and locks it. -EEXIST: the id is in use (live or kept). */
int state_create(const char *root, const char *id, char **ret_dir, int *ret_lock_fd);
/* Removes dead, unkept state directories, each with what it records (scratch disk, network
 * leftovers, host cgroup); of a dead kept one, what its owner left but the record. Best effort. */
void state_gc(const char *root);
/* Removes the host cgroup a state directory records (key "host_cgroup"), if any, unless the
 * caller is in it. */
void state_release_host_cgroup(const char *dir);
/* Removes the scratch disk a record names (a sandbox that never reached its end), or one of its
 * id nobody holds that it was killed too early to name. */
void state_release_disk(const char *dir);
/* Takes away what a sandbox killed before its end left in its network namespace (a tc filter, a
 * macvtap: record.h). */
void state_release_net(const char *dir);
int state_write(const char *dir, const char *key, const char *value);
int state_read(const char *dir, const char *key, char **ret);
/* Removes a kept (exited) container's state, with what its record names (scratch disk, host
 * cgroup, network leftovers) if its owner was killed. -EBUSY if its owner still runs. */
int state_remove(const char *root, const char *id);
/* Marks a state directory as kept even when its owner dies (an OCI container stays until
 * `hako delete`, as with runc, whatever happens to its host process). */
int state_keep(const char *dir);
/* 1: its owner holds the lock (alive), 0: nobody does, -ENOENT: no lock file. */
int state_lock_held(const char *dir);
bool state_id_valid(const char *id);
/* A fresh random id (12 hex digits, like Docker's short ids). */
int state_new_id(char ret[13]);
