/* SPDX-License-Identifier: Apache-2.0 */
/* hako ps ID: the host processes of a container, as `runc ps`. A container's processes live in
 * its VM; on the host it is its host process (the pid of `state`), which is what tools such as
 * `docker top` can find in the host's process table. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "oci-state.h"
#include "state.h"

int cmd_oci_ps(int argc, char **argv, const struct global_options *g)
{
        static const struct option longopts[] = {{"format", required_argument, NULL, 'f'}, {}};
        const char *format = "table";
        struct oci_state s;
        char pid[16];
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+f:", longopts, NULL)) != -1) {
                if (c == 'f' && (!strcmp(optarg, "table") || !strcmp(optarg, "json")))
                        format = optarg;
                else {
                        log_error("ps: invalid option '%s' (--format table|json)", argv[optind - 1]);
                        return 1;
                }
        }
        if (optind != argc - 1) {
                log_error("ps: usage: hako ps [--format table|json] ID");
                return 1;
        }
        if (cli_oci_open(g, argv[optind], &s) < 0)
                return 1;
        if (s.pid <= 0) {
                oci_state_done(&s);
                log_error("container not running");
                return 1;
        }
        snprintf(pid, sizeof(pid), "%d", (int)s.pid);
        oci_state_done(&s);
        if (!strcmp(format, "json")) {
                printf("[%s]\n", pid);
                return 0;
        }
        fflush(stdout);
        execlp("ps", "ps", "-f", "-p", pid, (char *)NULL);
        log_error_errno(-errno, "cannot run ps: %m");
        return 1;
}
