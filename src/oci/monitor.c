/* SPDX-License-Identifier: Apache-2.0 */
#include "monitor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "console.h"
#include "container.h"
#include "control.h"
#include "exec-session.h"
#include "fileio.h"
#include "harden.h"
#include "hooks.h"
#include "host-cgroup.h"
#include "log.h"
#include "netns.h"
#include "pollset.h"
#include "error.h"
#include "macro.h"
#include "oci-state.h"
#include "relay.h"
#include "run-log.h"
#include "sandbox.h"
#include "state.h"
#include "timeutil.h"
#include "watch.h"

#define EXIT_HAKO_ERROR     125
#define AGENT_TIMEOUT_MS    60000
#define EXIT_KILLED_BY_HAKO (128 + SIGKILL)
/* Once the init is gone the container's other processes die with its PID namespace: their
 * relays get this long to deliver the last output and exit codes. */
#define EXECS_AFTER_INIT_MS 2000

struct monitor {
        const struct monitor_config *c;
        struct sandbox *sb;
        struct container *ctr;
        int ctl_fd, signal_fd;
        int net_fd;            /* changes of the network namespace (watch.h); -1: not watched */
        long long net_sync_at; /* when to mirror them into the guest; 0: nothing pending */
        bool paused, shutdown, vm_gone, init_done;
        long long init_done_at;
        struct run_log log;                    /* a detached `hako run`'s output; fds -1 otherwise */
        int stdin_read, stdin_keep;            /* an open, silent stdin (-i); -1: none */
        struct host_cgroup_limits host_limits; /* as last applied (create, then updates) */
};

static void set_status(struct monitor *m, const char *status)
{
        state_write(m->sb->state_dir, "oci_status", status);
}

/* Hooks get the state as the spec defines it, with the status of the moment. */
static int run_hooks(struct monitor *m, const char *kind, const char *status, char **ret_error)
{
        return hooks_run_state(m->c->hooks, kind, m->c->id, status, getpid(), m->c->bundle, m->c->annotations,
                               ret_error);
}

static int do_start(struct monitor *m, char **ret_error)
{
        _cleanup_free_ char *hook_error = NULL;
        int r;

        if (m->ctr->started)
                return error_set(ret_error, -EEXIST, "cannot start an already running container");
        r = container_start(m->ctr, ret_error);
        if (r < 0)
                return r;
        set_status(m, "running");
        /* The spec: a failing poststart hook is a warning, the container keeps running. */
        if (run_hooks(m, "poststart", "running", &hook_error) < 0)
                log_warning("poststart hook: %s", hook_error ? hook_error : "failed");
        return 0;
}

static int do_kill(struct monitor *m, int sig, bool all, char **ret_error)
{
        int r;

        if (m->paused) {
                /* A frozen VM cannot deliver anything; SIGKILL must still work (docker stop, kill
                 * of a paused container), so thaw it for that one. */
                if (sig != SIGKILL)
                        return error_set(ret_error, -EBUSY, "container is paused; only SIGKILL can be sent");
                r = m->sb->vm->ops->resume(m->sb->vm);
                if (r < 0)
                        return error_set(ret_error, r, "cannot resume the VM: %s", strerror(-r));
                m->paused = false;
                set_status(m, m->ctr->started ? "running" : "created");
        }
        return container_signal(m->ctr, "", sig, all, ret_error);
}

static int do_pause(struct monitor *m, bool pause, char **ret_error)
{
        int r;

        if (pause && !m->ctr->started)
                return error_set(ret_error, -EINVAL, "container not running");
        if (pause == m->paused)
                return error_set(ret_error, -EINVAL,
                                 pause ? "container already paused" : "container not paused");
        r = pause ? m->sb->vm->ops->pause(m->sb->vm) : m->sb->vm->ops->resume(m->sb->vm);
        if (r < 0)
                return error_set(ret_error, r, "cannot %s the VM: %s", pause ? "pause" : "resume",
                                 strerror(-r));
        m->paused = pause;
        set_status(m, pause ? "paused" : "running");
        return 0;
}

