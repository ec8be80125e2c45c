/* SPDX-License-Identifier: Apache-2.0 */
/* hako exec: Docker's form for a container of `hako run -d` (-i, -t, -d, -e, -w, -u, with
 * Docker's meaning: no stdin without -i, no terminal without -t), runc's (oci-exec.c) for every
 * other container and every other option, so that containerd and conmon see runc. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "macro.h"
#include "oci-state.h"
#include "relay.h"
#include "state.h"
#include "terminal.h"

#define EXEC_MAX_ENV 256

struct docker_exec {
        bool interactive, tty, detach;
        const char *cwd, *user;
        char *env[EXEC_MAX_ENV];
        size_t n_env;
        char **args;
        size_t n_args;
        const char *id;
};

/* 1 when the command line is Docker's form (its options only, then ID CMD...), 0 when not. */
static int parse(int argc, char **argv, struct docker_exec *o)
{
        static const struct option longopts[] = {
            {"interactive", no_argument, NULL, 'i'},
            {"tty", no_argument, NULL, 't'},
            {"detach", no_argument, NULL, 'd'},
            {"env", required_argument, NULL, 'e'},
            {"workdir", required_argument, NULL, 'w'},
            {"user", required_argument, NULL, 'u'},
            {},
        };
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+itde:w:u:", longopts, NULL)) != -1) {
                switch (c) {
                case 'i':
                        o->interactive = true;
                        break;
                case 't':
                        o->tty = true;
                        break;
                case 'd':
                        o->detach = true;
                        break;
                case 'e':
                        if (o->n_env >= EXEC_MAX_ENV)
                                return 0; /* runc's parser says it */
                        o->env[o->n_env++] = optarg;
                        break;
                case 'w':
                        o->cwd = optarg;
                        break;
                case 'u':
                        o->user = optarg;
                        break;
                default:
                        return 0;
                }
        }
        if (argc - optind < 2)
                return 0;
        o->id = argv[optind];
        o->args = argv + optind + 1;
        o->n_args = (size_t)(argc - optind - 1);
        return 1;
}

/* Docker's -e KEY takes KEY's value from our environment, and is dropped when it has none. */
static size_t expand_env(struct docker_exec *o, char **tmp)
{
        size_t n = 0;

        for (size_t i = 0; i < o->n_env; i++) {
                const char *v;
                if (strchr(o->env[i], '=')) {
                        o->env[n++] = o->env[i];
                        continue;
                }
                v = getenv(o->env[i]);
                if (v && asprintf(&tmp[i], "%s=%s", o->env[i], v) >= 0)
                        o->env[n++] = tmp[i];
        }
        return n;
}

static int start_failed(int r, const char *error)
{
        log_error("exec failed: %s", error ? error : strerror(-r));
        return r == -ENOENT ? 127 : r == -EACCES ? 126 : 1;
}

/* -d: we return once the process has started; a child of ours keeps its session (which carries
 * its exit code), and the process runs on either way. */
static int run_detached(const struct exec_client_opts *eo)
{
        _cleanup_free_ char *error = NULL;
        char msg[1024];
        int pipefd[2], r;
        ssize_t n;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return start_failed(-errno, "cannot create a pipe");
        pid = fork();
        if (pid < 0)
                return start_failed(-errno, "cannot fork");
        if (pid == 0) {
                int conn = -1;
                safe_close(pipefd[0]);
                setsid();
                r = exec_client_start(eo, &conn, &error);
                n = r < 0 ? snprintf(msg, sizeof(msg), "%d %s", r, error ? error : strerror(-r))
                          : snprintf(msg, sizeof(msg), "0");
                (void)!write(pipefd[1], msg, (size_t)MIN(n, (ssize_t)sizeof(msg) - 1));
                if (r < 0)
                        _exit(1);
                safe_close(pipefd[1]);
                stdio_to_null();
                close_fds_except((int[]){conn}, 1);
                _exit(exec_client_wait(conn, -1));
        }
        safe_close(pipefd[1]);
        n = read(pipefd[0], msg, sizeof(msg) - 1);
        safe_close(pipefd[0]);
        msg[MAX(n, 0)] = 0;
        if (n <= 0 || strcmp(msg, "0") != 0) {
                int off = 0;
                r = -EIO;
                (void)waitpid(pid, NULL, 0);
                if (n > 0 && sscanf(msg, "%d %n", &r, &off) < 1)
                        r = -EIO;
                return start_failed(r, n > 0 ? msg + off : "the exec's process died");
        }
        return 0;
}

static int run_attached(const struct exec_client_opts *eo, bool raw)
{
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int sfd = -1, conn = -1;
        sigset_t old;
        int r, code;

        sfd = relay_signalfd(&old);
        if (sfd < 0)
                return start_failed(sfd, "cannot set up signal handling");
        if (raw)
                term_raw(STDIN_FILENO);
        r = exec_client_start(eo, &conn, &error);
        if (r < 0) {
                term_restore();
                return start_failed(r, error);
        }
        code = exec_client_wait(conn, sfd);
        term_restore();
        return code;
}

static int docker_exec(struct docker_exec *o, const struct oci_state *s)
{
        _cleanup_free_ char *json = NULL, *error = NULL;
        _cleanup_close_ int null_fd = -1;
        char *tmp[EXEC_MAX_ENV] = {0};
        bool tty = false;
        int r;

        if (!strcmp(s->status, "paused")) {
                log_error("container %s is paused, unpause the container before exec", s->id);
                return 1;
        }
        if (strcmp(s->status, "running") != 0) {
                log_error("container %s is not running", s->id);
                return 1;
        }
        struct exec_spec_opts so = {
            .args = o->args,
            .n_args = o->n_args,
            .env = o->env,
            .n_env = expand_env(o, tmp),
            .cwd = o->cwd,
            .user = o->user,
            .tty = o->tty,
            .tty_set = true, /* Docker: a terminal only with -t, whatever the container has */
        };
        r = exec_spec_build(s->bundle, &so, &json, &tty, &error);
        for (size_t i = 0; i < EXEC_MAX_ENV; i++)
                free(tmp[i]);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                return 1;
        }
        if (!o->interactive || o->detach) {
                null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null_fd < 0)
                        return start_failed(-errno, "cannot open /dev/null");
        }
        struct exec_client_opts eo = {
            .state_dir = s->dir,
            .process_json = json,
            .tty = tty,
            .stdin_fd = null_fd >= 0 ? null_fd : STDIN_FILENO,
        };
        if (o->detach)
                return run_detached(&eo);
        return run_attached(&eo, tty && o->interactive && isatty(STDIN_FILENO));
}

int cmd_exec(int argc, char **argv, const struct global_options *g)
{
        _cleanup_free_ char *run = NULL, *oci_status = NULL;
        struct docker_exec o = {0};
        struct oci_state s;
        int r;

        if (!parse(argc, argv, &o) || oci_state_load(state_root(g->root), o.id, &s) < 0)
                return cmd_oci_exec(argc, argv, g);
        if (state_read(s.dir, "run", &run) < 0) {
                if (state_read(s.dir, "oci_status", &oci_status) < 0) {
                        /* An attached `hako run`: its process owns the VM and takes no requests. */
                        log_error("container %s runs attached to its 'hako run': exec needs a container of "
                                  "'hako run -d'",
                                  o.id);
                        oci_state_done(&s);
                        return 1;
                }
                oci_state_done(&s);
                return cmd_oci_exec(argc, argv, g);
        }
        r = docker_exec(&o, &s);
        oci_state_done(&s);
        return r;
}
