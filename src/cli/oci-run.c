/* SPDX-License-Identifier: Apache-2.0 */
/* hako run --bundle DIR ID: create + start (+ wait and delete unless -d), as `runc run`.
 * `hako run IMAGE` without --bundle is the Docker-like run (run.c). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "control.h"
#include "create.h"
#include "fileio.h"
#include "log.h"
#include "remove.h"
#include "state.h"

static volatile pid_t monitor_pid;

/* The container's host process forwards what it receives to the container. */
static void forward(int sig)
{
        if (monitor_pid > 0)
                kill(monitor_pid, sig);
}

bool oci_run_wanted(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (!strcmp(a, "-b") || !strcmp(a, "--bundle") || !strncmp(a, "--bundle=", 9) ||
                    (!strncmp(a, "-b", 2) && a[2]))
                        return true;
                if (!strcmp(a, "--pid-file") || !strcmp(a, "--console-socket") ||
                    !strcmp(a, "--preserve-fds"))
                        i++; /* its value */
                else if (a[0] != '-' || !strcmp(a, "--"))
                        return false; /* the image of a Docker-like run, or the id */
        }
        return false;
}

int cmd_oci_run(int argc, char **argv, const struct global_options *g)
{
        struct oci_create_opts o;
        _cleanup_free_ char *error = NULL, *dir = NULL;
        const char *pid_file;
        struct termios saved;
        struct oci_state s;
        bool tty = false, raw = false;
        pid_t pid;
        int r, status;

        if (oci_create_parse(argc, argv, g, true, &o, &pid_file) != 0)
                return 1;
        r = oci_create(&o, &pid, &tty, &error);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                return 1;
        }
        monitor_pid = pid;
        if (asprintf(&dir, "%s/%s", o.root, o.id) < 0)
                return 1;
        if (pid_file) {
                char buf[16];
                int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
                write_file_atomic(pid_file, buf, (size_t)n, 0644);
        }
        if (!o.detach) {
                static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
                struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
                for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                        sigaction(sigs[i], &sa, NULL);
                if (tty && !o.console_socket && isatty(STDIN_FILENO) &&
                    tcgetattr(STDIN_FILENO, &saved) == 0) {
                        struct termios t = saved;
                        cfmakeraw(&t);
                        t.c_oflag |= OPOST;
                        raw = tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0;
                }
        }
        r = control_request(dir, "start", 120000, &error);
        if (r < 0) {
                log_error("cannot start container %s: %s", o.id, error ? error : strerror(-r));
                control_request(dir, "shutdown", 10000, NULL);
                waitpid(pid, NULL, 0);
                state_remove(o.root, o.id);
                if (raw)
                        tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
                return 1;
        }
        if (o.detach)
                return 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        status = 255 << 8;
                        break;
                }
        if (raw)
                tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
        /* The host process has released the state: the container goes, like runc run's. */
        if (oci_state_load(o.root, o.id, &s) == 0) {
                _cleanup_free_ char *warning = NULL;
                oci_remove(o.root, &s, &warning);
                if (warning)
                        log_warning("poststop hook: %s", warning);
                oci_state_done(&s);
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
