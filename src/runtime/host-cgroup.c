/* SPDX-License-Identifier: Apache-2.0 */
#include "host-cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

#define MAX_HIERARCHIES 24

struct hierarchy {
        char mount[256];
        bool v2;
        bool cpu, cpuset, pids;
};

/* The cgroup mounts of this mount namespace, from /proc/self/mountinfo. */
static int hierarchies(struct hierarchy *h, size_t max, size_t *ret_n)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, n = 0;
        FILE *f = fopen("/proc/self/mountinfo", "re");

        if (!f)
                return negative_errno();
        while (getline(&line, &cap, f) > 0 && n < max) {
                char mnt[256], fstype[32], opts[512];
                const char *sep = strstr(line, " - ");
                if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
                    sscanf(sep + 3, "%31s %*s %511s", fstype, opts) != 2)
                        continue;
                if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
                        continue;
                h[n] = (struct hierarchy){.v2 = !strcmp(fstype, "cgroup2")};
                snprintf(h[n].mount, sizeof(h[n].mount), "%s", mnt);
                /* v1 names its controllers in the super options ("rw,cpu"); the words matter. */
                for (char *tok = strtok(opts, ","); tok; tok = strtok(NULL, ","))
                        h[n].cpu |= !strcmp(tok, "cpu"), h[n].cpuset |= !strcmp(tok, "cpuset"),
                            h[n].pids |= !strcmp(tok, "pids");
                if (h[n].v2)
                        h[n].cpu = h[n].pids = true; /* if enabled there: cpu.max / pids.max tell */
                n++;
        }
        fclose(f);
        *ret_n = n;
        return 0;
}

/* systemd's slice names nest by their dashes: "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice. */
static int expand_slice(const char *slice, size_t len, char *ret, size_t size, size_t *ret_len)
{
        size_t n = 0, base;
        int k;

        if (len == 0 || (len == 7 && !strncmp(slice, "-.slice", 7))) {
                *ret_len = 0;
                return 0;
        }
        if (len < 7 || strncmp(slice + len - 6, ".slice", 6) != 0)
                return -EINVAL;
        base = len - 6;
        for (size_t i = 0; i <= base; i++) {
                if (i < base && slice[i] != '-')
                        continue;
                if (i == 0 || slice[i - 1] == '-')
                        return -EINVAL; /* "-a.slice", "a--b.slice" */
                k = snprintf(ret + n, size - n, "/%.*s.slice", (int)i, slice);
                if (k < 0 || (size_t)k >= size - n)
                        return -ENAMETOOLONG;
                n += (size_t)k;
        }
        *ret_len = n;
        return 0;
}

