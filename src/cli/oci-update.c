/* SPDX-License-Identifier: Apache-2.0 */
/* hako update: change a container's resource limits, as `runc update` (--resources FILE or the
 * flags). The guest's cgroups change (crun update in the VM); the VM keeps its size. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "control.h"
#include "log.h"
#include "oci-state.h"
#include "parse.h"
#include "state.h"

/* Where each flag goes in linux.resources, and how its value reads. */
enum kind { NUM, SIZE, STR };
static const struct {
        const char *flag, *object, *key;
        enum kind kind;
} flags[] = {
    {"blkio-weight", "blockIO", "weight", NUM},
    {"cpu-period", "cpu", "period", NUM},
    {"cpu-quota", "cpu", "quota", NUM},
    {"cpu-share", "cpu", "shares", NUM},
    {"cpu-rt-period", "cpu", "realtimePeriod", NUM},
    {"cpu-rt-runtime", "cpu", "realtimeRuntime", NUM},
    {"cpuset-cpus", "cpu", "cpus", STR},
    {"cpuset-mems", "cpu", "mems", STR},
    {"memory", "memory", "limit", SIZE},
    {"memory-reservation", "memory", "reservation", SIZE},
    {"memory-swap", "memory", "swap", SIZE},
    {"kernel-memory", "memory", "kernel", SIZE},
    {"kernel-memory-tcp", "memory", "kernelTCP", SIZE},
    {"pids-limit", "pids", "limit", NUM},
};

static int set_flag(json_t *res, size_t i, const char *value)
{
        json_t *obj = json_object_get(res, flags[i].object), *v;
        uint64_t size;
        char *end;

        if (flags[i].kind == STR)
                v = json_string(value);
        else if (flags[i].kind == SIZE && !strcmp(value, "-1"))
                v = json_integer(-1);
        else if (flags[i].kind == SIZE) {
                if (parse_size(value, &size) < 0 || size > INT64_MAX)
                        return -EINVAL;
                v = json_integer((json_int_t)size);
        } else {
                long long n = strtoll(value, &end, 10);
                if (!*value || *end)
                        return -EINVAL;
                v = json_integer(n);
        }
        if (!json_is_object(obj)) {
                obj = json_object();
                json_object_set_new(res, flags[i].object, obj);
        }
        return json_object_set_new(obj, flags[i].key, v) < 0 ? -ENOMEM : 0;
}

int cmd_oci_update(int argc, char **argv, const struct global_options *g)
{
        struct option longopts[ELEMENTSOF(flags) + 2] = {{"resources", required_argument, NULL, 'r'}};
        _cleanup_free_ char *error = NULL, *json = NULL;
        const char *resources_file = NULL;
        json_t *res = json_object();
        struct oci_state s;
        int c, idx, r;

        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                longopts[i + 1] = (struct option){flags[i].flag, required_argument, NULL, 0x100 + (int)i};
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+r:", longopts, &idx)) != -1) {
                if (c == 'r')
                        resources_file = optarg;
                else if (c >= 0x100 && c < 0x100 + (int)ELEMENTSOF(flags)) {
                        if (set_flag(res, (size_t)(c - 0x100), optarg) < 0) {
                                log_error("update: invalid value '%s' for --%s", optarg,
                                          flags[c - 0x100].flag);
                                json_decref(res);
                                return 1;
                        }
                } else {
                        log_error("update: unknown option or missing value '%s'", argv[optind - 1]);
                        json_decref(res);
                        return 1;
                }
        }
        if (optind != argc - 1) {
                log_error("update: usage: hako update [--resources FILE | flags] ID");
                json_decref(res);
                return 1;
        }
        if (resources_file) {
                /* runc: the file's resources, "-" for stdin; flags are ignored then. */
                json_error_t je;
                json_decref(res);
                res = !strcmp(resources_file, "-") ? json_loadf(stdin, 0, &je)
                                                   : json_load_file(resources_file, 0, &je);
                if (!json_is_object(res)) {
                        log_error("update: invalid resources %s: %s", resources_file,
                                  res ? "not an object" : je.text);
                        json_decref(res);
                        return 1;
                }
        }
        json = json_dumps(res, JSON_COMPACT);
        json_decref(res);
        if (!json)
                return 1;
        if (cli_oci_open(g, argv[optind], &s) < 0)
                return 1;
        if (strcmp(s.status, "running") != 0 && strcmp(s.status, "created") != 0) {
                log_error("container not running");
                oci_state_done(&s);
                return 1;
        }
        _cleanup_free_ char *req = NULL;
        r = asprintf(&req, "update\n%s", json) < 0 ? -ENOMEM : control_request(s.dir, req, 60000, &error);
        oci_state_done(&s);
        if (r < 0) {
                log_error("cannot update container %s: %s", argv[optind], error ? error : strerror(-r));
                return 1;
        }
        return 0;
}
