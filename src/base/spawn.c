/* SPDX-License-Identifier: Apache-2.0 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int pidfd_open_(pid_t pid)
{
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

static _noreturn_ void child_fail(int errfd, int r)
{
        ssize_t k = write(errfd, &r, sizeof(r));
        (void)k;
        _exit(127);
}

static int dup_to(int from, int to)
{
        if (from == to)
                return fcntl(to, F_SETFD, 0) < 0 ? negative_errno() : 0;
        return dup2(from, to) < 0 ? negative_errno() : 0;
}

static void child(const struct spawn_opts *o, pid_t parent, int errfd)
{
        int fds[3] = {o->stdin_fd, o->stdout_fd, o->stderr_fd};
        int moved[16];
        int r;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                child_fail(errfd, negative_errno());
        /* The parent already died before prctl took effect (in a new PID namespace the parent is
         * outside it: 0). */
        if (getppid() != (o->namespaces & CLONE_NEWPID ? 0 : parent))
                child_fail(errfd, -ESRCH);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int s = 1; s < NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        signal(s, SIG_DFL);
        if (o->new_session)
                setsid();

        /* Move every source fd above the target range first, so dup2 never clobbers one. */
        if (o->n_pass_fds > (int)ELEMENTSOF(moved))
                child_fail(errfd, -E2BIG);
        for (int i = 0; i < o->n_pass_fds; i++) {
                moved[i] = fcntl(o->pass_fds[i], F_DUPFD_CLOEXEC, 64);
                if (moved[i] < 0)
                        child_fail(errfd, negative_errno());
        }
        for (int i = 0; i < 3; i++) {
                if (fds[i] < 0) {
                        fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
                        if (fds[i] < 0)
                                child_fail(errfd, negative_errno());
                }
                fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
                if (fds[i] < 0)
                        child_fail(errfd, negative_errno());
        }
        for (int i = 0; i < 3; i++)
                if ((r = dup_to(fds[i], i)) < 0)
                        child_fail(errfd, r);
        for (int i = 0; i < o->n_pass_fds; i++)
                if ((r = dup_to(moved[i], 3 + i)) < 0)
                        child_fail(errfd, r);
        if (o->pre_exec && (r = o->pre_exec(o->userdata)) < 0)
                child_fail(errfd, r);
        /* A credential change in pre_exec (a jail's set*id) cleared the parent-death signal: set
         * it again, and make sure the parent is still there (the error pipe's read end is ours to
         * see closed: POLLERR on the write end). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                child_fail(errfd, negative_errno());
        {
                struct pollfd p = {.fd = errfd, .events = 0};
                if (poll(&p, 1, 0) > 0 && (p.revents & POLLERR))
                        _exit(127);
        }
        if (o->envp)
                execvpe(o->argv[0], (char *const *)o->argv, (char *const *)o->envp);
        else
                execvp(o->argv[0], (char *const *)o->argv);
        child_fail(errfd, negative_errno());
}

int spawn_process(const struct spawn_opts *o, pid_t *ret_pid, int *ret_pidfd)
{
        int errpipe[2];
        pid_t parent = getpid(), pid;
        int child_err = 0;
        ssize_t n;

        if (pipe2(errpipe, O_CLOEXEC) < 0)
                return negative_errno();
        if (o->namespaces) {
                struct clone_args args = {.flags = o->namespaces, .exit_signal = SIGCHLD};
                pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
        } else
                pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                safe_close(errpipe[0]);
                safe_close(errpipe[1]);
                return r;
        }
        if (pid == 0) {
                safe_close(errpipe[0]);
                child(o, parent, errpipe[1]);
                _exit(127);
        }
        safe_close(errpipe[1]);
        do
                n = read(errpipe[0], &child_err, sizeof(child_err));
        while (n < 0 && errno == EINTR);
        safe_close(errpipe[0]);
        if (n == sizeof(child_err)) {
                waitpid(pid, NULL, 0);
                return child_err < 0 ? child_err : -EIO;
        }
        if (ret_pidfd) {
                int pidfd = pidfd_open_(pid);
                if (pidfd < 0) {
                        int r = negative_errno();
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        return r;
                }
                *ret_pidfd = pidfd;
        }
        *ret_pid = pid;
        return 0;
}