int host_cgroup_normalize(const char *spec_path, char *ret, size_t size)
{
        const char *c1 = strchr(spec_path, ':');
        size_t n = 0;
        int k;

        if (strstr(spec_path, "..") || size == 0)
                return -EINVAL;
        if (c1 && spec_path[0] != '/') {
                /* systemd: "slice:prefix:name" → <slice path>/prefix-name.scope */
                const char *c2 = strchr(c1 + 1, ':');
                if (!c2 || strchr(c2 + 1, ':') || !c2[1])
                        return -EINVAL;
                k = expand_slice(spec_path, (size_t)(c1 - spec_path), ret, size, &n);
                if (k < 0)
                        return k;
                k = snprintf(ret + n, size - n, "/%.*s-%s.scope", (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
                if (c2 == c1 + 1) /* no prefix: the name alone */
                        k = snprintf(ret + n, size - n, "/%s", c2 + 1);
        } else
                k = snprintf(ret, size, "%s%s", spec_path[0] == '/' ? "" : "/", spec_path);
        return k < 0 || (size_t)k >= size - n || !strcmp(ret, "/") ? -EINVAL : 0;
}

/* mount + path (+ the first len bytes of path only, with len >= 0). */
static int cg_dir(char *buf, size_t size, const char *mount, const char *path, int len)
{
        int k = len >= 0 ? snprintf(buf, size, "%s%.*s", mount, len, path)
                         : snprintf(buf, size, "%s%s", mount, path);
        return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
}

static int write_str(const char *dir, const char *file, const char *value)
{
        char path[HOST_CGROUP_PATH_MAX + 300];
        _cleanup_close_ int fd = -1;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return write(fd, value, strlen(value)) < 0 ? negative_errno() : 0;
}

/* A new v1 cpuset cgroup starts with no CPUs and refuses tasks: inherit the parent's. */
static void cpuset_inherit(const char *mount, const char *path)
{
        char dir[HOST_CGROUP_PATH_MAX + 300], parent[sizeof(dir)];
        const char *files[] = {"cpuset.cpus", "cpuset.mems"};

        for (const char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
                size_t len = p ? (size_t)(p - path) : strlen(path);
                if (cg_dir(dir, sizeof(dir), mount, path, (int)len) < 0)
                        return;
                snprintf(parent, sizeof(parent), "%s", dir);
                *strrchr(parent, '/') = 0;
                for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                        char fp[sizeof(dir) + 16];
                        _cleanup_free_ char *val = NULL, *cur = NULL;
                        size_t len_cur, len_val;
                        snprintf(fp, sizeof(fp), "%s/%s", dir, files[i]);
                        if (read_full_file(fp, 4096, &cur, &len_cur) == 0 && cur[0] != '\n' && cur[0])
                                continue;
                        snprintf(fp, sizeof(fp), "%s/%s", parent, files[i]);
                        if (read_full_file(fp, 4096, &val, &len_val) == 0)
                                (void)write_str(dir, files[i], val);
                }
                if (!p)
                        break;
        }
}

static char own[HOST_CGROUP_PATH_MAX];

const char *host_cgroup_own(void)
{
        return own[0] ? own : NULL;
}

int host_cgroup_enter(const char *path, pid_t pid)
{
        struct hierarchy h[MAX_HIERARCHIES];
        char dir[HOST_CGROUP_PATH_MAX + 300], pidstr[16];
        size_t n;
        int r, joined = 0, first_error = 0;

        r = hierarchies(h, ELEMENTSOF(h), &n);
        if (r < 0)
                return r;
        snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
        for (size_t i = 0; i < n; i++) {
                r = cg_dir(dir, sizeof(dir), h[i].mount, path, -1);
                if (r >= 0)
                        r = mkdir_p(dir, 0755);
                if (r >= 0 && h[i].cpuset)
                        cpuset_inherit(h[i].mount, path);
                if (r >= 0)
                        r = write_str(dir, "cgroup.procs", pidstr);
                if (r < 0 && !first_error)
                        first_error = r;
                joined += r >= 0;
        }
        if (pid == getpid() && joined > 0)
                snprintf(own, sizeof(own), "%s",
                         strcmp(path, "/") != 0 && strlen(path) < sizeof(own) ? path : "");
        return joined > 0 ? 0 : first_error ? first_error : -ENOENT;
}

void host_cgroup_limits_merge(struct host_cgroup_limits *l, json_t *resources)
{
        json_t *cpu = json_object_get(resources, "cpu"), *v;

        if ((v = json_object_get(cpu, "quota")) && json_is_integer(v))
                l->quota = json_integer_value(v), l->cpu_set = true;
        if ((v = json_object_get(cpu, "period")) && json_is_integer(v))
                l->period = (uint64_t)MAX(0, json_integer_value(v)), l->cpu_set = true;
        if ((v = json_object_get(cpu, "shares")) && json_is_integer(v))
                l->shares = (uint64_t)MAX(0, json_integer_value(v)), l->cpu_set = true;
        if ((v = json_object_get(json_object_get(resources, "pids"), "limit")) && json_is_integer(v))
                l->pids = json_integer_value(v), l->pids_set = true;
}

static int write_cpu(const struct hierarchy *h, const char *dir, const struct host_cgroup_limits *l)
{
        uint64_t period = l->period ? l->period : 100000;
        char v[64];
        int r;

        if (h->v2) {
                if (l->quota > 0)
                        snprintf(v, sizeof(v), "%lld %llu", (long long)l->quota, (unsigned long long)period);
                else
                        snprintf(v, sizeof(v), "max %llu", (unsigned long long)period);
                r = write_str(dir, "cpu.max", v);
                if (r == -ENOENT)
                        return 0; /* the cpu controller is not enabled in this tree */
                if (r >= 0 && l->shares > 0) {
                        snprintf(v, sizeof(v), "%llu",
                                 (unsigned long long)(1 + ((MAX(l->shares, 2) - 2) * 9999) / 262142));
                        r = write_str(dir, "cpu.weight", v);
                }
                return r;
        }
        snprintf(v, sizeof(v), "%llu", (unsigned long long)period);
        r = write_str(dir, "cpu.cfs_period_us", v);
        snprintf(v, sizeof(v), "%lld", l->quota > 0 ? (long long)l->quota : -1LL);
        if (r >= 0)
                r = write_str(dir, "cpu.cfs_quota_us", v);
        if (r >= 0 && l->shares > 0) {
                snprintf(v, sizeof(v), "%llu", (unsigned long long)l->shares);
                r = write_str(dir, "cpu.shares", v);
        }
        return r;
}

static int write_pids(const struct hierarchy *h, const char *dir, const struct host_cgroup_limits *l)
{
        char v[32];

        if (l->pids > 0)
                snprintf(v, sizeof(v), "%lld", (long long)MAX(l->pids, (int64_t)HOST_PIDS_MIN));
        else
                snprintf(v, sizeof(v), "max");
        int r = write_str(dir, "pids.max", v);
        return h->v2 && r == -ENOENT ? 0 : r; /* the pids controller is not enabled in this tree */
}

int host_cgroup_set_limits(const char *path, const struct host_cgroup_limits *l)
{
        struct hierarchy h[MAX_HIERARCHIES];
        char dir[HOST_CGROUP_PATH_MAX + 300];
        size_t n;
        int r, first_error = 0;

        if (!l->cpu_set && !l->pids_set)
                return 0;
        r = hierarchies(h, ELEMENTSOF(h), &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (!(l->cpu_set && h[i].cpu) && !(l->pids_set && h[i].pids))
                        continue;
                r = cg_dir(dir, sizeof(dir), h[i].mount, path, -1);
                if (r >= 0 && l->cpu_set && h[i].cpu)
                        r = write_cpu(&h[i], dir, l);
                if (r >= 0 && l->pids_set && h[i].pids)
                        r = write_pids(&h[i], dir, l);
                if (r < 0 && !first_error)
                        first_error = r;
        }
        return first_error;
}

void host_cgroup_remove(const char *path)
{
        struct hierarchy h[MAX_HIERARCHIES];
        char dir[HOST_CGROUP_PATH_MAX + 300];
        size_t n;

        if (hierarchies(h, ELEMENTSOF(h), &n) < 0)
                return;
        /* A VMM or virtiofsd killed a moment ago (the sandbox's end, a shim's kill -9) may still
         * be on its way out: busy for a while (2 s at most, for all of them), not for good. */
        int tries = 100;
        for (size_t i = 0; i < n; i++) {
                if (cg_dir(dir, sizeof(dir), h[i].mount, path, -1) != 0)
                        continue;
                while (rmdir(dir) < 0 && errno == EBUSY && tries-- > 0)
                        nanosleep(&(struct timespec){.tv_nsec = 20L * 1000 * 1000}, NULL);
        }
}
