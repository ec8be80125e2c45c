/* SPDX-License-Identifier: Apache-2.0 */
#include "oci-state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"
#include "state.h"
#include "timeutil.h"

static char *read_or_empty(const char *dir, const char *key)
{
        char *v = NULL;

        if (state_read(dir, key, &v) < 0)
                return strdup("");
        return v;
}

/* The status the files claim is only true while the monitor lives: a dead monitor (kill -9, a
 * crash) took its VM with it, so the container is stopped whatever the file says. */
static char *effective_status(const char *dir)
{
        _cleanup_free_ char *oci = NULL, *plain = NULL;
        bool alive = state_lock_held(dir) == 1;

        if (state_read(dir, "oci_status", &oci) == 0) {
                if (!alive || !strcmp(oci, "stopped"))
                        return strdup("stopped");
                return TAKE_PTR(oci);
        }
        /* A container of `hako run`: its own status words. */
        if (state_read(dir, "status", &plain) < 0 || !alive || !strcmp(plain, "exited"))
                return strdup(alive ? "creating" : "stopped");
        return strdup(!strcmp(plain, "running") ? "running" : "creating");
}

int oci_state_load(const char *root, const char *id, struct oci_state *ret)
{
        struct oci_state s = {.exit_code = -1};
        _cleanup_free_ char *pid = NULL, *code = NULL, *ann = NULL, *owner = NULL;
        struct stat st;
        uint32_t n;

        if (!state_id_valid(id))
                return -EINVAL;
        if (asprintf(&s.dir, "%s/%s", root, id) < 0)
                return -ENOMEM;
        /* Every sandbox writes `status` first thing: a directory without one is not ours. */
        if (stat(s.dir, &st) < 0 || !S_ISDIR(st.st_mode) || state_read(s.dir, "status", &owner) < 0) {
                free(s.dir);
                return -ENOENT;
        }
        free(owner);
        owner = NULL;
        s.id = strdup(id);
        s.status = effective_status(s.dir);
        s.bundle = read_or_empty(s.dir, "bundle");
        s.created = read_or_empty(s.dir, "created");
        if (!s.id || !s.status || !s.bundle || !s.created) {
                oci_state_done(&s);
                return -ENOMEM;
        }
        if (strcmp(s.status, "stopped") != 0 &&
            ((state_read(s.dir, "pid", &pid) == 0 && parse_uint32(pid, &n) == 0) ||
             (state_read(s.dir, "owner", &owner) == 0 && parse_uint32(owner, &n) == 0)))
                s.pid = (pid_t)n;
        if (state_read(s.dir, "exit_code", &code) == 0 && parse_uint32(code, &n) == 0)
                s.exit_code = (int)n;
        if (state_read(s.dir, "annotations", &ann) == 0)
                s.annotations = json_loads(ann, 0, NULL);
        if (!json_is_object(s.annotations)) {
                json_decref(s.annotations);
                s.annotations = json_object();
        }
        *ret = s;
        return 0;
}

void oci_state_done(struct oci_state *s)
{
        free(s->id);
        free(s->dir);
        free(s->status);
        free(s->bundle);
        free(s->created);
        json_decref(s->annotations);
        *s = (struct oci_state){0};
}

json_t *oci_state_json(const struct oci_state *s)
{
        json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion", OCI_VERSION, "id", s->id, "status",
                              s->status, "pid", (int)s->pid, "bundle", s->bundle);

        if (j && json_object_size(s->annotations) > 0)
                json_object_set(j, "annotations", s->annotations);
        return j;
}

void oci_format_time(char *buf, size_t len)
{
        struct timespec now;
        struct tm tm;
        char base[32];

        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, len, "%s.%09ldZ", base, now.tv_nsec);
}

int oci_state_wait_released(const char *dir, int timeout_ms)
{
        long long deadline = mono_ms() + timeout_ms;

        while (state_lock_held(dir) == 1) {
                if (mono_ms() >= deadline)
                        return -ETIMEDOUT;
                usleep(20 * 1000);
        }
        return 0;
}

int oci_state_open(const char *root, const char *id, struct oci_state *ret, char **ret_error)
{
        int r = oci_state_load(root, id, ret);

        if (r == -ENOENT)
                *ret_error = strdup("container does not exist");
        else if (r == -EINVAL && asprintf(ret_error, "invalid container id '%s'", id) < 0)
                *ret_error = NULL;
        return r;
}
