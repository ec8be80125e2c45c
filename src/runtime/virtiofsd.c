/* SPDX-License-Identifier: Apache-2.0 */
#include "virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "spawn.h"
#include "unixaddr.h"

#define SHARE_NAME_MAX 256

const char *virtiofsd_binary(void)
{
        const char *b = getenv("HAKO_VIRTIOFSD");
        return b && *b ? b : VIRTIOFSD_BINARY;
}

/* A share name is ours ("rootfs", "vol/3/data", "c/ID/rootfs"), but it still never climbs. */
static bool share_name_valid(const char *name)
{
        size_t n = strlen(name);

        if (n == 0 || n >= SHARE_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
                return false;
        for (const char *p = name; *p;) {
                size_t len = strcspn(p, "/");
                if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += len;
                if (*p == '/')
                        p++;
        }
        return true;
}

/* Opens (making what is missing) the mount point `name` below the shared directory's own
 * directory dir_fd, never following a symlink: directories for every component, the last one a
 * directory or an empty file. */
static int open_mountpoint(int dir_fd, const char *name, bool dir, int *ret_fd)
{
        char buf[SHARE_NAME_MAX];
        _cleanup_close_ int cur = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        char *p = buf, *slash;

        if (cur < 0)
                return negative_errno();
        snprintf(buf, sizeof(buf), "%s", name);
        while ((slash = strchr(p, '/'))) {
                *slash = 0;
                if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                int next = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return negative_errno();
                safe_close(cur);
                cur = next;
                p = slash + 1;
        }
        if (dir) {
                if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
        } else {
                int fd = openat(cur, p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0)
                        return negative_errno();
                close(fd);
        }
        int fd = openat(cur, p, O_PATH | O_NOFOLLOW | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
        if (fd < 0)
                return negative_errno();
        *ret_fd = fd;
        return 0;
}

static int share_mount(struct virtiofsd *v, const struct virtiofsd_share *s)
{
        _cleanup_close_ int mp = -1;
        _cleanup_free_ char *path = NULL;
        struct stat st;
        int r;

        if (!share_name_valid(s->name))
                return -EINVAL;
        if (stat(s->host_path, &st) < 0)
                return negative_errno();
        /* Made in the layer below the read-only bind (which the guest cannot write to, so no
         * symlink of its own is on the way), mounted on through the bind, whose mounts
         * propagate to virtiofsd. */
        r = open_mountpoint(v->dir_fd, s->name, S_ISDIR(st.st_mode), &mp);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/%s", v->shared_dir, s->name) < 0)
                return -ENOMEM;
        if (mount(s->host_path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return negative_errno();
        if (s->readonly &&
            mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
                r = negative_errno();
                (void)umount2(path, MNT_DETACH);
                return r;
        }
        return 0;
}

/* The shared directory becomes a read-only, shared bind mount of itself: the guest cannot add
 * anything at its top (where hako makes mount points), and binds made below it later propagate
 * into virtiofsd's namespace. */
static int shared_dir_setup(const char *shared)
{
        if (mount(shared, shared, NULL, MS_BIND, NULL) < 0)
                return negative_errno();
        if (mount(NULL, shared, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0 ||
            mount(NULL, shared, NULL, MS_SHARED, NULL) < 0) {
                int r = negative_errno();
                (void)umount2(shared, MNT_DETACH);
                return r;
        }
        return 0;
}

/* A listening socket for virtiofsd and, already connected to it, QEMU's end. */
static int socket_pair_via_dir(const char *dir, const char *name, int *ret_listen, int *ret_conn)
{
        _cleanup_close_ int dir_fd = -1, lfd = -1, cfd = -1;
        struct sockaddr_un sa;
        int r;

        dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return negative_errno();
        r = unix_addr_in_dir(dir_fd, name, &sa);
        if (r < 0)
                return r;
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || cfd < 0)
                return negative_errno();
        (void)unlinkat(dir_fd, name, 0);
        if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0)
                return negative_errno();
        /* Completes against the backlog; virtiofsd accepts it once it runs. */
        if (connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return negative_errno();
        *ret_listen = TAKE_FD(lfd);
        *ret_conn = TAKE_FD(cfd);
        return 0;
}

int virtiofsd_start(const char *state_dir, const struct virtiofsd_share *shares, size_t n_shares,
                    struct virtiofsd *ret)
{
        _cleanup_free_ char *sock = NULL, *shared = NULL, *logpath = NULL, *srcarg = NULL;
        _cleanup_close_ int lfd = -1, cfd = -1, logfd = -1;
        struct virtiofsd v = {.pidfd = -1, .qemu_fd = -1, .dir_fd = -1};
        int r;

        if (asprintf(&sock, "%s/virtiofsd.sock", state_dir) < 0 ||
            asprintf(&shared, "%s/shared", state_dir) < 0 ||
            asprintf(&logpath, "%s/virtiofsd.log", state_dir) < 0 ||
            asprintf(&srcarg, "source=%s", shared) < 0)
                return -ENOMEM;
        if (mkdir(shared, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        v.dir_fd = open(shared, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (v.dir_fd < 0)
                return negative_errno();
        r = shared_dir_setup(shared);
        if (r < 0) {
                safe_close(v.dir_fd);
                return r;
        }
        v.shared_dir = TAKE_PTR(shared);
        v.shared_mounted = true;
        for (size_t i = 0; i < n_shares; i++) {
                r = share_mount(&v, &shares[i]);
                if (r < 0)
                        goto fail;
        }
        /* We listen before virtiofsd runs, so QEMU's end is connected without a race. */
        r = socket_pair_via_dir(state_dir, "virtiofsd.sock", &lfd, &cfd);
        if (r < 0)
                goto fail;
        logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (logfd < 0) {
                r = negative_errno();
                goto fail;
        }

        /* No announce_submounts: overlayfs refuses a lower dir on a FUSE automount point, and the
         * container rootfs is one of the bind mounts in the shared directory. */
        const char *argv[] = {
            virtiofsd_binary(),
            "--fd=3",
            "-o",
            srcarg,
            "-o",
            "cache=auto",
            "-o",
            "sandbox=namespace",
            "-o",
            "log_level=err",
            /* Raising the fd limit needs CAP_SYS_RESOURCE, which root may lack (containers). */
            "--rlimit-nofile=0",
            "--thread-pool-size=0",
            NULL,
        };
        struct spawn_opts o = {
            .argv = argv,
            .pass_fds = &lfd,
            .n_pass_fds = 1,
            .stdin_fd = -1,
            .stdout_fd = logfd,
            .stderr_fd = logfd,
            .new_session = 1,
        };
        r = spawn_process(&o, &v.pid, &v.pidfd);
        if (r < 0)
                goto fail;
        v.socket_path = TAKE_PTR(sock);
        v.qemu_fd = TAKE_FD(cfd);
        *ret = v;
        return 0;
fail:
        virtiofsd_stop(&v);
        return r;
}

int virtiofsd_share_add(struct virtiofsd *v, const struct virtiofsd_share *s)
{
        if (!v->shared_mounted)
                return -ESRCH;
        return share_mount(v, s);
}

int virtiofsd_share_remove(struct virtiofsd *v, const char *name)
{
        _cleanup_free_ char *path = NULL;

        if (!v->shared_mounted)
                return -ESRCH;
        if (!share_name_valid(name))
                return -EINVAL;
        if (asprintf(&path, "%s/%s", v->shared_dir, name) < 0)
                return -ENOMEM;
        if (umount2(path, MNT_DETACH) < 0)
                return negative_errno();
        /* The mount point is in the read-only layer's directory below: leave it (one empty
         * entry per share, gone with the state directory). */
        return 0;
}

void virtiofsd_stop(struct virtiofsd *v)
{
        if (v->pid > 0) {
                struct pollfd p = {.fd = v->pidfd, .events = POLLIN};
                /* It exits by itself once QEMU is gone; give it a moment, then insist. */
                if (poll(&p, 1, 200) <= 0)
                        kill(v->pid, SIGTERM);
                if (poll(&p, 1, 1000) <= 0)
                        kill(v->pid, SIGKILL);
                waitpid(v->pid, NULL, 0);
                v->pid = 0;
        }
        v->pidfd = safe_close(v->pidfd);
        v->qemu_fd = safe_close(v->qemu_fd);
        v->dir_fd = safe_close(v->dir_fd);
        /* Every share with it: they are mounted below. */
        if (v->shared_mounted)
                (void)umount2(v->shared_dir, MNT_DETACH);
        v->shared_mounted = false;
        if (v->socket_path)
                unlink(v->socket_path);
        free(v->socket_path);
        free(v->shared_dir);
        v->socket_path = v->shared_dir = NULL;
}
