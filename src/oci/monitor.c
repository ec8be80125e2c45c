/* SPDX-License-Identifier: Apache-2.0 */
#include "monitor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "console.h"
#include "control.h"
#include "hooks.h"
#include "log.h"
#include "error.h"
#include "macro.h"
#include "oci-state.h"
#include "relay.h"
#include "sandbox.h"
#include "state.h"

#define EXIT_HAKO_ERROR     125
#define AGENT_TIMEOUT_MS    60000
#define EXIT_KILLED_BY_HAKO (128 + SIGKILL)

struct monitor {
        const struct monitor_config *c;
        struct sandbox *sb;
        int ctl_fd;
        bool started, paused, shutdown;
};

static void set_status(struct monitor *m, const char *status)
{
        state_write(m->sb->state_dir, "oci_status", status);
}

/* Hooks get the state as the spec defines it, with the status of the moment. */
static int run_hooks(struct monitor *m, const char *kind, const char *status, char **ret_error)
{
        struct oci_state s = {.id = (char *)m->c->id,
                              .status = (char *)status,
                              .pid = getpid(),
                              .bundle = (char *)m->c->bundle,
                              .annotations = m->c->annotations};
        _cleanup_free_ char *json = NULL;
        json_t *j;

        if (!json_array_size(json_object_get(m->c->hooks, kind)))
                return 0;
        j = oci_state_json(&s);
        json = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!json)
                return -ENOMEM;
        return hooks_run(m->c->hooks, kind, json, ret_error);
}

static int do_start(struct monitor *m, char **ret_error)
{
        Hako__Agent__V1__StartContainerRequest req = HAKO__AGENT__V1__START_CONTAINER_REQUEST__INIT;
        _cleanup_free_ char *hook_error = NULL;
        int r;

        if (m->started)
                return error_set(ret_error, -EEXIST, "cannot start an already running container");
        req.container_id = (char *)m->c->id;
        r = agent_call(&m->sb->agent, "StartContainer", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL,
                       ret_error);
        if (r < 0)
                return r;
        m->started = true;
        set_status(m, "running");
        /* The spec: a failing poststart hook is a warning, the container keeps running. */
        if (run_hooks(m, "poststart", "running", &hook_error) < 0)
                log_warning("poststart hook: %s", hook_error ? hook_error : "failed");
        return 0;
}

static int do_kill(struct monitor *m, int sig, bool all, char **ret_error)
{
        Hako__Agent__V1__SignalProcessRequest req = HAKO__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
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
                set_status(m, m->started ? "running" : "created");
        }
        req.container_id = (char *)m->c->id;
        req.exec_id = (char *)"";
        req.signal = (uint32_t)sig;
        req.all = all;
        return agent_call(&m->sb->agent, "SignalProcess", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL,
                          ret_error);
}

static int do_pause(struct monitor *m, bool pause, char **ret_error)
{
        int r;

        if (pause && !m->started)
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

static int handle_request(void *userdata, const char *req, char **ret_error)
{
        struct monitor *m = userdata;
        int sig, all;

        if (!strcmp(req, "start"))
                return do_start(m, ret_error);
        if (sscanf(req, "kill %d %d", &sig, &all) == 2)
                return do_kill(m, sig, all != 0, ret_error);
        if (!strcmp(req, "pause"))
                return do_pause(m, true, ret_error);
        if (!strcmp(req, "resume"))
                return do_pause(m, false, ret_error);
        if (!strcmp(req, "shutdown")) {
                m->shutdown = true; /* acted on once the answer is out */
                return 0;
        }
        return error_set(ret_error, -EOPNOTSUPP, "unknown request");
}

static int on_control(void *userdata)
{
        struct monitor *m = userdata;

        control_serve_one(m->ctl_fd, handle_request, m);
        return m->shutdown ? -ECANCELED : 0;
}

static int create_container(struct monitor *m, int tty_fd, char **ret_error)
{
        Hako__Agent__V1__CreateContainerRequest req = HAKO__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
        Hako__Agent__V1__Rootfs rootfs = HAKO__AGENT__V1__ROOTFS__INIT;
        _cleanup_free_ char *json = json_dumps(m->c->spec, JSON_COMPACT);
        struct winsize ws = {0};

        if (!json)
                return -ENOMEM;
        if (m->c->tty && tty_fd >= 0)
                ioctl(tty_fd, TIOCGWINSZ, &ws);
        rootfs.source = (char *)HAKO_GUEST_SHARED_DIR "/rootfs";
        rootfs.overlay = false; /* like runc: the bundle's rootfs is the container's */
        rootfs.readonly = m->c->rootfs_ro;
        req.container_id = (char *)m->c->id;
        req.oci_spec = json;
        req.rootfs = &rootfs;
        req.terminal = m->c->tty;
        req.rows = ws.ws_row;
        req.columns = ws.ws_col;
        return agent_call(&m->sb->agent, "CreateContainer", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL,
                          ret_error);
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
        if (r >= 0)
                r = state_write(dir, "bundle", m->c->bundle);
        oci_format_time(buf, sizeof(buf));
        if (r >= 0)
                r = state_write(dir, "created", buf);
        if (r >= 0 && ann)
                r = state_write(dir, "annotations", ann);
        if (r >= 0 && hooks) /* for the poststop hooks, which `hako delete` runs */
                r = state_write(dir, "hooks", hooks);
        if (r >= 0)
                r = state_write(dir, "oci_status", "created");
        /* Kept until `hako delete`, even if this process is killed. */
        if (r >= 0)
                r = state_keep(dir);
        return r;
}

static void notify(int fd, int r, const char *error)
{
        char *msg = NULL;

        if (r >= 0)
                msg = strdup("0");
        else if (asprintf(&msg, "%d %s", r, error ? error : strerror(-r)) < 0)
                msg = NULL;
        if (msg)
                (void)!write(fd, msg, strlen(msg));
        free(msg);
        safe_close(fd);
}

/* The monitor must not keep the pipes of `hako create`'s caller open beyond the stdio it relays. */
static void stdio_to_null(void)
{
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null < 0)
                return;
        for (int fd = 0; fd <= 2; fd++)
                dup2(null, fd);
        safe_close(null);
}

