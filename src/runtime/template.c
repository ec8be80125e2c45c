/* SPDX-License-Identifier: Apache-2.0 */
#include "template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent-protocol.h"
#include "fileio.h"
#include "macro.h"
#include "timeutil.h"

/* Enough for the shapes in use; each template is a few tens of MB. */
#define TEMPLATES_KEPT 8

const char *templates_dir(void)
{
        static char dir[512];
        const char *c = getenv("HAKO_CACHE");

        if (!dir[0])
                snprintf(dir, sizeof(dir), "%s/templates", c && *c ? c : "/var/cache/hako");
        return dir;
}

bool template_enabled(void)
{
        const char *e = getenv("HAKO_TEMPLATE");

        return !(e && (!strcmp(e, "0") || !strcmp(e, "off") || !strcmp(e, "no") || !strcmp(e, "false")));
}

static void fnv1a(uint64_t *h, const void *data, size_t len)
{
        const unsigned char *p = data;

        for (size_t i = 0; i < len; i++) {
                *h ^= p[i];
                *h *= 0x100000001b3ull;
        }
}

/* A file's identity without reading it: a rebuilt kernel or initrd gets a new key. */
static int hash_file_identity(uint64_t *h, const char *path)
{
        struct stat st;
        char buf[256];

        if (stat(path, &st) < 0)
                return negative_errno();
        int n = snprintf(buf, sizeof(buf), "%s|%lld|%lld.%09ld|%llu|%llu;", path, (long long)st.st_size,
                         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino,
                         (unsigned long long)st.st_dev);
        fnv1a(h, buf, (size_t)MIN(n, (int)sizeof(buf) - 1));
        return 0;
}

