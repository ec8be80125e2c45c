/* SPDX-License-Identifier: Apache-2.0 */
/* hako exec: run a new process in a running container, as `runc exec`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "exec-client.h"
#include "exec-spec.h"
#include "fileio.h"
#include "log.h"
#include "oci-state.h"
#include "relay.h"
#include "state.h"
#include "terminal.h"

#define EXEC_MAX_LIST 256

struct exec_cli {
        struct exec_spec_opts spec;
        const char *console_socket;
        const char *pid_file;
        bool detach;
        char *env[EXEC_MAX_LIST], *gids[EXEC_MAX_LIST], *caps[EXEC_MAX_LIST];
};

static int push(char **list, size_t *n, char *v)
{
        if (*n >= EXEC_MAX_LIST) {
                log_error("exec: too many values (at most %d per option)", EXEC_MAX_LIST);
                return -E2BIG;
        }
        list[(*n)++] = v;
        return 0;
}

/* 0 with the container id's index in argv, or 1 after logging the error. */
static int parse(int argc, char **argv, struct exec_cli *o, int *ret_idx)
{
        enum { OPT_CONSOLE = 0x100, OPT_PID_FILE, OPT_CWD, OPT_NNP, OPT_IGNORED, OPT_IGNORED_ARG };
        static const struct option longopts[] = {
            {"console-socket", required_argument, NULL, OPT_CONSOLE},
            {"pid-file", required_argument, NULL, OPT_PID_FILE},
            {"cwd", required_argument, NULL, OPT_CWD},
            {"env", required_argument, NULL, 'e'},
            {"tty", no_argument, NULL, 't'},
            {"user", required_argument, NULL, 'u'},
            {"additional-gids", required_argument, NULL, 'g'},
            {"process", required_argument, NULL, 'p'},
            {"detach", no_argument, NULL, 'd'},
            {"cap", required_argument, NULL, 'c'},
            {"no-new-privs", no_argument, NULL, OPT_NNP},
            /* host security labels and cgroups: the guest has neither */
            {"process-label", required_argument, NULL, OPT_IGNORED_ARG},
            {"apparmor", required_argument, NULL, OPT_IGNORED_ARG},
            {"preserve-fds", required_argument, NULL, OPT_IGNORED_ARG},
            {"cgroup", required_argument, NULL, OPT_IGNORED_ARG},
            {"ignore-paused", no_argument, NULL, OPT_IGNORED},
            {},
        };
        int c, r = 0;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+e:tu:g:p:dc:", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_CONSOLE:
                        o->console_socket = optarg;
                        break;
                case OPT_PID_FILE:
                        o->pid_file = optarg;
                        break;
                case OPT_CWD:
                        o->spec.cwd = optarg;
                        break;
                case 'e':
                        r = push(o->env, &o->spec.n_env, optarg);
                        break;
                case 't':
                        o->spec.tty = o->spec.tty_set = true;
                        break;
                case 'u':
                        o->spec.user = optarg;
                        break;
                case 'g':
                        r = push(o->gids, &o->spec.n_additional_gids, optarg);
                        break;
                case 'p':
                        o->spec.process_file = optarg;
                        break;
                case 'd':
                        o->detach = true;
                        break;
                case 'c':
                        r = push(o->caps, &o->spec.n_caps, optarg);
                        break;
                case OPT_NNP:
                        o->spec.no_new_privs = true;
                        break;
                case OPT_IGNORED:
                case OPT_IGNORED_ARG:
                        break;
                default:
                        log_error("exec: unknown option or missing value '%s'", argv[optind - 1]);
                        return 1;
                }
                if (r < 0)
                        return 1;
        }
        o->spec.env = o->env;
        o->spec.additional_gids = o->gids;
        o->spec.caps = o->caps;
        if (optind >= argc) {
                log_error("exec: usage: hako exec [OPTIONS] ID [--process FILE | COMMAND [ARGS...]]");
                return 1;
        }
        *ret_idx = optind;
        o->spec.args = argv + optind + 1;
        o->spec.n_args = (size_t)(argc - optind - 1);
        if (!o->spec.process_file && o->spec.n_args == 0) {
                log_error("exec: no command given: hako exec ID COMMAND [ARGS...] or --process FILE");
                return 1;
        }
        return 0;
}

static int write_pid_file(const char *path, pid_t pid)
{
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
        int r = path ? write_file_atomic(path, buf, (size_t)n, 0644) : 0;

        if (r < 0)
                log_error_errno(r, "cannot write pid file %s: %m", path);
        return r;
}

/* The exit status for an exec that did not start: Docker's 127/126 for a command that is
 * missing or not executable, 1 otherwise. */