/* Fds the caller of `hako create` leaked to us (no O_CLOEXEC) would stay open as long as the
 * container runs: a caller waiting for EOF on one of them would hang. Keep only what we use. */
static void close_inherited_fds(int keep1, int keep2)
{
        int fds[256], n = 0;
        struct dirent *de;
        DIR *d = opendir("/proc/self/fd");

        if (!d)
                return;
        while ((de = readdir(d)) && n < (int)ELEMENTSOF(fds)) {
                int fd = atoi(de->d_name);
                if (fd > 2 && fd != keep1 && fd != keep2 && fd != dirfd(d))
                        fds[n++] = fd;
        }
        closedir(d);
        for (int i = 0; i < n; i++)
                close(fds[i]);
}

int monitor_main(const struct monitor_config *c, int notify_fd)
{
        struct monitor m = {.c = c, .ctl_fd = -1};
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int tty_fd = -1, sfd = -1;
        sigset_t oldmask;
        int r, exit_code = EXIT_HAKO_ERROR;

        setsid();
        close_inherited_fds(notify_fd, c->log_fd);
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

        struct sandbox_config sc = {
            .id = c->id,
            .state_root = c->root,
            .accel = c->accel,
            .vcpus = c->vcpus,
            .memory_mib = c->memory_mib,
            .shares = c->shares,
            .n_shares = c->n_shares,
            .boot_timeout_ms = c->boot_timeout_ms,
            .debug = c->debug,
        };
        r = sandbox_create(&sc, &m.sb, &error);
        if (r < 0) {
                notify(notify_fd, r, error);
                return EXIT_HAKO_ERROR;
        }
        r = create_container(&m, tty_fd, &error);
        if (r >= 0)
                r = write_record(&m);
        if (r >= 0)
                r = control_listen(m.sb->state_dir, &m.ctl_fd);
        if (r >= 0) {
                /* runc runs createRuntime (and the deprecated prestart) once the container exists
                 * and before start; here that is after the guest's `crun create`. */
                r = run_hooks(&m, "prestart", "created", &error);
                if (r >= 0)
                        r = run_hooks(&m, "createRuntime", "created", &error);
        }
        if (r < 0) {
                sandbox_destroy(m.sb, false);
                safe_close(m.ctl_fd);
                notify(notify_fd, r, error);
                return EXIT_HAKO_ERROR;
        }
        notify(notify_fd, 0, NULL);

        struct relay_opts ro = {
            .agent = &m.sb->agent,
            .vm_pidfd = m.sb->vm->pidfd,
            .container_id = c->id,
            .exec_id = "",
            .in_fd = c->console_socket ? tty_fd : STDIN_FILENO,
            .out_fd = c->console_socket ? tty_fd : STDOUT_FILENO,
            .err_fd = c->console_socket ? tty_fd : STDERR_FILENO,
            .tty = c->tty,
            .winsize_fd = tty_fd,
            .signal_fd = sfd,
            .extra_fd = m.ctl_fd,
            .on_extra_fd = on_control,
            .userdata = &m,
        };
        r = relay_run(&ro, &exit_code);
        if (r == -ECANCELED && m.shutdown)
                /* `hako delete`: the container dies with its VM; delete removes the record once we
                 * are gone (it needs the hooks in it). */
                exit_code = EXIT_KILLED_BY_HAKO;
        else if (r < 0) {
                exit_code = EXIT_HAKO_ERROR;
                log_error_errno(r, "lost the container '%s': %m", c->id);
        }
        /* No more requests: a late client gets "not running" instead of waiting. */
        m.ctl_fd = safe_close(m.ctl_fd);
        char code[16];
        _cleanup_free_ char *sock = NULL;
        snprintf(code, sizeof(code), "%d", exit_code);
        state_write(m.sb->state_dir, "exit_code", code);
        set_status(&m, "stopped");
        if (asprintf(&sock, "%s/" CONTROL_SOCKET, m.sb->state_dir) >= 0)
                unlink(sock);
        sandbox_destroy(m.sb, true);
        return exit_code;
}
