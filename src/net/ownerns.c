/* SPDX-License-Identifier: Apache-2.0 */
#include "ownerns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"

static int write_map(pid_t pid, const char *file, unsigned id)
{
        char path[64], map[32];
        _cleanup_close_ int fd = -1;
        int len;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        len = snprintf(map, sizeof(map), "0 %u 1\n", id);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return write(fd, map, (size_t)len) == len ? 0 : negative_errno();
}

static int open_ns(pid_t pid, const char *name, int *ret)
{
        char path[64];

        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
        *ret = open(path, O_RDONLY | O_CLOEXEC);
        return *ret < 0 ? negative_errno() : 0;
}

/* The child makes the namespaces (their owner is its uid), then waits until the parent holds
 * them: only async-signal-safe calls between fork and _exit. */
static _noreturn_ void child(const int report[2], const int go[2], uid_t uid, gid_t gid)
{
        int r = 0, report_fd = report[1], wait_fd = go[0];
        char c;

        close(report[0]);
        close(go[1]); /* or the wait below would never see EOF */

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
            setresuid(uid, uid, uid) < 0 || unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
                r = negative_errno();
        if (write(report_fd, &r, sizeof(r)) != sizeof(r))
                _exit(1);
        (void)!read(wait_fd, &c, 1);
        _exit(0);
}

int net_ownerns_make(uid_t uid, gid_t gid, int *ret_userns_fd, int *ret_netns_fd)
{
        int report[2], go[2], r, child_r = 0;
        _cleanup_close_ int userns = -1, netns = -1;
        pid_t pid;

        if (pipe2(report, O_CLOEXEC) < 0)
                return negative_errno();
        if (pipe2(go, O_CLOEXEC) < 0) {
                r = negative_errno();
                safe_close(report[0]);
                safe_close(report[1]);
                return r;
        }
        pid = fork();
        if (pid == 0)
                child(report, go, uid, gid);
        safe_close(report[1]);
        safe_close(go[0]);
        if (pid < 0) {
                r = negative_errno();
                safe_close(report[0]);
                safe_close(go[1]);
                return r;
        }
        r = read(report[0], &child_r, sizeof(child_r)) == sizeof(child_r) ? child_r : -EIO;
        if (r >= 0)
                r = write_map(pid, "uid_map", uid);
        if (r >= 0)
                r = write_map(pid, "gid_map", gid);
        if (r >= 0)
                r = open_ns(pid, "user", &userns);
        if (r >= 0)
                r = open_ns(pid, "net", &netns);
        safe_close(go[1]); /* the child may go: the fds hold the namespaces */
        safe_close(report[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        *ret_userns_fd = TAKE_FD(userns);
        *ret_netns_fd = TAKE_FD(netns);
        return 0;
}
