/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-protocol.h"
#include "assets.h"
#include "commands.h"
#include "fileio.h"
#include "macro.h"

int cmd_version(int argc, char **argv, const struct global_options *g)
{
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *err = NULL, *guest = NULL, *path = NULL;
        (void)argc;
        (void)argv;
        (void)g;

        printf("hako version %s\n", HAKO_VERSION);
        printf("agent protocol: %d\n", HAKO_AGENT_PROTOCOL);
        /* The guest image records what it was built from (guest/initrd/build.sh, install.sh). */
        if (asprintf(&path, "%s/guest-version", assets_dir()) >= 0 &&
            read_full_file(path, 4096, &guest, NULL) == 0) {
                guest[strcspn(guest, "\n")] = 0;
                printf("guest image: %s\n", guest);
        } else if (assets_find(&kernel, &initrd, &err) == 0)
                printf("guest image: %s, %s\n", kernel, initrd);
        else
                printf("guest image: not installed\n");
        return 0;
}
