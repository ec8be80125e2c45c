/* SPDX-License-Identifier: Apache-2.0 */
/* hako checkpoint / restore: CRIU cannot checkpoint a process inside a VM from the host. */
#include "commands.h"
#include "log.h"

int cmd_oci_unsupported(int argc, char **argv, const struct global_options *g)
{
        (void)argc;
        (void)g;
        log_error("%s is not supported: hako containers run in their own VM, which CRIU cannot checkpoint",
                  argv[0]);
        return 1;
}
