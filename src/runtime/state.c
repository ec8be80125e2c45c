/* SPDX-License-Identifier: Apache-2.0 */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"
#include "fileio.h"
#include "host-cgroup.h"
#include "macro.h"
#include "ttrpc.h"

const char *state_root(const char *override)
{
        const char *e;

        if (override && *override)
                return override;
        e = getenv("HAKO_ROOT");
        return e && *e ? e : STATE_ROOT_DEFAULT;
}

bool state_id_valid(const char *id)
{
        /* The same rule the agent applies, so a host id is always a valid guest id. */
        return ttrpc_valid_id(id) && id[0] != '.';
}

int state_new_id(char ret[13])
{
        unsigned char b[6];

        if (getrandom(b, sizeof(b), 0) != sizeof(b))
                return -EIO;
        for (int i = 0; i < 6; i++)
                snprintf(ret + (ptrdiff_t)2 * i, 3, "%02x", b[i]);
        return 0;
}

int state_write(const char *dir, const char *key, const char *value)
{
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", dir, key) < 0)
                return -ENOMEM;
        return write_file_atomic(p, value, strlen(value), 0600);
}

int state_read(const char *dir, const char *key, char **ret)
{
        _cleanup_free_ char *p = NULL;
        char *data;
        size_t len;
        int r;

        if (asprintf(&p, "%s/%s", dir, key) < 0)
                return -ENOMEM;
        r = read_full_file(p, (size_t)64 * 1024, &data, &len);
        if (r < 0)
                return r;
        while (len > 0 && data[len - 1] == '\n')
                data[--len] = 0;
        *ret = data;
        return 0;
}

/* 1: someone holds the lock (alive), 0: free (owner died), < 0: no lock file. */
static int lock_held(const char *dir)
{
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -1;

        if (asprintf(&p, "%s/lock", dir) < 0)
                return -ENOMEM;
        fd = open(p, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? 1 : negative_errno();
        return 0;
}

static bool kept(const char *dir)
{
        _cleanup_free_ char *status = NULL, *keep = NULL;

        if (asprintf(&keep, "%s/keep", dir) >= 0 && access(keep, F_OK) == 0)
                return true;
        return state_read(dir, "status", &status) == 0 && !strcmp(status, "exited");
}

int state_keep(const char *dir)
{
        return state_write(dir, "keep", "");
}

int state_lock_held(const char *dir)
{
        return lock_held(dir);
}

int state_create(const char *root, const char *id, char **ret_dir, int *ret_lock_fd)
{
        _cleanup_free_ char *dir = NULL, *tmp = NULL, *lock = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (!state_id_valid(id))
                return -EINVAL;
        r = mkdir_p(root, 0711);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s/%s", root, id) < 0 ||
            asprintf(&tmp, "%s/.tmp-%s-%d", root, id, (int)getpid()) < 0 ||
            asprintf(&lock, "%s/lock", tmp) < 0)
                return -ENOMEM;

        /* Build the directory with its lock held under a private name, then rename it into place:
         * nobody ever sees an unlocked, half-made state directory. */
        rm_rf(tmp);
        if (mkdir(tmp, 0700) < 0)
                return negative_errno();
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || flock(fd, LOCK_EX) < 0) {
                r = negative_errno();
                rm_rf(tmp);
                return r;
        }
        for (int attempt = 0; attempt < 2; attempt++) {
                if (rename(tmp, dir) == 0) {
                        *ret_dir = TAKE_PTR(dir);
                        *ret_lock_fd = TAKE_FD(fd);
                        return 0;
                }
                if (errno != EEXIST && errno != ENOTEMPTY) {
                        r = negative_errno();
                        break;
                }
                r = -EEXIST;
                if (lock_held(dir) != 0 || kept(dir))
                        break;
                /* Its owner died without cleaning up: the name is free again. */
                rm_rf(dir);
        }
        rm_rf(tmp);
        return r;
}

/* A .tmp-<id>-<pid> directory has no lock file for a moment after its mkdir: while its maker
 * lives, it is not garbage (concurrent creates would otherwise remove each other's). */
static bool tmp_owner_alive(const char *name)
{
        const char *dash = strrchr(name, '-');
        char *end;
        long pid;

        if (!dash)
                return false;
        pid = strtol(dash + 1, &end, 10);
        if (*end || pid <= 0)
                return false;
        return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

void state_release_host_cgroup(const char *dir)
{
        _cleanup_free_ char *cgroup = NULL;

        if (state_read(dir, "host_cgroup", &cgroup) >= 0 && cgroup[0] == '/')
                host_cgroup_remove(cgroup);
}

void state_release_disk(const char *dir)
{
        _cleanup_free_ char *path = NULL;

        if (state_read(dir, "disk", &path) >= 0) {
                _cleanup_free_ char *rec = NULL;
                disk_remove(path);
                if (asprintf(&rec, "%s/disk", dir) >= 0)
                        (void)unlink(rec);
        }
}

void state_gc(const char *root)
{
        DIR *d = opendir(root);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *dir = NULL;
                if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
                        continue;
                if (asprintf(&dir, "%s/%s", root, de->d_name) < 0)
                        break;
                if (de->d_name[0] == '.') { /* a .tmp- directory of a process that died */
                        if (lock_held(dir) == 0 ||
                            (lock_held(dir) == -ENOENT && !tmp_owner_alive(de->d_name)))
                                rm_rf(dir);
                        continue;
                }
                if (lock_held(dir) == 0)
                        state_release_disk(dir);
                if (lock_held(dir) == 0 && !kept(dir)) {
                        /* The record is all that names it: it goes first. */
                        state_release_host_cgroup(dir);
                        rm_rf(dir);
                }
        }
        closedir(d);
}

int state_remove(const char *root, const char *id)
{
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!state_id_valid(id))
                return -EINVAL;
        if (asprintf(&dir, "%s/%s", root, id) < 0)
                return -ENOMEM;
        r = lock_held(dir);
        if (r == -ENOENT && access(dir, F_OK) < 0)
                return -ENOENT;
        if (r == 1)
                return -EBUSY;
        return rm_rf(dir);
}
