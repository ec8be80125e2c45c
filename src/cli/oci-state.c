/* SPDX-License-Identifier: Apache-2.0 */
/* hako state: the OCI state document of a container, as `runc state`. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "oci-state.h"
#include "state.h"

int cmd_oci_state(int argc, char **argv, const struct global_options *g)
{
        _cleanup_free_ char *out = NULL;
        struct oci_state s;
        json_t *j;

        if (argc != 2) {
                log_error("state: exactly one container id is needed: hako state ID");
                return 1;
        }
        if (cli_oci_open(g, argv[1], &s) < 0)
                return 1;
        j = oci_state_json(&s);
        if (j)
                json_object_set_new(j, "created", json_string(s.created));
        out = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        oci_state_done(&s);
        if (!out) {
                log_error("out of memory");
                return 1;
        }
        printf("%s\n", out);
        return 0;
}
