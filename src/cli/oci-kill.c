/* SPDX-License-Identifier: Apache-2.0 */
/* hako kill: send a signal to a container's process (or all of them), as `runc kill`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "control.h"
#include "log.h"
#include "oci-state.h"
#include "parse.h"
#include "state.h"

int cmd_oci_kill(int argc, char **argv, const struct global_options *g)
{
        static const struct option longopts[] = {{"all", no_argument, NULL, 'a'}, {}};
        _cleanup_free_ char *error = NULL;
        char req[64];
        struct oci_state s;
        bool all = false;
        int c, r, sig = 15;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+a", longopts, NULL)) != -1) {
                if (c != 'a') {
                        log_error("kill: unknown option '%s'", argv[optind - 1]);
                        return 1;
                }
                all = true;
        }
        if (optind != argc - 1 && optind != argc - 2) {
                log_error("kill: usage: hako kill [--all] ID [SIGNAL]");
                return 1;
        }
        if (optind == argc - 2 && parse_signal(argv[optind + 1], &sig) < 0) {
                log_error("unknown signal \"%s\"", argv[optind + 1]);
                return 1;
        }
        if (cli_oci_open(g, argv[optind], &s) < 0)
                return 1;
        if (!strcmp(s.status, "stopped") || !strcmp(s.status, "creating")) {
                oci_state_done(&s);
                log_error("container not running");
                return 1;
        }
        snprintf(req, sizeof(req), "kill %d %d", sig, all);
        r = control_request(s.dir, req, 60000, &error);
        oci_state_done(&s);
        if (r == -ESRCH) {
                log_error("container not running");
                return 1;
        }
        if (r < 0) {
                log_error("cannot signal container %s: %s", argv[optind], error ? error : strerror(-r));
                return 1;
        }
        return 0;
}
