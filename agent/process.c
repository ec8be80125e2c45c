/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "macro.h"

/* The table of containers and processes, and everything about a process's stdio and exit. */

static struct agent_container *containers;
static unsigned n_containers, n_processes;
static void (*process_changed)(struct agent_process *p);
static struct agent_watch reaper = {.fd = -1};

/* A child can exit between crun writing its pid file and us registering it; remember a few
 * unclaimed exits so the registration finds them. */
#define EARLY_EXITS 64
static struct {
        pid_t pid;
        int status;
} early_exits[EARLY_EXITS];
static unsigned early_next;

static void on_stdout(struct agent_watch *w, uint32_t revents)
{
        (void)revents;
        process_changed(container_of(w, struct agent_process, watch_stdout));
}

static void on_stderr(struct agent_watch *w, uint32_t revents)
{
        (void)revents;
        process_changed(container_of(w, struct agent_process, watch_stderr));
}

static void on_stdin(struct agent_watch *w, uint32_t revents)
{
        (void)revents;
        process_changed(container_of(w, struct agent_process, watch_stdin));
}

static void on_sigchld(struct agent_watch *w, uint32_t revents)
{
        struct signalfd_siginfo si;

        (void)revents;
        while (read(w->fd, &si, sizeof(si)) == sizeof(si))
                ;
        agent_process_reap();
}

int agent_process_init(void (*fn)(struct agent_process *p))
{
        sigset_t mask;

        process_changed = fn;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        reaper.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (reaper.fd < 0)
                return negative_errno();
        reaper.fn = on_sigchld;
        return agent_watch_set(&reaper, EPOLLIN);
}

struct agent_container *agent_container_first(void)
{
        return containers;
}

unsigned agent_container_count(void)
{
        return n_containers;
}

unsigned agent_process_count(void)
{
        return n_processes;
}

struct agent_container *agent_container_find(const char *id)
{
        for (struct agent_container *c = containers; c; c = c->next)
                if (strcmp(c->id, id) == 0)
                        return c;
        return NULL;
}

struct agent_process *agent_process_find(struct agent_container *c, const char *exec_id)
{
        if (!c)
                return NULL;
        for (struct agent_process *p = c->processes; p; p = p->next)
                if (strcmp(p->exec_id, exec_id) == 0)
                        return p;
        return NULL;
}

int agent_container_add(const char *id, struct agent_container **ret_container)
{
        struct agent_container *c;

        if (strlen(id) > HAKO_MAX_ID_LEN)
                return -EINVAL;
        if (agent_container_find(id))
                return -EEXIST;
        if (n_containers >= HAKO_MAX_CONTAINERS)
                return -ENOSPC;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->oom_wd = -1;
        strcpy(c->id, id);
        snprintf(c->bundle, sizeof(c->bundle), "%s/%s", HAKO_GUEST_CONTAINERS_DIR, id);
        c->next = containers;
        containers = c;
        n_containers++;
        *ret_container = c;
        return 0;
}

void agent_container_forget(struct agent_container *c)
{
        while (c->processes)
                agent_process_forget(c->processes);
        for (struct agent_container **pp = &containers; *pp; pp = &(*pp)->next)
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        n_containers--;
        free(c);
}

static void process_set_status(struct agent_process *p, int status)
{
        p->exited = true;
        if (WIFSIGNALED(status)) {
                p->exit_signal = WTERMSIG(status);
                p->exit_code = 128 + p->exit_signal;
        } else {
                p->exit_code = WEXITSTATUS(status);
        }
}

