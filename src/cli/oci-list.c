/* SPDX-License-Identifier: Apache-2.0 */
/* hako list: the containers under the state root, as `runc list`. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "oci-state.h"
#include "state.h"

static int cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_oci_list(int argc, char **argv, const struct global_options *g)
{
        static const struct option longopts[] = {
            {"quiet", no_argument, NULL, 'q'}, {"format", required_argument, NULL, 'f'}, {}};
        const char *root = state_root(g->root), *format = "table";
        bool quiet = false;
        char **ids = NULL;
        size_t n = 0;
        struct dirent *de;
        json_t *all;
        DIR *d;
        int c;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+qf:", longopts, NULL)) != -1) {
                if (c == 'q')
                        quiet = true;
                else if (c == 'f' && (!strcmp(optarg, "table") || !strcmp(optarg, "json")))
                        format = optarg;
                else {
                        log_error("list: invalid option '%s' (--format table|json, -q)", argv[optind - 1]);
                        return 1;
                }
        }
        state_gc(root);
        d = opendir(root);
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || !state_id_valid(de->d_name))
                        continue;
                char **nids = realloc(ids, (n + 1) * sizeof(char *));
                if (!nids || !(nids[n] = strdup(de->d_name))) {
                        ids = nids ? nids : ids;
                        break;
                }
                ids = nids;
                n++;
        }
        if (d)
                closedir(d);
        if (n)
                qsort(ids, n, sizeof(char *), cmp);

        all = json_array();
        if (!quiet && !strcmp(format, "table"))
                printf("%-12s %-7s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
                       "OWNER");
        for (size_t i = 0; i < n; i++) {
                struct oci_state s;
                if (oci_state_load(root, ids[i], &s) < 0)
                        continue;
                if (quiet)
                        printf("%s\n", s.id);
                else if (!strcmp(format, "table"))
                        printf("%-12s %-7d %-10s %-40s %-30s %s\n", s.id, (int)s.pid, s.status, s.bundle,
                               s.created, "root");
                else {
                        json_t *j = oci_state_json(&s);
                        json_object_del(j, "annotations");
                        json_object_set_new(j, "rootfs", json_string(""));
                        json_object_set_new(j, "created", json_string(s.created));
                        json_object_set_new(j, "owner", json_string("root"));
                        json_array_append_new(all, j);
                }
                oci_state_done(&s);
        }
        if (!quiet && !strcmp(format, "json")) {
                char *out = json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER);
                printf("%s\n", out ? out : "[]");
                free(out);
        }
        json_decref(all);
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
        return 0;
}
