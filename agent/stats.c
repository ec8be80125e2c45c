/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "macro.h"

/* Container resource usage from its cgroup v2 files. */

static int read_small(const char *dir, const char *name, char *buf, size_t size)
{
        char path[400];
        _cleanup_close_ int fd = -1;
        ssize_t n;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, size - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        return 0;
}

/* "max" means no limit, reported as 0. */
static uint64_t read_u64(const char *dir, const char *name)
{
        char buf[64];

        if (read_small(dir, name, buf, sizeof(buf)) < 0 || strncmp(buf, "max", 3) == 0)
                return 0;
        return strtoull(buf, NULL, 10);
}

static uint64_t keyed(const char *buf, const char *key)
{
        size_t n = strlen(key);

        for (const char *s = buf; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : NULL)
                if (strncmp(s, key, n) == 0 && s[n] == ' ')
                        return strtoull(s + n + 1, NULL, 10);
        return 0;
}

int agent_stats_keyed(const char *cgroup_dir, const char *file, const char *key, uint64_t *ret)
{
        char buf[1024];
        int r = read_small(cgroup_dir, file, buf, sizeof(buf));

        if (r < 0)
                return r;
        *ret = keyed(buf, key);
        return 0;
}

/* Every "key value" line, as many as fit. */
static size_t all_keys(const char *buf, struct agent_stat_key *out, size_t max)
{
        size_t n = 0;

        for (const char *s = buf; s && *s && n < max; s = strchr(s, '\n'), s = s ? s + 1 : NULL) {
                size_t k = strcspn(s, " \n");
                if (k == 0 || k >= sizeof(out->key) || s[k] != ' ')
                        continue;
                memcpy(out[n].key, s, k);
                out[n].key[k] = 0;
                out[n].value = strtoull(s + k + 1, NULL, 10);
                n++;
        }
        return n;
}

/* One line per device: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N". */
static size_t io_lines(const char *buf, struct agent_io_stat *out, size_t max)
{
        size_t n = 0;

        for (const char *s = buf; s && *s && n < max; s = strchr(s, '\n'), s = s ? s + 1 : NULL) {
                struct agent_io_stat *e = &out[n];
                unsigned maj, min;
                const char *f;

                if (sscanf(s, "%u:%u", &maj, &min) != 2)
                        continue;
                *e = (struct agent_io_stat){.major = maj, .minor = min};
                const char *end = strchr(s, '\n');
                for (f = s; (f = strchr(f, ' ')) && (!end || f < end); f++) {
                        unsigned long long v;
                        char name[16];
                        if (sscanf(f + 1, "%15[a-z]=%llu", name, &v) != 2)
                                continue;
                        if (!strcmp(name, "rbytes"))
                                e->rbytes = v;
                        else if (!strcmp(name, "wbytes"))
                                e->wbytes = v;
                        else if (!strcmp(name, "rios"))
                                e->rios = v;
                        else if (!strcmp(name, "wios"))
                                e->wios = v;
                }
                n++;
        }
        return n;
}

int agent_stats_read(const char *dir, struct agent_stats *ret_stats)
{
        static char buf[8192];
        struct agent_stats *st = ret_stats;

        *st = (struct agent_stats){0};
        if (read_small(dir, "cgroup.procs", buf, 16) < 0)
                return -ESRCH;
        if (read_small(dir, "cpu.stat", buf, sizeof(buf)) >= 0) {
                st->cpu_usage_usec = keyed(buf, "usage_usec");
                st->cpu_user_usec = keyed(buf, "user_usec");
                st->cpu_system_usec = keyed(buf, "system_usec");
                st->cpu_nr_periods = keyed(buf, "nr_periods");
                st->cpu_nr_throttled = keyed(buf, "nr_throttled");
                st->cpu_throttled_usec = keyed(buf, "throttled_usec");
        }
        st->memory_current = read_u64(dir, "memory.current");
        st->memory_max = read_u64(dir, "memory.max");
        st->swap_current = read_u64(dir, "memory.swap.current");
        st->swap_max = read_u64(dir, "memory.swap.max");
        st->pids_current = read_u64(dir, "pids.current");
        st->pids_max = read_u64(dir, "pids.max");
        if (read_small(dir, "memory.stat", buf, sizeof(buf)) >= 0)
                st->n_memory_stat = all_keys(buf, st->memory_stat, ELEMENTSOF(st->memory_stat));
        if (read_small(dir, "memory.events", buf, sizeof(buf)) >= 0)
                st->n_memory_events = all_keys(buf, st->memory_events, ELEMENTSOF(st->memory_events));
        if (read_small(dir, "io.stat", buf, sizeof(buf)) >= 0)
                st->n_io = io_lines(buf, st->io, ELEMENTSOF(st->io));
        return 0;
}