static int do_exec(struct monitor *m, struct control_msg *msg, char **ret_error)
{
        struct exec_session *session;

        if (m->paused)
                return error_set(ret_error, -EBUSY, "cannot exec in a paused container");
        if (m->init_done)
                return error_set(ret_error, -ESRCH, "cannot exec in a stopped container");
        if (m->ctr->n_execs >= EXEC_SESSIONS_MAX)
                return error_set(ret_error, -EBUSY, "too many exec processes (%d) in this container",
                                 EXEC_SESSIONS_MAX);
        return exec_session_start(m->ctr, msg, &session, ret_error);
}

static int do_update(struct monitor *m, const char *resources, char **ret_error)
{
        if (m->paused)
                return error_set(ret_error, -EBUSY, "container is paused");
        json_t *res = json_loads(resources, 0, NULL);
        int r;

        if (!json_is_object(res)) {
                json_decref(res);
                return error_set(ret_error, -EINVAL, "the resources are not a JSON object");
        }
        r = container_update(m->ctr, resources, ret_error);
        /* The host side follows the CPU and pids limits; the VM keeps the size it booted with. */
        if (r >= 0 && m->c->host_cgroup) {
                struct host_cgroup_limits l = m->host_limits;
                l.cpu_set = l.pids_set = false; /* only what this update mentions */
                host_cgroup_limits_merge(&l, res);
                if (host_cgroup_set_limits(m->c->host_cgroup, &l) < 0)
                        log_warning("host cgroup %s: cannot set the limits", m->c->host_cgroup);
                m->host_limits = l;
        }
        json_decref(res);
        return r;
}

/* The guest cgroup's numbers, as one line of JSON for `hako events`. */
static int do_stats(struct monitor *m, struct control_msg *msg, char **ret_error)
{
        Hako__Agent__V1__StatsContainerResponse *st = NULL;
        uint64_t io_read = 0, io_write = 0;
        struct arena arena;
        int r;

        if (m->paused)
                return error_set(ret_error, -EBUSY, "container is paused");
        r = arena_init(&arena, 64 * 1024);
        if (r < 0)
                return r;
        r = container_stats(m->ctr, &arena, &st, ret_error);
        if (r >= 0) {
                for (size_t i = 0; i < st->n_io; i++) {
                        io_read += st->io[i]->rbytes;
                        io_write += st->io[i]->wbytes;
                }
                if (asprintf(&msg->answer_data,
                             "{\"cpu_usage_usec\":%" PRIu64 ",\"cpu_user_usec\":%" PRIu64
                             ",\"cpu_system_usec\":%" PRIu64 ",\"memory_current\":%" PRIu64
                             ",\"memory_max\":%" PRIu64 ",\"pids_current\":%" PRIu64 ",\"pids_max\":%" PRIu64
                             ",\"io_read_bytes\":%" PRIu64 ",\"io_write_bytes\":%" PRIu64 "}",
                             st->cpu_usage_usec, st->cpu_user_usec, st->cpu_system_usec, st->memory_current,
                             st->memory_max, st->pids_current, st->pids_max, io_read, io_write) < 0) {
                        msg->answer_data = NULL;
                        r = -ENOMEM;
                }
        }
        arena_done(&arena);
        return r;
}

static int handle_request(void *userdata, struct control_msg *msg, char **ret_error)
{
        struct monitor *m = userdata;
        const char *req = msg->text;
        int sig, all;

        if (!strcmp(req, "start"))
                return do_start(m, ret_error);
        if (sscanf(req, "kill %d %d", &sig, &all) == 2)
                return do_kill(m, sig, all != 0, ret_error);
        if (!strcmp(req, "pause"))
                return do_pause(m, true, ret_error);
        if (!strcmp(req, "resume"))
                return do_pause(m, false, ret_error);
        if (!strncmp(req, "exec ", 5))
                return do_exec(m, msg, ret_error);
        if (!strncmp(req, "update\n", 7))
                return do_update(m, req + 7, ret_error);
        if (!strcmp(req, "stats"))
                return do_stats(m, msg, ret_error);
        if (!strcmp(req, "shutdown")) {
                m->shutdown = true; /* acted on once the answer is out */
                return 0;
        }
        return error_set(ret_error, -EOPNOTSUPP, "unknown request");
}

