/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The host paths a sandbox shares with its guest over virtio-fs, each (path, read-only) pair
 * once: a directory that two containers of a pod both mount (an emptyDir) is one share, so it is
 * one directory inside the guest, not two views of it through two FUSE inodes. */

#define SHARES_MAX 1024

struct share {
        char *host; /* absolute host path */
        char *name; /* below the guest's shared directory: vol/N/<the host path's last name> */
        bool readonly;
        bool mounted; /* virtiofsd serves it */
        unsigned refs;
};

struct share_table {
        struct share *v;
        size_t n;
        unsigned next; /* N of the next new name */
};

/* The share of host (a reference more if it is there already). *ret_name stays valid until its
 * last share_table_put. -ENOSPC past SHARES_MAX. */
int share_table_get(struct share_table *t, const char *host, bool readonly, const char **ret_name);
/* Drops a reference; returns true when that was the last one (the caller unmounts it; the
 * entry is gone). */
bool share_table_put(struct share_table *t, const char *name);
struct share *share_table_find(struct share_table *t, const char *name);
void share_table_done(struct share_table *t);
