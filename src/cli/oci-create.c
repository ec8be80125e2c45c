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

int cmd_oci_create(int argc, char **argv, const struct global_options *g)
{
        enum { OPT_PID_FILE = 0x100, OPT_CONSOLE, OPT_NO_PIVOT, OPT_NO_KEYRING, OPT_PRESERVE };
        static const struct option longopts[] = {
            {"bundle", required_argument, NULL, 'b'},
            {"pid-file", required_argument, NULL, OPT_PID_FILE},
            {"console-socket", required_argument, NULL, OPT_CONSOLE},
            {"no-pivot", no_argument, NULL, OPT_NO_PIVOT},
            {"no-new-keyring", no_argument, NULL, OPT_NO_KEYRING},
            {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
            {},
        };
        struct oci_create_opts o = {.root = state_root(g->root),
                                    .accel = g->accel,
                                    .boot_timeout_ms = g->boot_timeout_ms,
                                    .debug = g->debug,
                                    .log_fd = g->log_fd,
                                    .log_json = g->log_json,
                                    .detach = true};
        const char *pid_file = NULL;
        _cleanup_free_ char *error = NULL;
        pid_t pid;
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+b:", longopts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        o.bundle = optarg;
                        break;
                case OPT_PID_FILE:
                        pid_file = optarg;
                        break;
                case OPT_CONSOLE:
                        o.console_socket = optarg;
                        break;
                case OPT_NO_PIVOT:
                case OPT_NO_KEYRING:
                case OPT_PRESERVE:
                        break; /* the guest's crun decides; nothing of the host is shared anyway */
                default:
                        log_error("create: unknown option or missing value '%s'", argv[optind - 1]);
                        return 1;
                }
        }
        if (optind != argc - 1) {
                log_error("create: exactly one container id is needed: hako create [--bundle DIR] ID");
                return 1;
        }
        o.id = argv[optind];
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