static void on_exit_of(void *userdata, struct process *p)
{
        struct monitor *m = userdata;

        if (p == m->ctr->init) {
                m->init_done = true;
                m->init_done_at = mono_ms();
        } else
                exec_session_end(p->userdata, p->exit_code);
}

static void on_signal(void *userdata, short revents)
{
        struct monitor *m = userdata;

        (void)revents;
        relay_forward_signals(m->ctr->init->relay, m->signal_fd);
}

static void on_vm_exit(void *userdata, short revents)
{
        (void)revents;
        ((struct monitor *)userdata)->vm_gone = true;
}

/* A change comes in bursts (a veth moved in, then its addresses and routes): the guest follows
 * once they settle. */
#define NET_SETTLE_MS 100

static void on_net(void *userdata, short revents)
{
        struct monitor *m = userdata;

        (void)revents;
        if (net_watch_drain(m->net_fd) && !m->net_sync_at)
                m->net_sync_at = mono_ms() + NET_SETTLE_MS;
}

static void net_sync(struct monitor *m)
{
        _cleanup_free_ char *error = NULL;

        m->net_sync_at = 0;
        /* The container keeps running: the caller's later change is what failed. */
        if (sandbox_net_sync(m->sb, &error) < 0)
                log_error("container %s: the network namespace changed, and the guest cannot follow: %s",
                          m->c->id, error ? error : "unknown error");
}

static void on_control(void *userdata, short revents)
{
        struct monitor *m = userdata;

        (void)revents;
        control_serve_one(m->ctl_fd, handle_request, m);
}

static void on_exec_conn(void *userdata, short revents)
{
        (void)revents;
        exec_session_on_conn(userdata);
}

/* Relays the init's stdio and every exec's until the init is done (and the execs, for a
 * moment), serving the control socket. Returns 0 once the init is done, -ECANCELED on
 * `shutdown`, -ECHILD when the VM died, or -errno. */
static int monitor_loop(struct monitor *m)
{
        struct pollset *ps = malloc(sizeof(*ps));
        int r = 0;

        if (!ps)
                return -ENOMEM;
        for (;;) {
                pollset_reset(ps);
                r = sandbox_reap(m->sb, ps, on_exit_of, m);
                if (r < 0)
                        break;
                if (m->shutdown) {
                        r = -ECANCELED;
                        break;
                }
                if (m->vm_gone) {
                        r = -ECHILD;
                        break;
                }
                if (m->init_done) {
                        long long left = m->init_done_at + EXECS_AFTER_INIT_MS - mono_ms();
                        if (m->ctr->n_execs == 0 || left <= 0)
                                break;
                        pollset_timeout(ps, left);
                }
                if (m->net_sync_at) {
                        long long left = m->net_sync_at - mono_ms();
                        if (left <= 0)
                                net_sync(m);
                        else
                                pollset_timeout(ps, left);
                }
                sandbox_poll_add(m->sb, ps);
                run_log_poll_add(&m->log, ps);
                (void)pollset_add(ps, m->net_fd, POLLIN, on_net, m);
                (void)pollset_add(ps, m->signal_fd, POLLIN, on_signal, m);
                (void)pollset_add(ps, m->sb->vm->pidfd, POLLIN, on_vm_exit, m);
                (void)pollset_add(ps, m->ctl_fd, POLLIN, on_control, m);
                for (struct process *p = m->ctr->execs; p; p = p->next) {
                        struct exec_session *s = p->userdata;
                        (void)pollset_add(ps, s->conn_fd, POLLIN, on_exec_conn, s);
                }
                r = pollset_wait(ps);
                if (r < 0)
                        break;
        }
        free(ps);
        return r;
}