/* The QEMU binary that will run (HAKO_QEMU or qemu-system-x86_64 on PATH). */
static int find_qemu(const char *b, char *ret, size_t size)
{
        const char *path = getenv("PATH");

        if (!b)
                b = getenv("HAKO_QEMU");
        if (!b || !*b)
                b = "qemu-system-x86_64";
        if (strchr(b, '/')) {
                snprintf(ret, size, "%s", b);
                return access(ret, X_OK) < 0 ? negative_errno() : 0;
        }
        for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
                size_t n = strcspn(p, ":");
                if (n > 0 && (size_t)snprintf(ret, size, "%.*s/%s", (int)n, p, b) < size &&
                    access(ret, X_OK) == 0)
                        return 0;
                p += n;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

int template_key(const struct template_shape *s, char ret_key[TEMPLATE_KEY_LEN + 1])
{
        uint64_t h = 0xcbf29ce484222325ull;
        char qemu[512], buf[256];
        const char *cpu = getenv("HAKO_QEMU_CPU");
        int r;

        r = find_qemu(s->qemu, qemu, sizeof(qemu));
        if (r < 0)
                return r;
        int n = snprintf(buf, sizeof(buf), "hako %s proto %d layout %d vcpus %u mem %llu %s cpu %s;",
                         HAKO_VERSION, HAKO_AGENT_PROTOCOL, TEMPLATE_LAYOUT, s->vcpus,
                         (unsigned long long)s->memory_mib, s->kvm ? "kvm" : "tcg", cpu ? cpu : "");
        fnv1a(&h, buf, (size_t)MIN(n, (int)sizeof(buf) - 1));
        if (s->cmdline)
                fnv1a(&h, s->cmdline, strlen(s->cmdline) + 1);
        if (s->max_vcpus || s->max_memory_mib) {
                n = snprintf(buf, sizeof(buf), "max %u %llu;", s->max_vcpus,
                             (unsigned long long)s->max_memory_mib);
                fnv1a(&h, buf, (size_t)MIN(n, (int)sizeof(buf) - 1));
        }
        if ((r = hash_file_identity(&h, qemu)) < 0 || (r = hash_file_identity(&h, s->kernel)) < 0 ||
            (r = hash_file_identity(&h, s->initrd)) < 0)
                return r;
        snprintf(ret_key, TEMPLATE_KEY_LEN + 1, "%016llx", (unsigned long long)h);
        return 0;
}

static int template_path(const char *key, const char *suffix, char **ret)
{
        return asprintf(ret, "%s/%s%s", templates_dir(), key, suffix) < 0 ? -ENOMEM : 0;
}

int template_open(const char *key, int *ret_state_fd, int *ret_ram_fd)
{
        _cleanup_free_ char *p = NULL, *pr = NULL;
        _cleanup_close_ int fd = -1, ram = -1;
        int r;

        if ((r = template_path(key, ".state", &p)) < 0 || (r = template_path(key, ".ram", &pr)) < 0)
                return r;
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        ram = open(pr, O_RDONLY | O_CLOEXEC);
        if (ram < 0)
                return negative_errno();
        /* The mtime says when it was last used: pruning keeps the recent ones. */
        (void)futimens(fd, NULL);
        *ret_state_fd = TAKE_FD(fd);
        *ret_ram_fd = TAKE_FD(ram);
        return 0;
}

static bool all_zero(const char *p, size_t n)
{
        return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

int template_ram_copy(int ram_fd, int *ret_memfd)
{
        _cleanup_close_ int m = -1;
        _cleanup_free_ char *buf = NULL;
        const size_t chunk = 256 * 1024;
        struct stat st;
        off_t off = 0;

        if (fstat(ram_fd, &st) < 0)
                return negative_errno();
        m = memfd_create("hako-guest-ram", MFD_CLOEXEC);
        if (m < 0)
                return negative_errno();
        if (ftruncate(m, st.st_size) < 0)
                return negative_errno();
        buf = malloc(chunk);
        if (!buf)
                return -ENOMEM;
        /* Only the data the guest wrote: holes and zero blocks stay unallocated in the copy. */
        for (;;) {
                off_t data = lseek(ram_fd, off, SEEK_DATA);
                if (data < 0) {
                        if (errno == ENXIO)
                                break;
                        return negative_errno();
                }
                off_t hole = lseek(ram_fd, data, SEEK_HOLE);
                if (hole < 0)
                        return negative_errno();
                for (off = data; off < hole;) {
                        size_t want = (size_t)MIN((off_t)chunk, hole - off);
                        ssize_t n = pread(ram_fd, buf, want, off);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return negative_errno();
                        }
                        if (n == 0)
                                return -EIO;
                        for (size_t i = 0; i < (size_t)n; i += 4096) {
                                size_t len = MIN((size_t)4096, (size_t)n - i);
                                if (all_zero(buf + i, len))
                                        continue;
                                if (pwrite(m, buf + i, len, off + (off_t)i) != (ssize_t)len)
                                        return errno ? negative_errno() : -EIO;
                        }
                        off += n;
                }
        }
        *ret_memfd = TAKE_FD(m);
        return 0;
}

int template_lock(const char *key, int timeout_ms, int *ret_lock_fd)
{
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -1;
        long long deadline = mono_ms() + timeout_ms;
        int r;

        r = mkdir_p(templates_dir(), 0700);
        if (r < 0)
                return r;
        r = template_path(key, ".lock", &p);
        if (r < 0)
                return r;
        fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return negative_errno();
                if (mono_ms() > deadline)
                        return -ETIMEDOUT;
                nanosleep(&(struct timespec){.tv_nsec = 20L * 1000 * 1000}, NULL);
        }
        *ret_lock_fd = TAKE_FD(fd);
        return 0;
}

int template_build_paths(const char *key, char **ret_tmp, char **ret_tmp_ram, char **ret_build_dir)
{
        _cleanup_free_ char *tmp = NULL, *tmp_ram = NULL, *dir = NULL;
        int r;

        if (asprintf(&tmp, "%s/%s.state.%d.tmp", templates_dir(), key, (int)getpid()) < 0 ||
            asprintf(&tmp_ram, "%s/%s.ram.%d.tmp", templates_dir(), key, (int)getpid()) < 0)
                return -ENOMEM;
        r = template_path(key, ".build", &dir);
        if (r < 0)
                return r;
        /* Left over by a builder that was killed (we hold the lock, so it is not running). */
        rm_rf(dir);
        if (mkdir(dir, 0700) < 0)
                return negative_errno();
        *ret_tmp = TAKE_PTR(tmp);
        *ret_tmp_ram = TAKE_PTR(tmp_ram);
        *ret_build_dir = TAKE_PTR(dir);
        return 0;
}

