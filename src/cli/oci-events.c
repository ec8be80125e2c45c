/* SPDX-License-Identifier: Apache-2.0 */
/* hako events: the container's statistics as runc prints them (type "stats"), once with
 * --stats, otherwise every --interval until the container stops. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "control.h"
#include "log.h"
#include "oci-state.h"
#include "state.h"

/* "5s", "500ms", "1m", "2" (seconds) → ms, as runc's Go durations (the common ones). */
static int parse_interval(const char *s, long long *ret_ms)
{
        char *end;
        double v = strtod(s, &end);

        if (end == s || v <= 0)
                return -EINVAL;
        if (!strcmp(end, "ms"))
                *ret_ms = (long long)v;
        else if (!strcmp(end, "s") || !*end)
                *ret_ms = (long long)(v * 1000);
        else if (!strcmp(end, "m"))
                *ret_ms = (long long)(v * 60000);
        else
                return -EINVAL;
        return *ret_ms >= 1 && *ret_ms <= 24LL * 3600 * 1000 ? 0 : -EINVAL;
}

static json_t *u64(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        return json_integer(json_is_integer(v) ? json_integer_value(v) : 0);
}

/* The guest's numbers (monitor.c do_stats) in the shape of runc's types.Stats. */
static json_t *stats_event(const char *id, json_t *g)
{
        json_int_t usec_total = json_integer_value(json_object_get(g, "cpu_usage_usec"));
        json_int_t usec_user = json_integer_value(json_object_get(g, "cpu_user_usec"));
        json_int_t usec_sys = json_integer_value(json_object_get(g, "cpu_system_usec"));

        return json_pack("{s:s, s:s, s:{s:{s:{s:I, s:I, s:I}}, s:{s:{s:o, s:o}}, s:{s:o, s:o}, s:{s:[{s:s, "
                         "s:o}, {s:s, s:o}]}}}",
                         "type", "stats", "id", id, "data", "cpu", "usage", "total", usec_total * 1000,
                         "user", usec_user * 1000, "kernel", usec_sys * 1000, "memory", "usage", "usage",
                         u64(g, "memory_current"), "limit", u64(g, "memory_max"), "pids", "current",
                         u64(g, "pids_current"), "limit", u64(g, "pids_max"), "blkio",
                         "ioServiceBytesRecursive", "op", "Read", "value", u64(g, "io_read_bytes"), "op",
                         "Write", "value", u64(g, "io_write_bytes"));
}

static int print_stats(const char *dir, const char *id, char **ret_error)
{
        _cleanup_free_ char *data = NULL, *line = NULL;
        json_t *g, *ev;
        int r = control_request_data(dir, "stats", 30000, &data, ret_error);

        if (r < 0)
                return r;
        g = json_loads(data, 0, NULL);
        ev = g ? stats_event(id, g) : NULL;
        line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        json_decref(ev);
        json_decref(g);
        if (!line)
                return -EPROTO;
        printf("%s\n", line);
        fflush(stdout);
        return 0;
}

static bool readable(const struct oci_state *s)
{
        return !strcmp(s->status, "running") || !strcmp(s->status, "created");
}

int cmd_oci_events(int argc, char **argv, const struct global_options *g)
{
        static const struct option longopts[] = {
            {"stats", no_argument, NULL, 's'}, {"interval", required_argument, NULL, 'i'}, {}};
        _cleanup_free_ char *error = NULL;
        long long interval_ms = 5000;
        bool once = false;
        struct oci_state s;
        const char *root = state_root(g->root), *id;
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
                if (c == 's')
                        once = true;
                else if (c != 'i' || parse_interval(optarg, &interval_ms) < 0) {
                        log_error("events: invalid option or value '%s'", argv[optind - 1]);
                        return 1;
                }
        }
        if (optind != argc - 1) {
                log_error("events: usage: hako events [--stats] [--interval 5s] ID");
                return 1;
        }
        id = argv[optind];
        if (cli_oci_open(g, id, &s) < 0)
                return 1;
        if (once) {
                r = readable(&s) ? print_stats(s.dir, id, &error) : -ESRCH;
                oci_state_done(&s);
                if (r < 0) {
                        log_error("events: %s", error         ? error
                                                : r == -ESRCH ? "container not running"
                                                              : strerror(-r));
                        return 1;
                }
                return 0;
        }
        /* A stream until the container stops or is deleted; a paused one is skipped. */
        for (;;) {
                bool stopped = !strcmp(s.status, "stopped");
                if (readable(&s)) {
                        free(error);
                        error = NULL;
                        r = print_stats(s.dir, id, &error);
                        if (r < 0 && r != -ESRCH && r != -EBUSY) {
                                oci_state_done(&s);
                                log_error("events: %s", error ? error : strerror(-r));
                                return 1;
                        }
                }
                oci_state_done(&s);
                if (stopped)
                        return 0;
                nanosleep(&(struct timespec){.tv_sec = interval_ms / 1000,
                                             .tv_nsec = (interval_ms % 1000) * 1000000},
                          NULL);
                if (oci_state_load(root, id, &s) < 0)
                        return 0;
        }
}
