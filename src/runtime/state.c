/* SPDX-License-Identifier: Apache-2.0 */
#include "state.h"

#include <ctype.h>
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
#include <time.h>
#include <unistd.h>

#include "disk.h"
#include "fileio.h"
#include "host-cgroup.h"
#include "macro.h"
#include "record.h"
#include "timeutil.h"
#include "ttrpc.h"

/* How long a final removal waits for what a killed owner's children still hold (a scratch
 * disk being made: mkfs.ext4 dies a moment after its parent). */
#define ORPHAN_WAIT_MS 1000

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

/* Whether name is a scratch disk of sandbox id: "<id>-XXXXXXXX.img" (disk.c). */
static bool disk_of(const char *name, const char *id)
{
        size_t n = strlen(id);

        if (strncmp(name, id, n) != 0 || name[n] != '-')
                return false;
        name += n + 1;
        for (int i = 0; i < 8; i++)
                if (!isxdigit((unsigned char)name[i]))
                        return false;
        return !strcmp(name + 8, ".img");
}

/* Removes dir_fd/name if nobody has it open: a write lease is granted only on a file no other
 * open file description refers to. -EAGAIN: in use. */
static int remove_unused(int dir_fd, const char *name)
{
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        int r;

        if (fd < 0)
                return negative_errno();
        if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0)
                return negative_errno();
        r = unlinkat(dir_fd, name, 0) < 0 ? negative_errno() : 0;
        (void)fcntl(fd, F_SETLEASE, F_UNLCK);
        return r;
}

/* A scratch disk of sandbox id that its record does not name: the owner was killed between
 * making it and recording it (disk_create runs mkfs.ext4 first). One nobody holds is an orphan;
 * a live sandbox of that id (under another state root) holds its own open for its whole life.
 * Waits up to wait_ms for holders on their way out. */
static void release_orphan_disks(const char *id, int wait_ms)
{
        long long deadline = mono_ms() + wait_ms;
        struct dirent *de;
        DIR *d;

        if (!*id)
                return;
        d = opendir(DISK_DIR_DEFAULT);
        if (!d)
                return;
        while ((de = readdir(d)))
                if (disk_of(de->d_name, id))
                        while (remove_unused(dirfd(d), de->d_name) == -EAGAIN && mono_ms() < deadline)
                                nanosleep(&(struct timespec){.tv_nsec = 20L * 1000 * 1000}, NULL);
        closedir(d);
}

static void release_disk(const char *dir, const char *id, int wait_ms)
{
        _cleanup_free_ char *path = NULL;

        if (state_read(dir, "disk", &path) >= 0) {
                _cleanup_free_ char *rec = NULL;
                disk_remove(path);
                if (asprintf(&rec, "%s/disk", dir) >= 0)
                        (void)unlink(rec);
        }
        release_orphan_disks(id, wait_ms);
}

void state_release_disk(const char *dir)
{
        const char *id = strrchr(dir, '/');

        release_disk(dir, id && state_id_valid(id + 1) ? id + 1 : "", ORPHAN_WAIT_MS);
}

void state_release_net(const char *dir)
{
        _cleanup_free_ char *rec = NULL;

        if (asprintf(&rec, "%s/" NET_RECORD, dir) >= 0 && net_record_reclaim(rec) != -ENOENT)
                (void)unlink(rec);
}

void state_release_host_cgroup(const char *dir)
{
        _cleanup_free_ char *cgroup = NULL;
        const char *own = host_cgroup_own();

        /* Not the one we are in: a create that replaces a dead record of its id has entered the
         * same cgroup already. */
        if (state_read(dir, "host_cgroup", &cgroup) >= 0 && cgroup[0] == '/' &&
            (!own || strcmp(cgroup, own) != 0))
                host_cgroup_remove(cgroup);
}

/* Every change of which directory a name of the root holds (a new one renamed into place, a dead
 * one removed) happens under the root's lock, a flock of the root directory itself: a remover
 * that judged a directory dead never deletes the live one a create has put in its place
 * meanwhile. Held for a rename or an rm_rf of a small directory, never for longer. */
static int root_lock(const char *root)
{
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        int r = negative_errno();
                        close(fd);
                        return r;
                }
        return fd;
}

/* Removes <root>/<id> if nobody holds its lock (its owner died), unless it is kept; with any_kept
 * also a kept one, and one without a lock (a container that ended, or what a killed remover left).
 * What its record names goes first (the scratch disk, the network leftovers, the host cgroup),
 * outside the root's lock: that may wait for a killed owner's children to go. Then the directory,
 * if it is still a dead one: renamed away at once (.rm-<id>-<pid>), so that a remover killed in
 * the middle leaves no half of a record under its name, only something state_gc collects.
 * -EBUSY: its owner lives (or is making or removing it), -EEXIST: kept. */