static bool has_suffix(const char *name, size_t len, const char *suffix)
{
        size_t n = strlen(suffix);

        return len > n && !strcmp(name + len - n, suffix);
}

/* Keeps the TEMPLATES_KEPT most recently used states; also drops what failed or killed builds
 * left behind, after an hour. */
static void templates_prune(void)
{
        struct {
                char name[64];
                struct timespec used;
        } kept[TEMPLATES_KEPT + 1];
        size_t n = 0;
        DIR *d = opendir(templates_dir());
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                struct stat st;

                if (len >= sizeof(kept[0].name) || fstatat(dirfd(d), de->d_name, &st, 0) < 0)
                        continue;
                /* What killed or failed builds left behind (partial files, console logs, broken
                 * marks), once it no longer matters. */
                if (time(NULL) - st.st_mtim.tv_sec > 3600 &&
                    (has_suffix(de->d_name, len, ".tmp") || has_suffix(de->d_name, len, ".build") ||
                     has_suffix(de->d_name, len, ".broken"))) {
                        rm_rf_at(dirfd(d), de->d_name);
                        continue;
                }
                if (!has_suffix(de->d_name, len, ".state"))
                        continue;
                /* Insertion into kept[], newest first; what falls off the end is removed. */
                size_t i = n;
                while (i > 0 && (kept[i - 1].used.tv_sec < st.st_mtim.tv_sec ||
                                 (kept[i - 1].used.tv_sec == st.st_mtim.tv_sec &&
                                  kept[i - 1].used.tv_nsec < st.st_mtim.tv_nsec))) {
                        kept[i] = kept[i - 1];
                        i--;
                }
                snprintf(kept[i].name, sizeof(kept[i].name), "%s", de->d_name);
                kept[i].used = st.st_mtim;
                if (n < TEMPLATES_KEPT)
                        n++;
                else {
                        char ram[80];
                        /* The state first: a state without its RAM is never opened. */
                        unlinkat(dirfd(d), kept[TEMPLATES_KEPT].name, 0);
                        snprintf(ram, sizeof(ram), "%.*s.ram", (int)strlen(kept[TEMPLATES_KEPT].name) - 6,
                                 kept[TEMPLATES_KEPT].name);
                        unlinkat(dirfd(d), ram, 0);
                }
        }
        closedir(d);
}

int template_commit(const char *key, const char *tmp, const char *tmp_ram)
{
        _cleanup_free_ char *p = NULL, *pr = NULL, *dir = NULL;
        int r;

        if ((r = template_path(key, ".state", &p)) < 0 || (r = template_path(key, ".ram", &pr)) < 0)
                return r;
        /* The RAM first: the state's presence says the template is complete. */
        (void)chmod(tmp, 0600);
        if (rename(tmp_ram, pr) < 0 || rename(tmp, p) < 0)
                return negative_errno();
        if (template_path(key, ".build", &dir) == 0)
                rm_rf(dir);
        templates_prune();
        return 0;
}

void template_discard(const char *key)
{
        _cleanup_free_ char *p = NULL, *pr = NULL;

        if (template_path(key, ".state", &p) == 0)
                unlink(p);
        if (template_path(key, ".ram", &pr) == 0)
                unlink(pr);
}

void template_mark_broken(const char *key, const char *why)
{
        _cleanup_free_ char *p = NULL;

        if (template_path(key, ".broken", &p) == 0)
                (void)write_file_atomic(p, why, strlen(why), 0600);
}

/* Remembered for an hour: long enough to spare the runs of a busy moment, short enough that a
 * fixed host (QEMU upgraded, say) is not refused templates for long. */
bool template_is_broken(const char *key)
{
        _cleanup_free_ char *p = NULL;
        struct stat st;

        return template_path(key, ".broken", &p) == 0 && stat(p, &st) == 0 && time(NULL) - st.st_mtime < 3600;
}
