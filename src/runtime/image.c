/* SPDX-License-Identifier: Apache-2.0 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

static const char *image_root(void)
{
        const char *e = getenv("HAKO_IMAGE_ROOT");
        return e && *e ? e : IMAGE_ROOT_DEFAULT;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
        _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int out = -1;
        char buf[65536];
        ssize_t n;

        if (in < 0)
                return negative_errno();
        out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (out < 0)
                return negative_errno();
        while ((n = read(in, buf, sizeof(buf))) > 0)
                for (ssize_t off = 0; off < n;) {
                        ssize_t k = write(out, buf + off, (size_t)(n - off));
                        if (k < 0)
                                return negative_errno();
                        off += k;
                }
        return n < 0 ? negative_errno() : 0;
}

static int write_text(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        return write_file_atomic(p, text, strlen(text), 0644);
}

/* Lays out a minimal Linux root: busybox and a symlink per applet, the usual directories. */
static int busybox_assemble(const char *rootfs)
{
        static const char *const dirs[] = {"bin", "dev", "etc", "home",    "proc", "root",    "run",
                                           "sys", "tmp", "usr", "usr/bin", "var",  "var/tmp", "sbin"};
        _cleanup_free_ char *bin = NULL, *cmd = NULL;
        char applet[256];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *d = NULL;
                if (asprintf(&d, "%s/%s", rootfs, dirs[i]) < 0)
                        return -ENOMEM;
                r = mkdir_p(d, 0755);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *tmpdir = NULL;
        if (asprintf(&tmpdir, "%s/tmp", rootfs) < 0)
                return -ENOMEM;
        chmod(tmpdir, 01777);
        if (asprintf(&bin, "%s/bin/busybox", rootfs) < 0)
                return -ENOMEM;
        r = copy_file(BUSYBOX_STATIC, bin, 0755);
        if (r < 0)
                return r;
        if (asprintf(&cmd, "%s --list", BUSYBOX_STATIC) < 0)
                return -ENOMEM;
        FILE *f = popen(cmd, "re");
        if (!f)
                return negative_errno();
        while (fgets(applet, sizeof(applet), f)) {
                _cleanup_free_ char *link = NULL;
                applet[strcspn(applet, "\n")] = 0;
                if (!*applet || strchr(applet, '/') || !strcmp(applet, "busybox"))
                        continue;
                if (asprintf(&link, "%s/bin/%s", rootfs, applet) < 0) {
                        pclose(f);
                        return -ENOMEM;
                }
                if (symlink("busybox", link) < 0 && errno != EEXIST) {
                        r = negative_errno();
                        pclose(f);
                        return r;
                }
        }
        if (pclose(f) != 0)
                return -EIO;
        if ((r = write_text(rootfs, "etc/passwd",
                            "root:x:0:0:root:/root:/bin/sh\n"
                            "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")) < 0 ||
            (r = write_text(rootfs, "etc/group", "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n")) < 0 ||
            (r = write_text(rootfs, "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")) <
                0 ||
            (r = write_text(rootfs, "etc/hostname", "hako\n")) < 0)
                return r;
        return 0;
}

static int busybox_image(char **ret_rootfs, char **ret_error)
{
        _cleanup_free_ char *dir = NULL, *rootfs = NULL, *tmp = NULL, *lockp = NULL;
        _cleanup_close_ int lock = -1;
        int r;

        if (asprintf(&dir, "%s/busybox", image_root()) < 0 || asprintf(&rootfs, "%s/rootfs", dir) < 0 ||
            asprintf(&lockp, "%s/.lock", image_root()) < 0)
                return -ENOMEM;
        if (access(rootfs, F_OK) == 0) {
                *ret_rootfs = TAKE_PTR(rootfs);
                return 0;
        }
        if (access(BUSYBOX_STATIC, X_OK) < 0) {
                *ret_error =
                    strdup("the busybox image needs " BUSYBOX_STATIC " (apt-get install busybox-static)");
                return -ENOENT;
        }
        r = mkdir_p(image_root(), 0755);
        if (r < 0)
                return r;
        /* Two first runs at once: one assembles, the other waits and reuses. */
        lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0 || flock(lock, LOCK_EX) < 0)
                return negative_errno();
        if (access(rootfs, F_OK) == 0) {
                *ret_rootfs = TAKE_PTR(rootfs);
                return 0;
        }
        if (asprintf(&tmp, "%s.tmp", dir) < 0)
                return -ENOMEM;
        rm_rf(tmp);
        _cleanup_free_ char *tmp_rootfs = NULL;
        if (asprintf(&tmp_rootfs, "%s/rootfs", tmp) < 0)
                return -ENOMEM;
        r = mkdir_p(tmp_rootfs, 0755);
        if (r >= 0)
                r = busybox_assemble(tmp_rootfs);
        if (r >= 0) {
                rm_rf(dir);
                if (rename(tmp, dir) < 0)
                        r = negative_errno();
        }
        if (r < 0) {
                rm_rf(tmp);
                return r;
        }
        *ret_rootfs = TAKE_PTR(rootfs);
        return 0;
}

int image_resolve(const char *name, struct image *ret, char **ret_error)
{
        struct stat st;
        int r;

        *ret = (struct image){0};
        if (!strcmp(name, "busybox") || !strcmp(name, "busybox:latest")) {
                ret->kind = IMAGE_BUILTIN;
                return busybox_image(&ret->rootfs, ret_error);
        }
        if (stat(name, &st) < 0 || !S_ISDIR(st.st_mode)) {
                if (asprintf(ret_error,
                             "image '%s' not found: expected 'busybox', an OCI bundle directory or a rootfs "
                             "directory",
                             name) < 0)
                        *ret_error = NULL;
                return -ENOENT;
        }
        _cleanup_free_ char *abs = realpath(name, NULL);
        _cleanup_free_ char *config = NULL;
        if (!abs)
                return negative_errno();
        if (asprintf(&config, "%s/config.json", abs) < 0)
                return -ENOMEM;
        if (access(config, F_OK) == 0) {
                ret->kind = IMAGE_BUNDLE;
                ret->bundle_dir = TAKE_PTR(abs);
                return 0; /* rootfs comes from config.json's root.path */
        }
        ret->kind = IMAGE_ROOTFS;
        ret->rootfs = TAKE_PTR(abs);
        r = 0;
        return r;
}

void image_done(struct image *img)
{
        free(img->rootfs);
        free(img->bundle_dir);
        *img = (struct image){0};
}
