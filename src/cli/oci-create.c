/* SPDX-License-Identifier: Apache-2.0 */
/* hako create: boot the container's VM and create (not start) the container, as `runc create`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "create.h"
#include "fileio.h"
#include "log.h"
#include "state.h"

/* The options `create` and `run --bundle` share (runc's); `run` also takes -d. Returns 0, or 1
 * after logging a one-line error. */
int oci_create_parse(int argc, char **argv, const struct global_options *g, bool run,
                     struct oci_create_opts *ret, const char **ret_pid_file)
{
        enum { OPT_PID_FILE = 0x100, OPT_CONSOLE, OPT_IGNORED, OPT_IGNORED_ARG };
        static const struct option longopts[] = {
            {"bundle", required_argument, NULL, 'b'},
            {"detach", no_argument, NULL, 'd'},
            {"pid-file", required_argument, NULL, OPT_PID_FILE},
            {"console-socket", required_argument, NULL, OPT_CONSOLE},
            /* the guest's crun decides these; nothing of the host is shared anyway */
            {"no-pivot", no_argument, NULL, OPT_IGNORED},
            {"no-new-keyring", no_argument, NULL, OPT_IGNORED},
            {"keep", no_argument, NULL, OPT_IGNORED},
            {"preserve-fds", required_argument, NULL, OPT_IGNORED_ARG},
            {},
        };
        const char *cmd = run ? "run" : "create";
        struct oci_create_opts o = {.root = state_root(g->root),
                                    .accel = g->accel,
                                    .boot_timeout_ms = g->boot_timeout_ms,
                                    .debug = g->debug,
                                    .log_fd = g->log_fd,
                                    .log_json = g->log_json,
                                    .detach = !run};
        int c;

        if (cli_net_mode(g, &o.net_mode) || cli_tuning(&o.tuning))
                return 1;
        *ret_pid_file = NULL;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+b:d", longopts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        o.bundle = optarg;
                        break;
                case 'd':
                        if (!run)
                                goto bad;
                        o.detach = true;
                        break;
                case OPT_PID_FILE:
                        *ret_pid_file = optarg;
                        break;
                case OPT_CONSOLE:
                        o.console_socket = optarg;
                        break;
                case OPT_IGNORED:
                case OPT_IGNORED_ARG:
                        break;
                default:
                        goto bad;
                }
        }
        if (optind != argc - 1) {
                log_error("%s: exactly one container id is needed: hako %s --bundle DIR%s ID", cmd, cmd,
                          run ? " [-d]" : "");
                return 1;
        }
        o.id = argv[optind];
        *ret = o;
        return 0;
bad:
        log_error("%s: unknown option or missing value '%s'", cmd, argv[optind - 1]);
        return 1;
}

int cmd_oci_create(int argc, char **argv, const struct global_options *g)
{
        struct oci_create_opts o;
        const char *pid_file;
        _cleanup_free_ char *error = NULL;
        pid_t pid;
        int r;

        if (oci_create_parse(argc, argv, g, false, &o, &pid_file) != 0)
                return 1;
        r = oci_create(&o, &pid, NULL, &error);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                return 1;
        }
        if (pid_file) {
                char buf[16];
                int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
                r = write_file_atomic(pid_file, buf, (size_t)n, 0644);
                if (r < 0) {
                        /* The container exists; runc leaves it for the caller to delete too. */
                        log_error_errno(r, "cannot write pid file %s: %m", pid_file);
                        return 1;
                }
        }
        return 0;
}