static int start_failed(int r, const char *error)
{
        log_error("exec failed: %s", error ? error : strerror(-r));
        return r == -ENOENT ? 127 : r == -EACCES ? 126 : 1;
}

/* -d: a child stands for the exec's process and outlives us; our caller's subreaper reaps it. */
static int exec_detached(const struct exec_client_opts *eo, const char *pid_file)
{
        int pipefd[2];
        char msg[1024];
        pid_t pid;
        ssize_t n;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return start_failed(-errno, "cannot create a pipe");
        pid = fork();
        if (pid < 0)
                return start_failed(-errno, "cannot fork");
        if (pid == 0) {
                _cleanup_free_ char *error = NULL;
                sigset_t old;
                int conn = -1, sfd, r;

                safe_close(pipefd[0]);
                setsid();
                sfd = relay_signalfd(&old);
                r = sfd < 0 ? sfd : exec_client_start(eo, &conn, &error);
                n = r < 0 ? snprintf(msg, sizeof(msg), "%d %s", r, error ? error : strerror(-r))
                          : snprintf(msg, sizeof(msg), "0");
                (void)!write(pipefd[1], msg, (size_t)MIN(n, (ssize_t)sizeof(msg) - 1));
                safe_close(pipefd[1]);
                if (r < 0)
                        _exit(1);
                stdio_to_null();
                close_fds_except((int[]){conn, sfd}, 2);
                _exit(exec_client_wait(conn, sfd));
        }
        safe_close(pipefd[1]);
        n = read(pipefd[0], msg, sizeof(msg) - 1);
        safe_close(pipefd[0]);
        msg[MAX(n, 0)] = 0;
        if (n <= 0 || strcmp(msg, "0") != 0) {
                int r = -EIO, off = 0;
                (void)waitpid(pid, NULL, 0);
                if (n > 0 && sscanf(msg, "%d %n", &r, &off) < 1)
                        r = -EIO;
                return start_failed(r, n > 0 ? msg + off : "the exec's host process died");
        }
        return write_pid_file(pid_file, pid) < 0 ? 1 : 0;
}

static int exec_foreground(const struct exec_client_opts *eo, const char *pid_file)
{
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int sfd = -1, conn = -1;
        sigset_t old;
        int r, code;

        /* Signals are ours to forward from the start: one arriving while the exec starts is
         * delivered once it runs. */
        sfd = relay_signalfd(&old);
        if (sfd < 0)
                return start_failed(sfd, "cannot set up signal handling");
        if (eo->tty && !eo->console_socket && isatty(STDIN_FILENO))
                term_raw(STDIN_FILENO);
        r = exec_client_start(eo, &conn, &error);
        if (r < 0) {
                term_restore();
                return start_failed(r, error);
        }
        if (write_pid_file(pid_file, getpid()) < 0) {
                term_restore();
                return 1;
        }
        code = exec_client_wait(conn, sfd);
        term_restore();
        return code;
}

int cmd_oci_exec(int argc, char **argv, const struct global_options *g)
{
        struct exec_cli o = {0};
        _cleanup_free_ char *error = NULL, *json = NULL;
        struct oci_state s;
        bool tty = false;
        int idx, r;

        if (parse(argc, argv, &o, &idx) != 0)
                return 1;
        if (cli_oci_open(g, argv[idx], &s) < 0)
                return 1;
        if (!strcmp(s.status, "stopped") || !strcmp(s.status, "creating"))
                r = log_error_errno(-ESRCH, "cannot exec in a stopped container");
        else if (!strcmp(s.status, "paused"))
                r = log_error_errno(-EBUSY, "cannot exec in a paused container");
        else if (!*s.bundle && !o.spec.process_file)
                r = log_error_errno(-EINVAL, "exec: container %s has no bundle; use --process", s.id);
        else {
                r = exec_spec_build(s.bundle, &o.spec, &json, &tty, &error);
                if (r < 0)
                        log_error("%s", error ? error : strerror(-r));
        }
        if (r >= 0 && tty && !o.console_socket && !isatty(STDIN_FILENO) && o.detach)
                r = log_error_errno(-EINVAL, "exec: a detached exec with a terminal needs --console-socket");
        if (r < 0) {
                oci_state_done(&s);
                return 1;
        }
        struct exec_client_opts eo = {
            .state_dir = s.dir,
            .process_json = json,
            .tty = tty,
            .console_socket = tty ? o.console_socket : NULL,
        };
        r = o.detach ? exec_detached(&eo, o.pid_file) : exec_foreground(&eo, o.pid_file);
        oci_state_done(&s);
        return r;
}
