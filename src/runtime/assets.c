/* SPDX-License-Identifier: Apache-2.0 */
#include "assets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"

const char *assets_dir(void)
{
        const char *e = getenv("HAKO_GUEST_DIR");
        return e && *e ? e : HAKO_DATADIR;
}

static int find_one(const char *env, const char *name, char **ret, char **ret_error)
{
        const char *e = getenv(env);
        char *p = NULL;

        if (e && *e)
                p = strdup(e);
        else if (asprintf(&p, "%s/%s", assets_dir(), name) < 0)
                p = NULL;
        if (!p)
                return -ENOMEM;
        if (access(p, R_OK) < 0) {
                int r = negative_errno();
                if (asprintf(ret_error, "guest %s %s not found (build it with ./install.sh, or set %s)",
                             !strcmp(name, "vmlinux") ? "kernel" : "initrd", p, env) < 0)
                        *ret_error = NULL;
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int assets_find(char **ret_kernel, char **ret_initrd, char **ret_error)
{
        _cleanup_free_ char *k = NULL, *i = NULL;
        int r;

        r = find_one("HAKO_KERNEL", "vmlinux", &k, ret_error);
        if (r < 0)
                return r;
        r = find_one("HAKO_INITRD", "initrd.img", &i, ret_error);
        if (r < 0)
                return r;
        *ret_kernel = TAKE_PTR(k);
        *ret_initrd = TAKE_PTR(i);
        return 0;
}