static int create_container(struct monitor *m, int tty_fd, char **ret_error)
{
        struct winsize ws = {0};

        if (m->c->tty && tty_fd >= 0)
                ioctl(tty_fd, TIOCGWINSZ, &ws);
        struct container_config cc = {
            .id = m->c->id,
            .spec = m->c->spec,
            .rootfs_guest = m->c->rootfs_guest,
            /* like runc: a bundle's rootfs is the container's; an image stays pristine */
            .overlay = m->c->overlay,
            .readonly = m->c->rootfs_ro,
            .tty = m->c->tty,
            .rows = ws.ws_row,
            .columns = ws.ws_col,
        };
        return container_create(m->sb, &cc, &m->ctr, ret_error);
}

static int write_record(struct monitor *m)
{
        char buf[64];
        _cleanup_free_ char *ann = json_dumps(m->c->annotations, JSON_COMPACT);
        _cleanup_free_ char *hooks = m->c->hooks ? json_dumps(m->c->hooks, JSON_COMPACT) : NULL;
        const char *dir = m->sb->state_dir;
        int r;

        snprintf(buf, sizeof(buf), "%d", (int)getpid());
        r = state_write(dir, "pid", buf);
        if (r >= 0 && m->c->run) {
                /* No bundle: the spec as the guest has it is what `hako exec` builds on. */
                _cleanup_free_ char *spec = json_dumps(m->c->spec, JSON_COMPACT);
                r = spec ? state_write(dir, "config.json", spec) : -ENOMEM;
                if (r >= 0)
                        r = state_write(dir, "run", "detached");
        }
        if (r >= 0)
                r = state_write(dir, "bundle", m->c->bundle ?: dir);
        oci_format_time(buf, sizeof(buf));
        if (r >= 0)
                r = state_write(dir, "created", buf);
        if (r >= 0 && ann)
                r = state_write(dir, "annotations", ann);
        if (r >= 0 && hooks) /* for the poststop hooks, which `hako delete` runs */
                r = state_write(dir, "hooks", hooks);
        if (r >= 0 && m->c->host_cgroup) /* removed by `hako delete` */
                r = state_write(dir, "host_cgroup", m->c->host_cgroup);
        if (r >= 0)
                r = state_write(dir, "oci_status", "created");
        /* Kept until `hako delete` (`hako rm`), even if this process is killed; not with --rm. */
        if (r >= 0 && !m->c->remove_at_exit)
                r = state_keep(dir);
        return r;
}

void monitor_notify(int fd, int r, int exit_code, const char *error)
{
        char *msg = NULL;

        if (r >= 0)
                msg = strdup("0");
        else if (asprintf(&msg, "%d %d %s", r, exit_code, error ? error : strerror(-r)) < 0)
                msg = NULL;
        if (msg)
                (void)!write(fd, msg, strlen(msg));
        free(msg);
        safe_close(fd);
}

static void notify(int fd, int r, const char *error)
{
        monitor_notify(fd, r, EXIT_HAKO_ERROR, error);
}

int monitor_read_verdict(int fd, int *ret_exit_code, char **ret_error)
{
        char buf[4096];
        size_t len = 0;
        int r = 0, code = EXIT_HAKO_ERROR, off = 0;

        for (;;) {
                ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
                if (len == sizeof(buf) - 1)
                        break;
        }
        buf[len] = 0;
        if (ret_exit_code)
                *ret_exit_code = EXIT_HAKO_ERROR;
        /* EOF first: it died. */
        if (len == 0 || sscanf(buf, "%d %n", &r, &off) < 1)
                return error_set(ret_error, -EIO, "the container's host process exited unexpectedly");
        if (r >= 0)
                return r > 0 ? -EIO : 0;
        if (sscanf(buf, "%d %d %n", &r, &code, &off) < 2)
                off = 0;
        if (ret_exit_code)
                *ret_exit_code = code;
        if (buf[off])
                error_set(ret_error, r, "%s", buf + off);
        return r;
}

