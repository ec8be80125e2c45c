/* SPDX-License-Identifier: Apache-2.0 */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "strv.h"
#include "timeutil.h"

static void strv_from_json(struct strv *v, json_t *a)
{
        size_t i;
        json_t *e;

        json_array_foreach(a, i, e) if (json_is_string(e)) strv_push(v, json_string_value(e));
}

static int run_one(json_t *hook, const char *state_json, char **ret_error)
{
        const char *path = json_string_value(json_object_get(hook, "path"));
        json_int_t timeout = json_integer_value(json_object_get(hook, "timeout"));
        struct strv args = {0}, env = {0};
        int in[2], status, r;
        pid_t pid;

        if (!path || path[0] != '/') {
                if (asprintf(ret_error, "hook path '%s' is not absolute", path ? path : "") < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        strv_from_json(&args, json_object_get(hook, "args"));
        if (args.n == 0)
                strv_push(&args, path);
        strv_from_json(&env, json_object_get(hook, "env"));
        r = strv_status(&args) < 0 || env.oom ? -ENOMEM : 0; /* env may be empty */
        if (r == 0 && pipe2(in, O_CLOEXEC) < 0)
                r = negative_errno();
        if (r < 0) {
                strv_done(&args);
                strv_done(&env);
                return r;
        }
        pid = fork();
        if (pid == 0) {
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL); /* the monitor blocks what it forwards */
                int null = open("/dev/null", O_RDWR);
                dup2(in[0], 0);
                dup2(null, 1);
                dup2(null, 2);
                char *empty[] = {NULL};
                execve(path, args.v, env.v ? env.v : empty);
                _exit(127);
        }
        safe_close(in[0]);
        if (pid > 0) {
                /* The state is small (well under a pipe buffer): this write does not block. */
                (void)!write(in[1], state_json, strlen(state_json));
        }
        safe_close(in[1]);
        strv_done(&args);
        strv_done(&env);
        if (pid < 0)
                return negative_errno();

        long long deadline = timeout > 0 ? mono_ms() + timeout * 1000 : 0;
        for (;;) {
                pid_t w = waitpid(pid, &status, deadline ? WNOHANG : 0);
                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR)
                        return negative_errno();
                if (deadline && mono_ms() > deadline) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        if (asprintf(ret_error, "hook %s timed out after %lld s", path, (long long)timeout) <
                            0)
                                *ret_error = NULL;
                        return -ETIMEDOUT;
                }
                if (w == 0)
                        usleep(10 * 1000);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (asprintf(ret_error, "hook %s failed: %s %d", path, WIFEXITED(status) ? "exit status" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)) < 0)
                *ret_error = NULL;
        return -EIO;
}

int hooks_run(json_t *hooks, const char *kind, const char *state_json, char **ret_error)
{
        json_t *list = json_object_get(hooks, kind);
        /* The spec: a failing poststart or poststop hook is a warning and the rest still run;
         * any other failing hook stops there. */
        bool keep_going = !strcmp(kind, "poststart") || !strcmp(kind, "poststop");
        int first = 0;
        size_t i;
        json_t *h;

        json_array_foreach(list, i, h)
        {
                _cleanup_free_ char *error = NULL;
                int r = run_one(h, state_json, &error);
                if (r >= 0)
                        continue;
                if (!first)
                        first = r;
                if (ret_error) {
                        /* all the failures of a kind that keeps going, in one message */
                        char *all = NULL;
                        if (asprintf(&all, "%s%s%s", *ret_error ? *ret_error : "", *ret_error ? "; " : "",
                                     error ? error : strerror(-r)) >= 0) {
                                free(*ret_error);
                                *ret_error = all;
                        }
                }
                if (!keep_going)
                        return r;
        }
        return first;
}

int hooks_run_state(json_t *hooks, const char *kind, const char *id, const char *status, pid_t pid,
                    const char *bundle, json_t *annotations, char **ret_error)
{
        _cleanup_free_ char *json = NULL;
        json_t *j;

        if (!json_array_size(json_object_get(hooks, kind)))
                return 0;
        j = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ociVersion", "1.0.2", "id", id, "status", status, "pid",
                      (int)pid, "bundle", bundle);
        if (j && json_object_size(annotations) > 0)
                json_object_set(j, "annotations", annotations);
        json = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!json)
                return -ENOMEM;
        return hooks_run(hooks, kind, json, ret_error);
}
