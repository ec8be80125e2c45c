/* SPDX-License-Identifier: Apache-2.0 */
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "timeutil.h"

#define RECORD_MAX      8192
#define RECLAIM_WAIT_MS 2000

/* mountinfo writes ' ', '\t', '\n' and '\\' in a path as \ooo. */
static void unescape(char *s)
{
        char *o = s;

        for (const char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else
                        *o++ = *p;
        }
        *o = 0;
}

/* A path the calling thread's network namespace is mounted at (an nsfs bind mount, as `ip netns
 * add` and CNI make), and the namespace's inode. -ENOENT: none. */
static int netns_path(char **ret_path, unsigned long long *ret_ino)
{
        _cleanup_free_ char *line = NULL, *mnt = NULL;
        char want[64];
        size_t cap = 0;
        struct stat st;
        FILE *f;
        int r = -ENOENT;

        if (stat("/proc/thread-self/ns/net", &st) < 0)
                return negative_errno();
        snprintf(want, sizeof(want), "net:[%llu]", (unsigned long long)st.st_ino);
        f = fopen("/proc/thread-self/mountinfo", "re");
        if (!f)
                return negative_errno();
        while (getline(&line, &cap, f) > 0) {
                const char *sep = strstr(line, " - ");
                char fstype[16], nsroot[64];
                int off = 0;

                /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE ..." */
                if (!sep || sscanf(sep + 3, "%15s", fstype) != 1 || strcmp(fstype, "nsfs") != 0 ||
                    sscanf(line, "%*s %*s %*s %63s %n", nsroot, &off) != 1 || strcmp(nsroot, want) != 0)
                        continue;
                free(mnt);
                mnt = strndup(line + off, strcspn(line + off, " "));
                if (!mnt) {
                        r = -ENOMEM;
                        break;
                }
                unescape(mnt);
                if (mnt[0] != '/' || strchr(mnt, '\n'))
                        continue;
                *ret_path = TAKE_PTR(mnt);
                *ret_ino = (unsigned long long)st.st_ino;
                r = 0;
                break;
        }
        fclose(f);
        return r;
}

int net_record_write(const char *path, enum net_mode mode, const int *ifindex, size_t n)
{
        _cleanup_free_ char *ns = NULL, *buf = NULL;
        unsigned long long ino;
        size_t len = 0;
        FILE *f;
        int r;

        r = n > 0 ? netns_path(&ns, &ino) : -ENOENT;
        if (r == -ENOENT) {
                /* Nothing of ours can outlive the sandbox there. */
                if (unlink(path) < 0 && errno != ENOENT)
                        return negative_errno();
                return 0;
        }
        if (r < 0)
                return r;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "netns %llu %s\n", ino, ns);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s %d\n", net_mode_name(mode), ifindex[i]);
        if (fclose(f) != 0)
                return -ENOMEM;
        return write_file_atomic(path, buf, len, 0600);
}

/* In the child: joins the namespace and reclaims each "MODE IFINDEX" line of lines. */
static int reclaim_in(const char *ns, unsigned long long ino, char *lines)
{
        _cleanup_close_ int fd = open(ns, O_RDONLY | O_CLOEXEC);
        long long deadline = mono_ms() + RECLAIM_WAIT_MS;
        char *save = NULL;
        struct stat st;

        /* The path may name another namespace by now (the caller's next container's). */
        if (fd < 0 || fstat(fd, &st) < 0 || (unsigned long long)st.st_ino != ino)
                return -ESTALE;
        if (setns(fd, CLONE_NEWNET) < 0)
                return negative_errno();
        for (char *l = strtok_r(lines, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char mode[16];
                enum net_mode m;
                int ifindex;

                if (sscanf(l, "%15s %d", mode, &ifindex) != 2 || net_mode_parse(mode, &m) < 0 || ifindex <= 0)
                        continue;
                while (net_reclaim(ifindex, m) == -EBUSY && mono_ms() < deadline)
                        nanosleep(&(struct timespec){.tv_nsec = 20L * 1000 * 1000}, NULL);
        }
        return 0;
}

int net_record_reclaim(const char *path)
{
        _cleanup_free_ char *data = NULL;
        unsigned long long ino;
        char *ns, *lines;
        int off = 0, r;
        pid_t pid;

        r = read_full_file(path, RECORD_MAX, &data, NULL);
        if (r < 0)
                return r;
        if (sscanf(data, "netns %llu %n", &ino, &off) != 1 || off == 0)
                return -EBADMSG;
        ns = data + off;
        lines = strchr(ns, '\n');
        if (!lines)
                return -EBADMSG;
        *lines++ = 0;
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                _exit(reclaim_in(ns, ino, lines) < 0 ? 1 : 0);
        while (waitpid(pid, NULL, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return 0;
}
