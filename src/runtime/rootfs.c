/* SPDX-License-Identifier: Apache-2.0 */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "macro.h"
#include "spec.h"

#define MOUNTPOINT_PATH_MAX 1024

static int open_in_root(int root_fd, const char *rel, int *ret_fd)
{
        struct open_how how = {
            .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, root_fd, *rel ? rel : ".", &how, sizeof(how));

        if (fd < 0)
                return negative_errno();
        *ret_fd = fd;
        return 0;
}

/* "/a//b/./c/../d" → "a/b/d", lexically and clamped at the root, as a path inside the rootfs
 * resolves (".." of the root is the root). */
static int clean_path(const char *in, char *out, size_t size)
{
        size_t n = 0;

        while (*in) {
                size_t len;
                while (*in == '/')
                        in++;
                len = strcspn(in, "/");
                if (len == 0)
                        break;
                if (len == 2 && in[0] == '.' && in[1] == '.') {
                        while (n > 0 && out[n - 1] != '/')
                                n--;
                        if (n > 0)
                                n--;
                } else if (!(len == 1 && in[0] == '.')) {
                        if (n + len + 2 > size)
                                return -ENAMETOOLONG;
                        if (n)
                                out[n++] = '/';
                        memcpy(out + n, in, len);
                        n += len;
                }
                in += len;
        }
        out[n] = 0;
        return 0;
}

static int make_in_root(int root_fd, const char *rel, bool is_file, unsigned depth);

/* prefix/name is a symlink that points nowhere yet: make its target, inside the root, with the
 * rest of the path below it. */
static int make_via_symlink(int root_fd, int parent_fd, const char *prefix, const char *name,
                            const char *rest, bool is_file, unsigned depth)
{
        char target[MOUNTPOINT_PATH_MAX], joined[3 * MOUNTPOINT_PATH_MAX], clean[MOUNTPOINT_PATH_MAX];
        ssize_t n = readlinkat(parent_fd, name, target, sizeof(target) - 1);
        int r;

        if (n < 0)
                return negative_errno();
        target[n] = 0;
        if (depth >= 8)
                return -ELOOP;
        snprintf(joined, sizeof(joined), "%s/%s/%s", target[0] == '/' ? "" : prefix, target, rest);
        r = clean_path(joined, clean, sizeof(clean));
        if (r < 0)
                return r;
        return make_in_root(root_fd, clean, is_file, depth + 1);
}

/* Makes rel (cleaned, relative) inside the root: each missing component a directory, the last one
 * an empty file when is_file. Components are resolved from the root every time, so symlinks
 * (already there or raced in) are followed inside the root only. */
static int make_in_root(int root_fd, const char *rel, bool is_file, unsigned depth)
{
        char buf[MOUNTPOINT_PATH_MAX];
        size_t len = strlen(rel);
        int r;

        if (len >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, rel, len + 1);
        for (size_t i = 0; i <= len; i++) {
                if (buf[i] != '/' && buf[i] != 0)
                        continue;
                bool last = i == len;
                buf[i] = 0;
                char *slash = strrchr(buf, '/');
                const char *name = slash ? slash + 1 : buf;
                const char *rest = last ? "" : rel + i + 1;
                _cleanup_close_ int parent = -1, fd = -1;

                if (slash)
                        *slash = 0;
                r = open_in_root(root_fd, slash ? buf : "", &parent);
                if (slash)
                        *slash = '/';
                if (r < 0)
                        return r;
                if (last && is_file) {
                        fd = openat(parent, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                                    0644);
                        if (fd >= 0 || errno == EEXIST || errno == EISDIR)
                                return 0;
                        if (errno != ELOOP)
                                return negative_errno();
                        /* A symlink: what it points to must exist. */
                        if (slash)
                                *slash = 0;
                        r = make_via_symlink(root_fd, parent, slash ? buf : "", name, "", true, depth);
                        return r == -EEXIST ? 0 : r;
                }
                r = open_in_root(root_fd, buf, &fd);
                if (r == -ENOENT) {
                        if (mkdirat(parent, name, 0755) < 0) {
                                if (errno != EEXIST)
                                        return negative_errno();
                                if (slash)
                                        *slash = 0;
                                return make_via_symlink(root_fd, parent, slash ? buf : "", name, rest,
                                                        is_file, depth);
                        }
                        r = open_in_root(root_fd, buf, &fd);
                }
                if (r < 0)
                        return r;
                if (!last)
                        buf[i] = '/';
        }
        return 0;
}

/* Whether another mount of the spec goes on a proper prefix of dest (other than the root). */
static bool under_other_mount(json_t *mounts, const char *dest)
{
        size_t i;
        json_t *m;

        json_array_foreach(mounts, i, m)
        {
                char other[MOUNTPOINT_PATH_MAX];
                const char *d = json_string_value(json_object_get(m, "destination"));
                size_t n;

                if (!d || clean_path(d, other, sizeof(other)) < 0 || !*other)
                        continue;
                n = strlen(other);
                if (strncmp(dest, other, n) == 0 && dest[n] == '/')
                        return true;
        }
        return false;
}

int rootfs_make_mountpoints(const char *rootfs, json_t *spec, char **ret_error)
{
        json_t *mounts = json_object_get(spec, "mounts");
        _cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        size_t i;
        json_t *m;
        int r;

        if (root_fd < 0)
                return error_set(ret_error, negative_errno(), "cannot open the rootfs %s: %s", rootfs,
                                 strerror(errno));
        r = make_in_root(root_fd, "dev", false, 0);
        if (r < 0)
                return error_set(ret_error, r, "cannot create mount point /dev in the rootfs: %s",
                                 strerror(-r));
        json_array_foreach(mounts, i, m)
        {
                const char *dest = json_string_value(json_object_get(m, "destination"));
                char rel[MOUNTPOINT_PATH_MAX];
                bool is_file = false;
                struct stat st;

                if (!dest)
                        continue;
                r = clean_path(dest, rel, sizeof(rel));
                if (r < 0)
                        return error_set(ret_error, r, "invalid mount destination '%s'", dest);
                if (!*rel || under_other_mount(mounts, rel))
                        continue;
                if (spec_mount_is_bind(m)) {
                        const char *src = json_string_value(json_object_get(m, "source"));
                        is_file = src && stat(src, &st) == 0 && !S_ISDIR(st.st_mode);
                }
                r = make_in_root(root_fd, rel, is_file, 0);
                if (r < 0)
                        return error_set(ret_error, r, "cannot create mount point %s in the rootfs: %s", dest,
                                         strerror(-r));
        }
        return 0;
}