static int remove_dead(const char *root, const char *id, bool any_kept)
{
        _cleanup_free_ char *dir = NULL, *grave = NULL;
        _cleanup_close_ int lock = -1;
        int r;

        if (asprintf(&dir, "%s/%s", root, id) < 0 ||
            asprintf(&grave, "%s/.rm-%s-%d", root, id, (int)getpid()) < 0)
                return -ENOMEM;
        r = lock_held(dir);
        if (r == 1)
                return -EBUSY;
        if (!any_kept && (r < 0 || kept(dir)))
                return r < 0 ? -EBUSY : -EEXIST;
        release_disk(dir, id, ORPHAN_WAIT_MS);
        state_release_net(dir);
        state_release_host_cgroup(dir);
        lock = root_lock(root);
        if (lock < 0)
                return lock;
        /* A create may have put a live one there meanwhile. */
        r = lock_held(dir);
        if (r == 1 || (!any_kept && (r < 0 || kept(dir))))
                return r == 1 || r < 0 ? -EBUSY : -EEXIST;
        (void)rm_rf(grave);
        if (rename(dir, grave) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        lock = safe_close(lock);
        return rm_rf(grave);
}

/* Half a directory: no lock and no status. Every record has both from its start (a lock before
 * it gets its name, its status first thing); only an owner killed while it removed its own is
 * left like this. */
static bool half_removed(const char *dir)
{
        _cleanup_free_ char *status = NULL;

        return lock_held(dir) == -ENOENT && state_read(dir, "status", &status) == -ENOENT;
}

int state_create(const char *root, const char *id, char **ret_dir, int *ret_lock_fd)
{
        _cleanup_free_ char *dir = NULL, *tmp = NULL, *lock = NULL, *lock_new = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (!state_id_valid(id))
                return -EINVAL;
        r = mkdir_p(root, 0711);
        if (r < 0)
                return r;
        if (asprintf(&dir, "%s/%s", root, id) < 0 ||
            asprintf(&tmp, "%s/.tmp-%s-%d", root, id, (int)getpid()) < 0 ||
            asprintf(&lock, "%s/lock", tmp) < 0 || asprintf(&lock_new, "%s/lock.new", tmp) < 0)
                return -ENOMEM;

        /* Build the directory with its lock held under a private name, then rename it into place:
         * nobody ever sees an unlocked, half-made state directory. The lock file itself appears
         * locked: a state_gc meanwhile would take an unlocked one for a dead maker's. */
        rm_rf(tmp);
        if (mkdir(tmp, 0700) < 0)
                return negative_errno();
        fd = open(lock_new, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || flock(fd, LOCK_EX) < 0 || rename(lock_new, lock) < 0) {
                r = negative_errno();
                rm_rf(tmp);
                return r;
        }
        /* The owner's host cgroup goes with its state from the first moment it can be found. */
        if (host_cgroup_own()) {
                r = state_write(tmp, "host_cgroup", host_cgroup_own());
                if (r < 0) {
                        rm_rf(tmp);
                        return r;
                }
        }
        for (int attempt = 0; attempt < 2; attempt++) {
                _cleanup_close_ int rl = root_lock(root);
                if (rl < 0) {
                        r = rl;
                        break;
                }
                if (rename(tmp, dir) == 0) {
                        *ret_dir = TAKE_PTR(dir);
                        *ret_lock_fd = TAKE_FD(fd);
                        return 0;
                }
                if (errno != EEXIST && errno != ENOTEMPTY) {
                        r = negative_errno();
                        break;
                }
                rl = safe_close(rl);
                /* Its owner died without cleaning up: the name is free again. */
                r = remove_dead(root, id, false);
                if (r < 0) {
                        r = -EEXIST;
                        break;
                }
        }
        rm_rf(tmp);
        return r < 0 ? r : -EEXIST;
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
                if (de->d_name[0] == '.') { /* a .tmp- (.net-) directory of a process that died */
                        if (lock_held(dir) == 0 ||
                            (lock_held(dir) == -ENOENT && !tmp_owner_alive(de->d_name)))
                                rm_rf(dir);
                        continue;
                }
                if (half_removed(dir)) {
                        (void)remove_dead(root, de->d_name, true);
                        continue;
                }
                if (lock_held(dir) != 0)
                        continue;
                if (!kept(dir)) {
                        (void)remove_dead(root, de->d_name, false);
                        continue;
                }
                /* A kept record stays for `hako delete`; what its killed owner left goes now (the
                 * network leftovers steal the caller's traffic meanwhile). */
                release_disk(dir, de->d_name, 0);
                state_release_net(dir);
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
        if (access(dir, F_OK) < 0)
                return -ENOENT;
        r = remove_dead(root, id, true);
        return r == -ENOENT ? 0 : r;
}
