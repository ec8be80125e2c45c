/* SPDX-License-Identifier: Apache-2.0 */
/* containerd-shim-hako-v2 [-namespace NS] [-address A] [-publish-binary P] [-id ID] [-bundle B]
 *                         [-debug] [-socket S] [start|delete]
 * Flags as Go's flag package takes them (-flag value, -flag=value, --flag). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"

static int usage(const char *what)
{
        fprintf(stderr, "containerd-shim-hako-v2: %s\n", what);
        return 1;
}

int main(int argc, char **argv)
{
        struct shim_opts o = {.publish_binary = "containerd", .ttrpc_address = getenv("TTRPC_ADDRESS")};
        const char *action = NULL;

        log_set_prefix("containerd-shim-hako-v2");
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *val = NULL;
                static const struct {
                        const char *name;
                        size_t offset;
                } strs[] = {
                    {"namespace", offsetof(struct shim_opts, ns)},
                    {"address", offsetof(struct shim_opts, address)},
                    {"publish-binary", offsetof(struct shim_opts, publish_binary)},
                    {"id", offsetof(struct shim_opts, id)},
                    {"bundle", offsetof(struct shim_opts, bundle)},
                    {"socket", offsetof(struct shim_opts, socket)},
                };
                bool known = false;

                if (a[0] != '-') {
                        if (action)
                                return usage("more than one action");
                        action = a;
                        continue;
                }
                a += a[1] == '-' ? 2 : 1;
                if (!strcmp(a, "debug") || !strcmp(a, "debug=true")) {
                        o.debug = true;
                        continue;
                }
                if (!strcmp(a, "v") || !strcmp(a, "version")) {
                        printf("containerd-shim-hako-v2:\n  Version:  %s\n", HAKO_VERSION);
                        return 0;
                }
                for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
                        size_t n = strlen(strs[k].name);
                        if (strncmp(a, strs[k].name, n) != 0 || (a[n] != 0 && a[n] != '='))
                                continue;
                        val = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
                        if (!val)
                                return usage("a flag without its value");
                        *(const char **)((char *)&o + strs[k].offset) = val;
                        known = true;
                        break;
                }
                if (!known) {
                        fprintf(stderr, "containerd-shim-hako-v2: unknown flag -%s\n", a);
                        return 1;
                }
        }
        if (!o.ns || !*o.ns)
                return usage("shim namespace cannot be empty");
        if (!o.id || !*o.id)
                return usage("-id is required");
        if (!o.address)
                o.address = "";
        if (o.bundle && chdir(o.bundle) < 0) {
                fprintf(stderr, "containerd-shim-hako-v2: bundle %s: %s\n", o.bundle, strerror(errno));
                return 1;
        }
        if (o.debug)
                log_set_level(LOG_LEVEL_DEBUG);
        if (!action)
                return shim_serve(&o);
        if (!strcmp(action, "start"))
                return shim_start(&o) < 0 ? 1 : 0;
        if (!strcmp(action, "delete"))
                return shim_delete(&o) < 0 ? 1 : 0;
        fprintf(stderr, "containerd-shim-hako-v2: unknown action '%s'\n", action);
        return 1;
}