/* A detached run's stdio: the log, and with -i a stdin that stays open with nothing in it (the
 * container's shell waits, as under Docker's `run -di`); the read end is the relay's. */
static int start_run_io(struct monitor *m, char **ret_error)
{
        int r = run_log_open(m->sb->state_dir, &m->log), p[2];

        if (r < 0)
                return error_set(ret_error, r, "cannot create the container's log: %s", strerror(-r));
        if (m->c->stdin_open) {
                if (pipe2(p, O_CLOEXEC) < 0)
                        return error_set(ret_error, negative_errno(), "cannot create a pipe: %m");
                m->stdin_read = p[0];
                m->stdin_keep = p[1];
        }
        return 0;
}

int monitor_main(const struct monitor_config *c, int notify_fd)
{
        struct monitor m = {.c = c,
                            .ctl_fd = -1,
                            .signal_fd = -1,
                            .net_fd = -1,
                            .stdin_read = -1,
                            .stdin_keep = -1,
                            .host_limits = c->host_limits};
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int tty_fd = -1, sfd = -1;
        sigset_t oldmask;
        int r, exit_code = EXIT_HAKO_ERROR;

        setsid();
        /* The VM's own network is the guest's; the namespace is its host side (netns.h). */
        r = netns_enter(c->netns_path, c->new_netns);
        if (r < 0) {
                error_set(&error, r, "cannot enter the container's network namespace%s%s: %s",
                          c->netns_path ? " " : "", c->netns_path ?: "", strerror(-r));
                notify(notify_fd, r, error);
                return EXIT_HAKO_ERROR;
        }
        /* Before QEMU and virtiofsd are forked: they inherit it. A host without writable
         * cgroups (rootless) still runs the container. */
        if (c->host_cgroup) {
                r = host_cgroup_enter(c->host_cgroup, getpid());
                if (r >= 0)
                        r = host_cgroup_set_limits(c->host_cgroup, &c->host_limits);
                if (r < 0)
                        log_warning("host cgroup %s: %s", c->host_cgroup, strerror(-r));
        }
        run_log_init(&m.log);
        /* Our stderr is the container's: our own messages go to --log only. */
        log_set_output(c->log_fd >= 0 ? c->log_fd : open("/dev/null", O_WRONLY | O_CLOEXEC), c->log_json);
        /* Signals for the container, from the start: one arriving while the VM boots is
         * forwarded once the container exists instead of killing us half-way. */
        sfd = relay_signalfd(&oldmask);
        if (sfd < 0) {
                notify(notify_fd, sfd, "cannot set up signal handling");
                return EXIT_HAKO_ERROR;
        }
        if (c->console_socket) {
                r = console_send_pty(c->console_socket, &tty_fd);
                if (r < 0) {
                        error_set(&error, r, "cannot send a console to %s: %s", c->console_socket,
                                  strerror(-r));
                        notify(notify_fd, r, error);
                        return EXIT_HAKO_ERROR;
                }
                stdio_to_null();
        } else if (c->tty)
                tty_fd = fcntl(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);

        /* Watched from before the hooks: what comes after them (`docker network connect`) is
         * hot-added once it settles. */
        if (c->net_mode != NET_MODE_NONE && net_watch_open(&m.net_fd) < 0)
                log_warning("cannot watch the network namespace: later changes will not reach the guest");
        /* runc runs createRuntime (and the deprecated prestart) once the container's namespaces
         * exist, before start. Here the namespace that matters to them is the network one, ours
         * already: running them before the VM boots lets it start with the interfaces Docker's
         * libnetwork-setkey moves in (hot-plugging them later costs a third of a second). */
        r = run_hooks(&m, "prestart", "created", &error);
        if (r >= 0)
                r = run_hooks(&m, "createRuntime", "created", &error);
        if (r < 0) {
                safe_close(m.net_fd);
                notify(notify_fd, r, error);
                return EXIT_HAKO_ERROR;
        }
        struct sandbox_config sc = {
            .id = c->id,
            .state_root = c->root,
            .accel = c->accel,
            .vcpus = c->vcpus,
            .memory_mib = c->memory_mib,
            .shares = c->shares,
            .net_mode = c->net_mode,
            .tuning = c->tuning,
            .host_network = c->host_network,
            /* Interfaces that come later (`docker network connect`) are hot-plugged. */
            .machine = c->machine ?: (c->net_mode != NET_MODE_NONE ? "pc" : NULL),
            .boot_timeout_ms = c->boot_timeout_ms,
            .debug = c->debug,
        };
        r = sandbox_create(&sc, &m.sb, &error);
        if (r < 0) {
                safe_close(m.net_fd);
                notify(notify_fd, r, error);
                return EXIT_HAKO_ERROR;
        }
        int fail_code = EXIT_HAKO_ERROR;
        r = c->run ? start_run_io(&m, &error) : 0;
        if (r >= 0) {
                r = create_container(&m, tty_fd, &error);
                if (r < 0)
                        fail_code = container_create_exit_code(r);
        }
        if (r >= 0)
                r = write_record(&m);
        if (r >= 0)
                r = control_listen(m.sb->state_dir, &m.ctl_fd);
        /* The VM runs: what this process never needs again goes (harden.h). */
        if (r >= 0 && (r = harden_host_process()) < 0)
                error_set(&error, r, "cannot give up the host process's privileges: %s", strerror(-r));
        if (r >= 0 && c->run) {
                r = do_start(&m, &error);
                if (r < 0)
                        fail_code = container_create_exit_code(r);
        }
        if (r < 0) {
                sandbox_destroy(m.sb, false);
                safe_close(m.ctl_fd);
                safe_close(m.net_fd);
                safe_close(m.stdin_keep);
                safe_close(m.stdin_read);
                run_log_close(&m.log);
                monitor_notify(notify_fd, r, fail_code, error);
                return EXIT_HAKO_ERROR;
        }
        notify(notify_fd, 0, NULL);

        m.signal_fd = sfd;
        if (c->run)
                r = process_relay(m.ctr->init, m.stdin_read, m.log.out_w, c->tty ? m.log.out_w : m.log.err_w,
                                  -1);
        else
                r = process_relay(m.ctr->init, c->console_socket ? tty_fd : STDIN_FILENO,
                                  c->console_socket ? tty_fd : STDOUT_FILENO,
                                  c->console_socket ? tty_fd : STDERR_FILENO, tty_fd);
        if (r >= 0)
                r = monitor_loop(&m);
        if (r >= 0)
                exit_code = m.ctr->init->exit_code;
        if (r == -ECANCELED && m.shutdown)
                /* `hako delete`: the container dies with its VM; delete removes the record once we
                 * are gone (it needs the hooks in it). */
                exit_code = EXIT_KILLED_BY_HAKO;
        else if (r < 0) {
                exit_code = EXIT_HAKO_ERROR;
                log_error_errno(r, "lost the container '%s': %m", c->id);
        }
        /* The output the relay passed on before it finished is logged in full. */
        run_log_finish(&m.log);
        /* No more requests: a late client gets "not running" instead of waiting. */
        m.ctl_fd = safe_close(m.ctl_fd);
        m.net_fd = safe_close(m.net_fd);
        while (m.ctr->execs)
                exec_session_end(m.ctr->execs->userdata, EXIT_KILLED_BY_HAKO);
        char code[16];
        _cleanup_free_ char *sock = NULL;
        snprintf(code, sizeof(code), "%d", exit_code);
        state_write(m.sb->state_dir, "exit_code", code);
        set_status(&m, "stopped");
        if (asprintf(&sock, "%s/" CONTROL_SOCKET, m.sb->state_dir) >= 0)
                unlink(sock);
        sandbox_destroy(m.sb, !c->remove_at_exit);
        run_log_close(&m.log);
        safe_close(m.stdin_keep);
        safe_close(m.stdin_read);
        return exit_code;
}
