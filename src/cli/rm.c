/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "state.h"

int cmd_rm(int argc, char **argv, const struct global_options *g)
{
        static const struct option longopts[] = {{"force", no_argument, NULL, 'f'}, {}};
        const char *root = state_root(g->root);
        bool force = false;
        int c, ret = 0;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+f", longopts, NULL)) != -1) {
                if (c != 'f') {
                        log_error("rm: unknown option '%s' (usage: hako rm [-f] ID...)", argv[optind - 1]);
                        return 125;
                }
                force = true;
        }
        if (optind >= argc) {
                log_error("'hako rm' needs at least one container id");
                return 125;
        }
        for (int i = optind; i < argc; i++) {
                /* -f: as `docker rm -f`, a running container is killed first. */
                if (force && cli_stop(root, argv[i], 0) < 0) {
                        ret = 1;
                        continue;
                }
                int r = state_remove(root, argv[i]);
                if (r == -EBUSY)
                        ret = 1,
                        log_error("container '%s' is running; stop it first (or 'hako rm -f')", argv[i]);
                else if (r == -ENOENT || r == -EINVAL)
                        ret = 1, log_error("no such container: %s", argv[i]);
                else if (r < 0)
                        ret = 1, log_error_errno(r, "Failed to remove container '%s': %m", argv[i]);
                else
                        printf("%s\n", argv[i]);
        }
        return ret;
}
