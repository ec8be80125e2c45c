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

static void io_totals(const char *buf, uint64_t *rbytes, uint64_t *wbytes)
{
        /* One line per device: "MAJ:MIN rbytes=N wbytes=N rios=N ..." */
        for (const char *s = buf; (s = strstr(s, "bytes=")); s += 6) {
                if (s > buf && s[-1] == 'r')
                        *rbytes += strtoull(s + 6, NULL, 10);
                else if (s > buf && s[-1] == 'w')
                        *wbytes += strtoull(s + 6, NULL, 10);
        }
}

int agent_stats_read(pid_t pid, struct agent_stats *ret_stats)
{
        char path[64], buf[4096] = "", dir[300], *line;
        struct agent_stats st = {0};
        int r;

        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        r = read_small(path, "cgroup", buf, sizeof(buf));
        if (r < 0)
                return r;
        line = strstr(buf, "0::");
        if (!line)
                return -ENODATA;
        line += 3;
        line[strcspn(line, "\n")] = 0;
        if (snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", line) >= (int)sizeof(dir))
                return -ENAMETOOLONG;
        if (read_small(dir, "cpu.stat", buf, sizeof(buf)) >= 0) {
                st.cpu_usage_usec = keyed(buf, "usage_usec");
                st.cpu_user_usec = keyed(buf, "user_usec");
                st.cpu_system_usec = keyed(buf, "system_usec");
        }
        st.memory_current = read_u64(dir, "memory.current");
        st.memory_max = read_u64(dir, "memory.max");
        st.pids_current = read_u64(dir, "pids.current");
        st.pids_max = read_u64(dir, "pids.max");
        if (read_small(dir, "io.stat", buf, sizeof(buf)) >= 0)
                io_totals(buf, &st.io_read_bytes, &st.io_write_bytes);
        *ret_stats = st;
        return 0;
}
