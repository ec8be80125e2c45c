/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "state.h"

int cmd_rm(int argc, char **argv, const struct global_options *g)
{
        int ret = 0;

        if (argc < 2) {
                log_error("'hako rm' needs at least one container id");
                return 125;
        }
        for (int i = 1; i < argc; i++) {
                int r = state_remove(state_root(g->root), argv[i]);
                if (r == -EBUSY)
                        ret = 1, log_error("container '%s' is running; stop it first", argv[i]);
                else if (r == -ENOENT || r == -EINVAL)
                        ret = 1, log_error("no such container: %s", argv[i]);
                else if (r < 0)
                        ret = 1, log_error_errno(r, "Failed to remove container '%s': %m", argv[i]);
                else
                        printf("%s\n", argv[i]);
        }
        return ret;
}
