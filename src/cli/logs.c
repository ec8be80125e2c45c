/* SPDX-License-Identifier: Apache-2.0 */
/* hako logs [-f] ID: what a detached container (hako run -d) wrote, stdout to stdout and stderr
 * to stderr, as `docker logs`; -f follows it until the container stops. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "macro.h"
#include "run-log.h"
#include "state.h"

int cmd_logs(int argc, char **argv, const struct global_options *g)
{
        static const struct option longopts[] = {{"follow", no_argument, NULL, 'f'}, {}};
        _cleanup_free_ char *dir = NULL;
        bool follow = false;
        struct stat st;
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+f", longopts, NULL)) != -1) {
                if (c != 'f') {
                        log_error("logs: unknown option '%s' (usage: hako logs [-f] ID)", argv[optind - 1]);
                        return 1;
                }
                follow = true;
        }
        if (optind != argc - 1) {
                log_error("logs: usage: hako logs [-f] ID");
                return 1;
        }
        if (!state_id_valid(argv[optind]) || asprintf(&dir, "%s/%s", state_root(g->root), argv[optind]) < 0 ||
            stat(dir, &st) < 0) {
                log_error("no such container: %s", argv[optind]);
                return 1;
        }
        r = run_log_copy(dir, follow, STDOUT_FILENO, STDERR_FILENO);
        if (r == -ENOENT) {
                log_error("container %s keeps no log: only containers of 'hako run -d' do", argv[optind]);
                return 1;
        }
        if (r < 0) {
                log_error_errno(r, "cannot read the log of container %s: %m", argv[optind]);
                return 1;
        }
        return 0;
}