int agent_process_add(struct agent_container *c, const char *exec_id, pid_t pid, bool terminal, int stdin_fd,
                      int stdout_fd, int stderr_fd, struct agent_process **ret_process)
{
        struct agent_process *p;

        if (strlen(exec_id) > HAKO_MAX_ID_LEN)
                return -EINVAL;
        if (agent_process_find(c, exec_id))
                return -EEXIST;
        if (n_processes >= HAKO_MAX_PROCESSES)
                return -ENOSPC;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        strcpy(p->exec_id, exec_id);
        p->container = c;
        p->pid = pid;
        p->terminal = terminal;
        p->stdin_fd = stdin_fd;
        p->stdout_fd = stdout_fd;
        p->stderr_fd = stderr_fd;
        p->stderr_eof = stderr_fd < 0;
        p->stdout_eof = stdout_fd < 0;
        p->watch_stdout = (struct agent_watch){.fd = stdout_fd, .fn = on_stdout};
        p->watch_stderr = (struct agent_watch){.fd = stderr_fd, .fn = on_stderr};
        /* With a pty, stdin is a duplicate of the master: its own fd for the loop. */
        p->watch_stdin = (struct agent_watch){.fd = stdin_fd, .fn = on_stdin};
        for (unsigned i = 0; i < EARLY_EXITS; i++)
                if (early_exits[i].pid == pid && pid > 0) {
                        process_set_status(p, early_exits[i].status);
                        early_exits[i].pid = 0;
                }
        p->next = c->processes;
        c->processes = p;
        c->n_processes++;
        n_processes++;
        *ret_process = p;
        return 0;
}

void agent_process_forget(struct agent_process *p)
{
        struct agent_container *c = p->container;

        agent_process_update_watches(p, false, false, false);
        safe_close(p->stdin_fd);
        safe_close(p->stdout_fd);
        safe_close(p->stderr_fd);
        for (struct agent_process **pp = &c->processes; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        c->n_processes--;
        n_processes--;
        free(p);
}

static struct agent_process *process_by_pid(pid_t pid)
{
        for (struct agent_container *c = containers; c; c = c->next)
                for (struct agent_process *p = c->processes; p; p = p->next)
                        if (p->pid == pid && !p->exited)
                                return p;
        return NULL;
}

void agent_process_reap(void)
{
        for (;;) {
                struct agent_process *p;
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);

                if (pid <= 0)
                        break;
                p = process_by_pid(pid);
                if (!p) {
                        early_exits[early_next].pid = pid;
                        early_exits[early_next].status = status;
                        early_next = (early_next + 1) % EARLY_EXITS;
                        continue;
                }
                process_set_status(p, status);
                process_changed(p);
        }
}

static void process_watch(struct agent_watch *w, uint32_t events, bool want)
{
        if (w->fd < 0)
                want = false;
        (void)agent_watch_set(w, want ? events : 0);
}

void agent_process_update_watches(struct agent_process *p, bool want_stdout, bool want_stderr,
                                  bool want_stdin)
{
        process_watch(&p->watch_stdout, EPOLLIN, want_stdout && !p->stdout_eof);
        process_watch(&p->watch_stderr, EPOLLIN, want_stderr && !p->stderr_eof);
        process_watch(&p->watch_stdin, EPOLLOUT, want_stdin && p->stdin_fd >= 0);
}

ssize_t agent_process_read(struct agent_process *p, bool err, void *buf, size_t len)
{
        int *fd = err ? &p->stderr_fd : &p->stdout_fd;
        bool *eof = err ? &p->stderr_eof : &p->stdout_eof;
        struct agent_watch *watch = err ? &p->watch_stderr : &p->watch_stdout;
        ssize_t n;

        if (*eof || *fd < 0)
                return 0;
        do
                n = read(*fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n > 0)
                return n;
        /* A pty master reads EIO once the slave side is gone. A drained pipe after the process
         * exited is EOF too: a background grandchild holding the write end must not hang the host. */
        if (n < 0 && errno == EAGAIN && !p->exited)
                return -EAGAIN;
        /* The pty hands the last output of an exited process to the master side asynchronously:
         * give it a moment before calling the stream drained. */
        if (n < 0 && errno == EAGAIN && p->terminal && !p->tty_drain_waited) {
                struct pollfd pfd = {.fd = *fd, .events = POLLIN};
                p->tty_drain_waited = true;
                if (poll(&pfd, 1, 50) > 0) {
                        do
                                n = read(*fd, buf, len);
                        while (n < 0 && errno == EINTR);
                        if (n > 0)
                                return n;
                }
        }
        *eof = true;
        (void)agent_watch_set(watch, 0);
        /* The pty master is shared with stdin; only a pipe is ours alone to close. */
        if (!p->terminal) {
                *fd = safe_close(*fd);
                watch->fd = -1;
        }
        return 0;
}

