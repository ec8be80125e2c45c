/* SPDX-License-Identifier: Apache-2.0 */
#include "virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
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
#include "unixaddr.h"
#include "spawn.h"

const char *virtiofsd_binary(void)
{
        const char *b = getenv("HAKO_VIRTIOFSD");
        return b && *b ? b : VIRTIOFSD_BINARY;
}

struct mount_ctx {
        const char *shared_dir;
        const struct virtiofsd_share *shares;
        size_t n;
};

static int make_mountpoint(const char *target, bool dir)
{
        _cleanup_free_ char *parent = strdup(target);
        int r;

        if (!parent)
                return -ENOMEM;
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = 0;
                r = mkdir_p(parent, 0755);
                if (r < 0)
                        return r;
        }
        if (dir)
                return mkdir(target, 0755) < 0 && errno != EEXIST ? negative_errno() : 0;
        int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        close(fd);
        return 0;
}

/* Runs in the child, between fork and exec of virtiofsd. */
static int setup_mounts(void *userdata)
{
        const struct mount_ctx *m = userdata;
        char target[4096];
        struct stat st;
        int r;

        if (unshare(CLONE_NEWNS) < 0)
                return negative_errno();
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return negative_errno();
        for (size_t i = 0; i < m->n; i++) {
                const struct virtiofsd_share *s = &m->shares[i];
                if (stat(s->host_path, &st) < 0)
                        return negative_errno();
                if (snprintf(target, sizeof(target), "%s/%s", m->shared_dir, s->name) >= (int)sizeof(target))
                        return -ENAMETOOLONG;
                r = make_mountpoint(target, S_ISDIR(st.st_mode));
                if (r < 0)
                        return r;
                if (mount(s->host_path, target, NULL, MS_BIND | MS_REC, NULL) < 0)
                        return negative_errno();
                if (s->readonly && mount(NULL, target, NULL,
                                         MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                        return negative_errno();
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
        _cleanup_free_ char *sock = NULL, *shared = NULL, *logpath = NULL, *fdarg = NULL, *srcarg = NULL;
        _cleanup_close_ int lfd = -1, cfd = -1, logfd = -1;
        int r;

        if (asprintf(&sock, "%s/virtiofsd.sock", state_dir) < 0 ||
            asprintf(&shared, "%s/shared", state_dir) < 0 ||
            asprintf(&logpath, "%s/virtiofsd.log", state_dir) < 0 ||
            asprintf(&srcarg, "source=%s", shared) < 0)
                return -ENOMEM;
        if (mkdir(shared, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        /* We listen before virtiofsd runs, so QEMU's end is connected without a race. */
        r = socket_pair_via_dir(state_dir, "virtiofsd.sock", &lfd, &cfd);
        if (r < 0)
                return r;
        logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (logfd < 0)
                return negative_errno();

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
        struct mount_ctx ctx = {.shared_dir = shared, .shares = shares, .n = n_shares};
        struct spawn_opts o = {
            .argv = argv,
            .pass_fds = &lfd,
            .n_pass_fds = 1,
            .stdin_fd = -1,
            .stdout_fd = logfd,
            .stderr_fd = logfd,
            .new_session = 1,
            .pre_exec = setup_mounts,
            .userdata = &ctx,
        };
        *ret = (struct virtiofsd){.pidfd = -1, .qemu_fd = -1};
        r = spawn_process(&o, &ret->pid, &ret->pidfd);
        if (r < 0)
                return r;
        ret->socket_path = TAKE_PTR(sock);
        ret->shared_dir = TAKE_PTR(shared);
        ret->qemu_fd = TAKE_FD(cfd);
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
        if (v->socket_path)
                unlink(v->socket_path);
        free(v->socket_path);
        free(v->shared_dir);
        v->socket_path = v->shared_dir = NULL;
}
