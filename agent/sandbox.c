/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/random.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "macro.h"

/* Sandbox-wide storage: the host's virtio-fs shares, mounted under /run/hako/. */

static int mkdir_p(const char *path)
{
        char buf[256];
        size_t n = strlen(path);

        if (n >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (char *s = buf + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static bool valid_mount_point(const char *p)
{
        return strncmp(p, "/run/hako/", 10) == 0 && p[10] && strlen(p) < 200 && !strstr(p, "/..") &&
               !strstr(p, "//") &&
               strncmp(p, HAKO_GUEST_CONTAINERS_DIR "/", strlen(HAKO_GUEST_CONTAINERS_DIR) + 1) != 0 &&
               strcmp(p, HAKO_GUEST_CONTAINERS_DIR) != 0;
}

static bool disk_mounted;

const char *agent_sandbox_disk_dir(void)
{
        return disk_mounted ? HAKO_GUEST_DISK_DIR : NULL;
}

/* The virtio-blk disk whose serial is `serial`, as /dev/vdX. A disk hot-added before a
 * restored guest resumed is there once the PCI rescan returned; a short wait covers udev-less
 * devtmpfs lag. */
static int find_disk(const char *serial, char *ret, size_t size)
{
        for (int attempt = 0; attempt < 500; attempt++) {
                DIR *d = opendir("/sys/block");
                struct dirent *de;

                if (!d)
                        return negative_errno();
                while ((de = readdir(d))) {
                        char path[300], buf[64] = "";
                        _cleanup_close_ int fd = -1;
                        ssize_t n;

                        if (strncmp(de->d_name, "vd", 2) != 0 || strlen(de->d_name) > 16)
                                continue;
                        snprintf(path, sizeof(path), "/sys/block/%s/serial", de->d_name);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        n = read(fd, buf, sizeof(buf) - 1);
                        if (n <= 0)
                                continue;
                        buf[strcspn(buf, "\n")] = 0;
                        if (strcmp(buf, serial) != 0)
                                continue;
                        snprintf(ret, size, "/dev/%s", de->d_name);
                        closedir(d);
                        if (access(ret, F_OK) == 0)
                                return 0;
                        d = NULL;
                        break;
                }
                if (d)
                        closedir(d);
                nanosleep(&(struct timespec){.tv_nsec = 2L * 1000 * 1000}, NULL);
        }
        return -ENODEV;
}

/* The scratch disk: ext4 made by the host. nodev: nothing on it is a device the workload may
 * open through the disk; suid stays (images built on it carry setuid programs). */
static int mount_disk(const char *serial, const char *mount_point, char **options, size_t n_options)
{
        char dev[64];
        bool discard = false;
        int r;

        if (disk_mounted || strcmp(mount_point, HAKO_GUEST_DISK_DIR) != 0)
                return -EINVAL;
        for (size_t i = 0; i < n_options; i++) {
                if (strcmp(options[i], "discard") != 0)
                        return -EINVAL;
                discard = true;
        }
        r = find_disk(serial, dev, sizeof(dev));
        if (r < 0)
                return r;
        r = mkdir_p(mount_point);
        if (r < 0)
                return r;
        /* noinit_itable: no background zeroing of the lazily made inode tables, which under
         * emulation would take CPU from the workload for nothing on a scratch disk. */
        if (mount(dev, mount_point, "ext4", MS_NODEV | MS_NOATIME,
                  discard ? "discard,noinit_itable" : "noinit_itable") < 0)
                return negative_errno();
        disk_mounted = true;
        return 0;
}

int agent_sandbox_mount_storage(const char *driver, const char *source, const char *mount_point,
                                char **options, size_t n_options)
{
        unsigned long flags = MS_NODEV;
        int r;

        if (!source || !*source || strlen(source) > 36 || !valid_mount_point(mount_point))
                return -EINVAL;
        if (strcmp(driver, "ext4") == 0)
                return mount_disk(source, mount_point, options, n_options);
        if (strcmp(driver, "virtiofs") != 0)
                return -EPROTONOSUPPORT;
        for (size_t i = 0; i < n_options; i++) {
                if (strcmp(options[i], "ro") == 0)
                        flags |= MS_RDONLY;
                else if (strcmp(options[i], "rw") == 0)
                        flags &= ~(unsigned long)MS_RDONLY;
                else if (strcmp(options[i], "nosuid") == 0)
                        flags |= MS_NOSUID;
                else if (strcmp(options[i], "noexec") == 0)
                        flags |= MS_NOEXEC;
                else
                        return -EINVAL;
        }
        r = mkdir_p(mount_point);
        if (r < 0)
                return r;
        /* A hot-added device's tag can appear a little after the PCI rescan that found it
         * (virtio-fs answers EINVAL for an unknown tag): retry for up to ~5 s. */
        for (int attempt = 0;; attempt++) {
                if (mount(source, mount_point, "virtiofs", flags, NULL) == 0)
                        return 0;
                if (errno != EINVAL || attempt >= 2500)
                        return negative_errno();
                nanosleep(&(struct timespec){.tv_nsec = 2L * 1000 * 1000}, NULL);
        }
}

int agent_sandbox_rescan_pci(void)
{
        _cleanup_close_ int fd = open("/sys/bus/pci/rescan", O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        /* Probing is synchronous: when the write returns, the new devices have their drivers. */
        if (write(fd, "1", 1) != 1)
                return negative_errno();
        return 0;
}

/* Every VM restored from one template starts with the same CRNG state; mixing in the host's fresh
 * bytes and forcing a reseed makes their random streams diverge from here on. */
int agent_sandbox_add_entropy(const uint8_t *data, size_t len)
{
        struct {
                struct rand_pool_info info;
                uint8_t buf[256];
        } in = {0};
        _cleanup_close_ int fd = -1;

        if (len == 0 || len > sizeof(in.buf))
                return -EINVAL;
        in.info.entropy_count = (int)(len * 8);
        in.info.buf_size = (int)len;
        memcpy(in.buf, data, len);
        fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (ioctl(fd, RNDADDENTROPY, &in) < 0)
                return negative_errno();
        if (ioctl(fd, RNDRESEEDCRNG) < 0)
                return negative_errno();
        return 0;
}

/* Writes "what" into every entry of dir whose state file reads "off": hot-added CPUs wait
 * offline (cpuN/online 0), memory blocks may (memoryN/state "offline"). */
static void online_all(const char *dir, const char *prefix, const char *file, const char *off, const char *on)
{
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                char path[320], buf[32] = "";
                _cleanup_close_ int fd = -1;
                ssize_t n;

                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
                    !isdigit((unsigned char)de->d_name[strlen(prefix)]))
                        continue;
                snprintf(path, sizeof(path), "%s/%s/%s", dir, de->d_name, file);
                fd = open(path, O_RDWR | O_CLOEXEC);
                if (fd < 0)
                        continue;
                n = read(fd, buf, sizeof(buf) - 1);
                if (n <= 0 || strncmp(buf, off, strlen(off)) != 0)
                        continue;
                (void)!pwrite(fd, on, strlen(on), 0);
        }
        closedir(d);
}

int agent_sandbox_online(uint32_t *ret_cpus, uint64_t *ret_memory_mib)
{
        struct sysinfo si;

        online_all("/sys/devices/system/cpu", "cpu", "online", "0", "1");
        online_all("/sys/devices/system/memory", "memory", "state", "offline", "online");
        if (sysinfo(&si) < 0)
                return negative_errno();
        *ret_cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
        *ret_memory_mib = (uint64_t)si.totalram * si.mem_unit >> 20;
        return 0;
}
