/* SPDX-License-Identifier: Apache-2.0 */
/* hako start: release a created container's process, as `runc start`. */
#include <string.h>

#include "commands.h"
#include "control.h"
#include "log.h"
#include "oci-state.h"
#include "state.h"

int cmd_oci_start(int argc, char **argv, const struct global_options *g)
{
        _cleanup_free_ char *error = NULL;
        struct oci_state s;
        int r;

        if (argc != 2) {
                log_error("start: exactly one container id is needed: hako start ID");
                return 1;
        }
        if (cli_oci_open(g, argv[1], &s) < 0)
                return 1;
        if (!strcmp(s.status, "stopped"))
                error = strdup("cannot start a container that has stopped");
        else if (!strcmp(s.status, "running") || !strcmp(s.status, "paused"))
                error = strdup("cannot start an already running container");
        else if (strcmp(s.status, "created") != 0 &&
                 asprintf(&error, "cannot start a container in the %s state", s.status) < 0)
                error = NULL;
        if (error) {
                log_error("%s", error);
                oci_state_done(&s);
                return 1;
        }
        r = control_request(s.dir, "start", 120000, &error);
        oci_state_done(&s);
        if (r < 0) {
                log_error("cannot start container %s: %s", argv[1], error ? error : strerror(-r));
                return 1;
        }
        return 0;
}