ssize_t agent_process_write(struct agent_process *p, const void *buf, size_t len)
{
        ssize_t n;

        if (p->stdin_fd < 0)
                return -EPIPE;
        do
                n = write(p->stdin_fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return n;
}

int agent_process_close_stdin(struct agent_process *p)
{
        if (p->stdin_fd < 0)
                return 0;
        /* A pty has no half-close: closing our master would hang up the whole terminal. Send the
         * VEOF character instead, which ends input for a program reading in canonical mode. */
        if (p->terminal) {
                (void)write(p->stdin_fd, "\x04", 1);
                return 0;
        }
        (void)agent_watch_set(&p->watch_stdin, 0);
        p->stdin_fd = safe_close(p->stdin_fd);
        p->watch_stdin.fd = -1;
        return 0;
}

static int process_read_cgroup(pid_t pid, char *ret_path, size_t size)
{
        char path[64], buf[512];
        _cleanup_close_ int fd = -1;
        ssize_t n;
        char *line;

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n < 0 ? negative_errno() : -ENODATA;
        buf[n] = 0;
        /* cgroup v2 only: "0::/path" */
        line = strstr(buf, "0::");
        if (!line)
                return -ENODATA;
        line += 3;
        line[strcspn(line, "\n")] = 0;
        if (snprintf(ret_path, size, "/sys/fs/cgroup%s", line) >= (int)size)
                return -ENAMETOOLONG;
        return 0;
}

int agent_process_cgroup_dir(struct agent_container *c, char *ret_path, size_t size)
{
        struct agent_process *init = agent_process_find(c, "");

        /* Known since the init was created; it stays after the init exits, until crun delete. */
        if (*c->cgroup) {
                if (snprintf(ret_path, size, "%s", c->cgroup) >= (int)size)
                        return -ENAMETOOLONG;
                return 0;
        }
        if (!init || init->exited || init->pid <= 0)
                return -ESRCH;
        return process_read_cgroup(init->pid, ret_path, size);
}

/* The container's own cgroup (never the guest's root, which holds us too). */
static int container_cgroup(struct agent_container *c, char *dir, size_t size)
{
        int r = agent_process_cgroup_dir(c, dir, size);

        if (r < 0)
                return r;
        if (strcmp(dir, "/sys/fs/cgroup/") == 0 || strcmp(dir, "/sys/fs/cgroup") == 0)
                return -ESRCH;
        return 0;
}

#define PROCS_MAX_DEPTH 8

/* Calls fn for every process in dir and the cgroups below it: a container with a delegated
 * cgroup (nested engines) has its processes in a leaf and its children's in their own. */
static void walk_procs(const char *dir, int depth, void (*fn)(pid_t pid, void *userdata), void *userdata)
{
        char path[PATH_MAX], line[32];
        FILE *f;
        DIR *d;
        struct dirent *de;

        if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
                return;
        f = fopen(path, "re");
        if (f) {
                while (fgets(line, sizeof(line), f)) {
                        long pid = strtol(line, NULL, 10);
                        if (pid > 1)
                                fn((pid_t)pid, userdata);
                }
                fclose(f);
        }
        if (depth >= PROCS_MAX_DEPTH || !(d = opendir(dir)))
                return;
        while ((de = readdir(d)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.' &&
                    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
                        walk_procs(path, depth + 1, fn, userdata);
        closedir(d);
}

struct pid_list {
        uint32_t *pids;
        size_t n, max;
};

static void list_one(pid_t pid, void *userdata)
{
        struct pid_list *l = userdata;

        if (l->n < l->max)
                l->pids[l->n++] = (uint32_t)pid;
}

int agent_process_list(struct agent_container *c, uint32_t *pids, size_t max, size_t *ret_n)
{
        struct pid_list l = {pids, 0, max};
        char dir[300];
        int r = container_cgroup(c, dir, sizeof(dir));

        if (r < 0)
                return r;
        walk_procs(dir, 0, list_one, &l);
        *ret_n = l.n;
        return 0;
}

static void kill_one(pid_t pid, void *userdata)
{
        (void)kill(pid, *(int *)userdata);
}

int agent_process_kill_all(struct agent_container *c, int sig)
{
        char dir[300];

        if (container_cgroup(c, dir, sizeof(dir)) == 0)
                walk_procs(dir, 0, kill_one, &sig);
        /* Also every process we know, in case the cgroup could not be read. */
        for (struct agent_process *p = c->processes; p; p = p->next)
                if (!p->exited && p->pid > 1)
                        (void)kill(p->pid, sig);
        return 0;
}
