/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "macro.h"
#include "state.h"

int cmd_ps(int argc, char **argv, const struct global_options *g)
{
        const char *root = state_root(g->root);
        struct dirent *de;
        DIR *d;
        (void)argc;
        (void)argv;

        state_gc(root);
        printf("%-20s %-10s %s\n", "CONTAINER ID", "STATUS", "EXIT CODE");
        d = opendir(root);
        if (!d)
                return errno == ENOENT ? 0 : (log_error_errno(-errno, "Failed to read %s: %m", root), 1);
        while ((de = readdir(d))) {
                _cleanup_free_ char *dir = NULL, *status = NULL, *code = NULL;
                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&dir, "%s/%s", root, de->d_name) < 0)
                        break;
                if (state_read(dir, "status", &status) < 0)
                        continue;
                /* A record whose host process is gone (kill -9) has exited, whatever it says. */
                if (strcmp(status, "exited") != 0 && state_lock_held(dir) != 1) {
                        free(status);
                        status = strdup("exited");
                        if (!status)
                                break;
                }
                state_read(dir, "exit_code", &code);
                printf("%-20s %-10s %s\n", de->d_name, status, code && !strcmp(status, "exited") ? code : "");
        }
        closedir(d);
        return 0;
}
