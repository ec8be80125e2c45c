/* SPDX-License-Identifier: Apache-2.0 */
#include "exec-spec.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "macro.h"
#include "ocijson.h"
#include "parse.h"
#include "spec.h"

/* The same cap as `hako exec` can send in one control message, with room for the header. */
#define EXEC_SPEC_MAX (60u << 10)

static json_t *load_object(const char *path, const char *what, char **ret_error)
{
        json_error_t je;
        json_t *j = ocijson_load_file(path, EXEC_SPEC_MAX, JSON_REJECT_DUPLICATES, &je);

        if (!j) {
                error_set(ret_error, -EINVAL, "cannot load %s %s: %s (line %d)", what, path, je.text,
                          je.line);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                error_set(ret_error, -EINVAL, "%s %s is not a JSON object", what, path);
                return NULL;
        }
        return j;
}

static int set_user(json_t *process, const char *spec, char **ret_error)
{
        _cleanup_free_ char *copy = strdup(spec);
        char *colon;
        uint32_t uid, gid;
        json_t *user;

        if (!copy)
                return -ENOMEM;
        colon = strchr(copy, ':');
        if (colon)
                *colon++ = 0;
        if (parse_uint32(copy, &uid) < 0 || (colon && parse_uint32(colon, &gid) < 0))
                return error_set(ret_error, -EINVAL, "invalid --user '%s': UID[:GID], numeric", spec);
        user = json_object_get(process, "user");
        if (!json_is_object(user)) {
                user = json_object();
                json_object_set_new(process, "user", user);
                json_object_set_new(user, "gid", json_integer(0));
        }
        json_object_set_new(user, "uid", json_integer(uid));
        if (colon)
                json_object_set_new(user, "gid", json_integer(gid));
        return 0;
}

static int add_caps(json_t *process, char **caps, size_t n)
{
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        json_t *c = json_object_get(process, "capabilities");

        if (n == 0)
                return 0;
        if (!json_is_object(c)) {
                c = json_object();
                json_object_set_new(process, "capabilities", c);
        }
        for (size_t s = 0; s < ELEMENTSOF(sets); s++) {
                json_t *a = json_object_get(c, sets[s]);
                if (!json_is_array(a)) {
                        a = json_array();
                        json_object_set_new(c, sets[s], a);
                }
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(a, json_string(caps[i]));
        }
        return 0;
}

int exec_spec_build(const char *bundle, const struct exec_spec_opts *o, char **ret_json, bool *ret_tty,
                    char **ret_error)
{
        _cleanup_free_ char *config = NULL, *json = NULL;
        json_t *root = NULL, *process, *args;
        int r = 0;

        if (o->process_file) {
                root = load_object(o->process_file, "process file", ret_error);
                if (!root)
                        return -EINVAL;
                process = root;
        } else {
                if (asprintf(&config, "%s/config.json", bundle) < 0)
                        return -ENOMEM;
                root = load_object(config, "the container's config", ret_error);
                if (!root)
                        return -EINVAL;
                process = json_object_get(root, "process");
                if (!json_is_object(process)) {
                        process = json_object();
                        json_object_set_new(root, "process", process);
                }
                args = json_array();
                for (size_t i = 0; i < o->n_args; i++)
                        json_array_append_new(args, json_string(o->args[i]));
                json_object_set_new(process, "args", args);
        }
        args = json_object_get(process, "args");
        if (!json_is_array(args) || json_array_size(args) == 0) {
                r = error_set(ret_error, -EINVAL, "exec: no command given (args must not be empty)");
                goto out;
        }
        json_t *env = json_object_get(process, "env");
        if (!json_is_array(env)) {
                env = json_array();
                json_object_set_new(process, "env", env);
        }
        for (size_t i = 0; i < o->n_env; i++) {
                if (!strchr(o->env[i], '=')) {
                        r = error_set(ret_error, -EINVAL, "invalid --env '%s': K=V", o->env[i]);
                        goto out;
                }
                spec_env_set(env, o->env[i]);
        }
        if (o->cwd) {
                if (o->cwd[0] != '/') {
                        r = error_set(ret_error, -EINVAL, "cwd '%s' must be an absolute path", o->cwd);
                        goto out;
                }
                json_object_set_new(process, "cwd", json_string(o->cwd));
        }
        if (!json_is_string(json_object_get(process, "cwd")))
                json_object_set_new(process, "cwd", json_string("/"));
        if (o->user) {
                r = set_user(process, o->user, ret_error);
                if (r < 0)
                        goto out;
        }
        if (o->n_additional_gids > 0) {
                json_t *user = json_object_get(process, "user"), *g = json_array();
                if (!json_is_object(user)) {
                        user = json_pack("{s:i,s:i}", "uid", 0, "gid", 0);
                        json_object_set_new(process, "user", user);
                }
                for (size_t i = 0; i < o->n_additional_gids; i++) {
                        uint32_t gid;
                        if (parse_uint32(o->additional_gids[i], &gid) < 0) {
                                json_decref(g);
                                r = error_set(ret_error, -EINVAL, "invalid additional gid '%s'",
                                              o->additional_gids[i]);
                                goto out;
                        }
                        json_array_append_new(g, json_integer(gid));
                }
                json_object_set_new(user, "additionalGids", g);
        }
        add_caps(process, o->caps, o->n_caps);
        if (o->no_new_privs)
                json_object_set_new(process, "noNewPrivileges", json_true());
        if (o->tty_set)
                json_object_set_new(process, "terminal", json_boolean(o->tty));
        /* The guest's pty takes the caller's size on its own. */
        json_object_del(process, "consoleSize");

        json = json_dumps(process, JSON_COMPACT);
        if (!json) {
                r = -ENOMEM;
                goto out;
        }
        if (strlen(json) > EXEC_SPEC_MAX) {
                r = error_set(ret_error, -E2BIG, "the exec's process is too large (%zu bytes, at most %u)",
                              strlen(json), EXEC_SPEC_MAX);
                goto out;
        }
        *ret_tty = json_is_true(json_object_get(process, "terminal"));
        *ret_json = TAKE_PTR(json);
out:
        json_decref(root);
        return r;
}
