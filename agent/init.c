/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "macro.h"

/* Early setup of the guest as PID 1. */

static int mount_one(const char *source, const char *target, const char *type, unsigned long flags,
                     const char *data)
{
        (void)mkdir(target, 0755);
        if (mount(source, target, type, flags, data) < 0)
                return negative_errno();
        return 0;
}

/* The initramfs root ("rootfs") can never be pivoted away from, and crun pivot_roots into the
 * container. Bind-mounting / onto a directory and moving that over / gives the root a parent mount,
 * without copying a byte. */
static int init_move_root(void)
{
        (void)mkdir("/newroot", 0755);
        if (mount("/", "/newroot", NULL, MS_BIND, NULL) < 0)
                return negative_errno();
        if (chdir("/newroot") < 0)
                return negative_errno();
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
                return negative_errno();
        if (chroot(".") < 0)
                return negative_errno();
        if (chdir("/") < 0)
                return negative_errno();
        return 0;
}

/* crun copies itself into a sealed memfd and re-executes on every call (CVE-2019-5736), which
 * doubles its start-up cost under emulation and, under TCG, let freed copies become stale code
 * (docs/guest.md). It skips that when its binary is on a read-only mount (the initramfs must be
 * ramfs, not tmpfs: see the kernel command line), which keeps the protection: a container still
 * cannot overwrite the binary. */
static int init_protect_crun(void)
{
        if (mount(AGENT_CRUN_PATH, AGENT_CRUN_PATH, NULL, MS_BIND, NULL) < 0)
                return negative_errno();
        if (mount(NULL, AGENT_CRUN_PATH, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                  NULL) < 0)
                return negative_errno();
        return 0;
}

int agent_write_file(const char *path, const char *s)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        size_t n = strlen(s);

        if (fd < 0)
                return negative_errno();
        if (write(fd, s, n) != (ssize_t)n)
                return negative_errno();
        return 0;
}

int agent_cgroup_delegate(const char *dir)
{
        char path[PATH_MAX], buf[512], want[600] = "";
        _cleanup_close_ int fd = -1;
        ssize_t n;

        snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        for (char *save = NULL, *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
                if (strlen(want) + strlen(tok) + 3 < sizeof(want)) {
                        strcat(want, "+");
                        strcat(want, tok);
                        strcat(want, " ");
                }
        if (!*want)
                return 0;
        snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
        return agent_write_file(path, want);
}

static int init_loopback(void)
{
        struct ifreq ifr = {0};
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        strcpy(ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return negative_errno();
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return negative_errno();
        return 0;
}

static void init_console(void)
{
        int fd = open("/dev/console", O_RDWR | O_NOCTTY);

        if (fd < 0)
                return; /* keep whatever the kernel gave us */
        for (int i = 0; i < 3; i++)
                if (fd != i)
                        dup2(fd, i);
        if (fd > 2)
                close(fd);
}

int agent_init_system(void)
{
        static const struct {
                const char *source, *target, *type;
                unsigned long flags;
                const char *data;
        } mounts[] = {
            {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
            {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
            {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
            {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
            {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
            {"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
            {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
            {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
        };
        int r;

        r = init_move_root();
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
                r = mount_one(mounts[i].source, mounts[i].target, mounts[i].type, mounts[i].flags,
                              mounts[i].data);
                if (r < 0 && r != -EBUSY)
                        return r;
        }
        /* devtmpfs has its own ptmx node tied to the initial devpts instance; ours is the new one. */
        (void)unlink("/dev/ptmx");
        if (symlink("pts/ptmx", "/dev/ptmx") < 0 && errno != EEXIST)
                return negative_errno();
        init_console();
        r = init_protect_crun();
        if (r < 0)
                return r;
        (void)symlink("/proc/self/fd", "/dev/fd");
        (void)mkdir("/run/hako", 0755);
        (void)mkdir(HAKO_GUEST_CONTAINERS_DIR, 0711);
        (void)mkdir("/run/crun", 0700);
        /* Missing controllers or a missing lo only degrade; crun reports what it really needs. */
        (void)agent_cgroup_delegate("/sys/fs/cgroup");
        (void)init_loopback();
        return 0;
}

void agent_init_parse_cmdline(struct agent_config *ret_config)
{
        char buf[4096];
        _cleanup_close_ int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
        ssize_t n;

        *ret_config = (struct agent_config){0};
        if (fd < 0)
                return;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return;
        buf[n] = 0;
        for (char *save = NULL, *tok = strtok_r(buf, " \t\n", &save); tok;
             tok = strtok_r(NULL, " \t\n", &save)) {
                if (strcmp(tok, "hako.transport=vsock") == 0)
                        ret_config->vsock = true;
                else if (strcmp(tok, "hako.transport=serial") == 0)
                        ret_config->vsock = false;
                else if (strcmp(tok, "hako.debug=1") == 0)
                        ret_config->debug = true;
        }
}
