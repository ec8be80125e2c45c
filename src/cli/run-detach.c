/* SPDX-License-Identifier: Apache-2.0 */
/* hako run -d: the container runs on under a host process of its own, the one the OCI commands
 * use (src/oci/monitor.c), so `hako exec`, `hako stop`, `hako kill`, `hako logs` reach it through
 * its control socket and state directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "monitor.h"
#include "run.h"
#include "state.h"

/* The host process: it prepares the guest itself, so that the user network's slirp4netns is its
 * child and dies with it, then becomes the container's monitor. */
static int detached_main(struct run_ctx *c, int notify_fd)
{
        _cleanup_free_ char *error = NULL;
        const struct global_options *g = c->g;
        int r;

        /* Not in the caller's session (its Ctrl-C, its hangup), and none of its fds kept: a
         * `$(hako run -d ...)` waits for EOF on its stdout. */
        setsid();
        close_fds_except((int[]){notify_fd, g->log_fd}, 2);
        stdio_to_null();
        r = run_prepare_guest(c, &error);
        if (r < 0) {
                monitor_notify(notify_fd, r, EXIT_HAKO_ERROR, error);
                return EXIT_HAKO_ERROR;
        }
        struct monitor_config mc = {
            .root = state_root(g->root),
            .id = c->id,
            .spec = c->spec,
            .shares = &c->shares,
            .rootfs_guest = c->rootfs_guest,
            .tty = c->o.tty,
            .rootfs_ro = c->rootfs_ro,
            .accel = g->accel,
            .net_mode = c->net_mode, /* its namespace entered above */
            .tuning = c->tuning,
            .vcpus = c->o.vcpus,
            .memory_mib = c->o.vm_memory_mib,
            .boot_timeout_ms = g->boot_timeout_ms,
            .debug = c->o.debug,
            .log_fd = g->log_fd,
            .log_json = g->log_json,
            .run = true,
            .overlay = c->overlay,
            .stdin_open = c->o.interactive,
            .remove_at_exit = c->o.rm,
            .machine = c->o.machine,
        };
        return monitor_main(&mc, notify_fd);
}

int run_detached(struct run_ctx *c)
{
        _cleanup_free_ char *error = NULL;
        int pipefd[2], r, code;
        pid_t pid;

        state_gc(state_root(c->g->root));
        run_warn_no_kvm(c->g);
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                log_error_errno(-errno, "cannot create a pipe: %m");
                return EXIT_HAKO_ERROR;
        }
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                log_error_errno(-errno, "cannot fork: %m");
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return EXIT_HAKO_ERROR;
        }
        if (pid == 0) {
                safe_close(pipefd[0]);
                /* Whatever it returns, the host process ends here (with the user network). */
                code = detached_main(c, pipefd[1]);
                net_user_stop(&c->user);
                _exit(code);
        }
        safe_close(pipefd[1]);
        r = monitor_read_verdict(pipefd[0], &code, &error);
        safe_close(pipefd[0]);
        if (r < 0) {
                /* It has cleaned up and exits now; reap it so nothing of it remains. */
                (void)waitpid(pid, NULL, 0);
                log_error("cannot start container '%s': %s", c->id, error ? error : strerror(-r));
                return code;
        }
        /* Docker prints the id; the host process is not ours to wait for. */
        printf("%s\n", c->id);
        return 0;
}
