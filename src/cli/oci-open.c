/* SPDX-License-Identifier: Apache-2.0 */
/* The opening step every OCI command on an existing container shares. */
#include <string.h>

#include "commands.h"
#include "log.h"
#include "oci-state.h"
#include "state.h"

int cli_oci_open(const struct global_options *g, const char *id, struct oci_state *ret)
{
        _cleanup_free_ char *error = NULL;
        int r = oci_state_open(state_root(g->root), id, ret, &error);

        if (r < 0)
                log_error("%s", error ? error : strerror(-r));
        return r;
}
