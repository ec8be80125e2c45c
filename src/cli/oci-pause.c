/* SPDX-License-Identifier: Apache-2.0 */
/* hako pause / resume: freeze and thaw the whole VM of a container (QMP stop / cont). */
#include <string.h>

#include "commands.h"
#include "control.h"
#include "log.h"
#include "oci-state.h"
#include "state.h"

static int pause_resume(int argc, char **argv, const struct global_options *g, bool pause)
{
        _cleanup_free_ char *error = NULL;
        struct oci_state s;
        int r;

        if (argc != 2) {
                log_error("%s: exactly one container id is needed", argv[0]);
                return 1;
        }
        if (cli_oci_open(g, argv[1], &s) < 0)
                return 1;
        if (strcmp(s.status, pause ? "running" : "paused") != 0) {
                log_error("%s", pause ? "container not running" : "container not paused");
                oci_state_done(&s);
                return 1;
        }
        r = control_request(s.dir, pause ? "pause" : "resume", 30000, &error);
        oci_state_done(&s);
        if (r < 0) {
                log_error("cannot %s container %s: %s", argv[0], argv[1], error ? error : strerror(-r));
                return 1;
        }
        return 0;
}

int cmd_oci_pause(int argc, char **argv, const struct global_options *g)
{
        return pause_resume(argc, argv, g, true);
}

int cmd_oci_resume(int argc, char **argv, const struct global_options *g)
{
        return pause_resume(argc, argv, g, false);
}
