/* SPDX-License-Identifier: Apache-2.0 */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"

/* Raw syscalls only from here on where glibc keeps process-wide state: this runs in a child made
 * by a raw clone3 (spawn.h). */

static int bind_node(const char *src, const char *dst, unsigned long extra, bool dir)
{
        if (dir) {
                if (mkdir(dst, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
        } else {
                int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                if (fd < 0)
                        return negative_errno();
                close(fd);
        }
        if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
                return negative_errno();
        if (extra && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | extra, NULL) < 0)
                return negative_errno();
        return 0;
}

/* /lib, /lib64, /bin, /sbin: the same links as the host's (merged /usr), or read-only binds. */
static int top_level(const char *name)
{
        char host[64], link[64];
        struct stat st;
        ssize_t n;

        snprintf(host, sizeof(host), "/%s", name);
        if (lstat(host, &st) < 0)
                return 0;
        if (S_ISLNK(st.st_mode)) {
                n = readlink(host, link, sizeof(link) - 1);
                if (n < 0)
                        return negative_errno();
                link[n] = 0;
                return symlink(link, name) < 0 ? negative_errno() : 0;
        }
        return S_ISDIR(st.st_mode) ? bind_node(host, name, MS_RDONLY | MS_NOSUID | MS_NODEV, true) : 0;
}

/* mkdir -p of path's parent directories, relative to the current directory. */
static int make_parents(const char *path)
{
        char buf[512];
        size_t n = strlen(path);

        if (n >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                if (*buf && mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        return 0;
}

static gid_t group_of(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 ? st.st_gid : (gid_t)-1;
}

static int build_root(const struct jail *j)
{
        static const char *const devs[] = {"null", "zero", "full", "random", "urandom"};
        int r;

        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return negative_errno();
        if (mount("jail", j->dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m,nr_inodes=256") < 0)
                return negative_errno();
        if (chdir(j->dir) < 0)
                return negative_errno();
        if (mkdir("dev", 0755) < 0 || mkdir("proc", 0555) < 0 || mkdir("hako", 0755) < 0 ||
            mkdir("etc", 0755) < 0 || mkdir("tmp", 01777) < 0)
                return negative_errno();
        r = bind_node("/usr", "usr", MS_RDONLY | MS_NOSUID | MS_NODEV, true);
        if (r < 0)
                return r;
        for (const char *const *t = (const char *const[]){"lib", "lib64", "bin", "sbin", NULL}; *t; t++)
                if ((r = top_level(*t)) < 0)
                        return r;
        if (access("/etc/ld.so.cache", F_OK) == 0 &&
            (r = bind_node("/etc/ld.so.cache", "etc/ld.so.cache", MS_RDONLY, false)) < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(devs); i++) {
                char src[32], dst[32];
                snprintf(src, sizeof(src), "/dev/%s", devs[i]);
                snprintf(dst, sizeof(dst), "dev/%s", devs[i]);
                if ((r = bind_node(src, dst, MS_NOSUID | MS_NOEXEC, false)) < 0)
                        return r;
        }
        if (j->kvm && (r = bind_node("/dev/kvm", "dev/kvm", MS_NOSUID | MS_NOEXEC, false)) < 0)
                return r;
        if (j->vhost_vsock &&
            (r = bind_node("/dev/vhost-vsock", "dev/vhost-vsock", MS_NOSUID | MS_NOEXEC, false)) < 0)
                return r;
        if ((r = bind_node(j->kernel, "hako/vmlinux", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, false)) <
                0 ||
            (r = bind_node(j->initrd, "hako/initrd", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, false)) <
                0)
                return r;
        /* The console log keeps its host path, so QEMU's command line still names its sandbox's
         * state directory (ps, the tools that find a sandbox's VM by it); only the empty
         * directories leading to it exist. */
        if (j->console[0] != '/' || strstr(j->console, "/../"))
                return -EINVAL;
        if ((r = make_parents(j->console + 1)) < 0 ||
            (r = bind_node(j->console, j->console + 1, MS_NOSUID | MS_NODEV | MS_NOEXEC, false)) < 0)
                return r;
        /* A fresh /proc of the new PID namespace: QEMU reopens handed-in files as /proc/self/fd/N. */
        if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
                return negative_errno();
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return negative_errno();
        if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
                return negative_errno();
        if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
                return negative_errno();
        return 0;
}

static int set_limits(const struct jail *j)
{
        const struct {
                int resource;
                rlim_t value; /* RLIM_INFINITY: left alone */
        } limits[] = {
            {RLIMIT_NOFILE, 4096},
            {RLIMIT_NPROC, 1024}, /* threads of this uid: vCPUs, I/O workers, RCU */
            {RLIMIT_AS, j->address_space ? j->address_space : RLIM_INFINITY},
            {RLIMIT_CORE, 0}, /* a core dump would hold guest memory */
        };

        /* Only ever lowered: raising a hard limit needs CAP_SYS_RESOURCE, which the host's root
         * may not have. */
        for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
                struct rlimit rl;
                if (limits[i].value == RLIM_INFINITY || getrlimit(limits[i].resource, &rl) < 0)
                        continue;
                rl.rlim_max = MIN(rl.rlim_max, limits[i].value);
                rl.rlim_cur = MIN(rl.rlim_cur, rl.rlim_max);
                if (setrlimit(limits[i].resource, &rl) < 0)
                        return negative_errno();
        }
        return 0;
}

static int drop_identity(const struct jail *j)
{
        gid_t groups[2];
        size_t n = 0;

        if (j->kvm && group_of("/dev/kvm") != (gid_t)-1 && group_of("/dev/kvm") != 0)
                groups[n++] = group_of("/dev/kvm");
        if (j->vhost_vsock && group_of("/dev/vhost-vsock") != (gid_t)-1 && group_of("/dev/vhost-vsock") != 0)
                groups[n++] = group_of("/dev/vhost-vsock");
        /* Every capability out of the bounding set, so that nothing can regain one. */
        for (int cap = 0; cap <= 63; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return negative_errno();
        if (syscall(SYS_setgroups, n, groups) < 0 || syscall(SYS_setresgid, j->gid, j->gid, j->gid) < 0 ||
            syscall(SYS_setresuid, j->uid, j->uid, j->uid) < 0)
                return negative_errno();
        /* Leaving uid 0 cleared the permitted and effective sets; the ambient set goes too. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return negative_errno();
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return negative_errno();
        return 0;
}

int jail_enter(void *userdata)
{
        const struct jail *j = userdata;
        int r;

        r = build_root(j);
        if (r < 0)
                return r;
        r = set_limits(j);
        if (r < 0)
                return r;
        return drop_identity(j);
}
