/* SPDX-License-Identifier: Apache-2.0 */
#include "mount.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "error.h"
#include "macro.h"

/* The page the kernel copies mount data into. */
#define MOUNT_DATA_MAX 4095

static const struct {
        const char *name;
        bool clear;
        unsigned long flag;
} flags[] = {
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

int shim_mount_options(char *const *options, size_t n, unsigned long *ret_flags, char *data, size_t size)
{
        unsigned long f = 0;
        size_t len = 0;

        data[0] = 0;
        for (size_t i = 0; i < n; i++) {
                const char *o = options[i];
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(flags); k++)
                        if (!strcmp(o, flags[k].name)) {
                                f = flags[k].clear ? f & ~flags[k].flag : f | flags[k].flag;
                                known = true;
                                break;
                        }
                if (known)
                        continue;
                size_t k = strlen(o);
                if (len + k + 2 > size)
                        return -E2BIG;
                if (len)
                        data[len++] = ',';
                memcpy(data + len, o, k + 1);
                len += k;
        }
        *ret_flags = f;
        return 0;
}

static int mount_one(const Containerd__Types__Mount *m, const char *target, char **ret_error)
{
        char data[MOUNT_DATA_MAX + 1];
        unsigned long f;
        int r;

        r = shim_mount_options(m->options, m->n_options, &f, data, sizeof(data));
        if (r < 0)
                return error_set(ret_error, r, "rootfs mount options are longer than %d bytes",
                                 MOUNT_DATA_MAX);
        const char *type = m->type && *m->type ? m->type : NULL;
        if (type && !strcmp(type, "bind"))
                f |= MS_BIND;
        bool bind = f & MS_BIND;
        if (mount(m->source, target, bind ? NULL : type, bind ? f & ~MS_RDONLY : f, bind ? NULL : data) < 0)
                return error_set(ret_error, negative_errno(), "cannot mount the rootfs (%s %s): %s",
                                 type ? type : "-", m->source ? m->source : "", strerror(errno));
        /* A bind mount takes its read-only flag on a remount. */
        if (bind && (f & MS_RDONLY) && mount(NULL, target, NULL, MS_REMOUNT | (f & ~MS_REC), NULL) < 0) {
                r = negative_errno();
                (void)umount2(target, MNT_DETACH);
                return error_set(ret_error, r, "cannot make the rootfs read-only: %s", strerror(-r));
        }
        return 0;
}

int shim_mount_rootfs(Containerd__Types__Mount **mounts, size_t n, const char *target, char **ret_error)
{
        for (size_t i = 0; i < n; i++) {
                int r = mount_one(mounts[i], target, ret_error);
                if (r < 0) {
                        while (i-- > 0)
                                (void)umount2(target, MNT_DETACH);
                        return r;
                }
        }
        return 0;
}
