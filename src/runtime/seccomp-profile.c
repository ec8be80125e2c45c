/* SPDX-License-Identifier: Apache-2.0 */
#include "seccomp-profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "error.h"
#include "macro.h"

/* The guest's architecture in libseccomp's words (what `includes.arches` names) and in the
 * OCI spec's (what `archMap` is keyed by). */
#if defined(__x86_64__)
#define NATIVE_ARCH "amd64"
#define SPEC_ARCH   "SCMP_ARCH_X86_64"
#elif defined(__aarch64__)
#define NATIVE_ARCH "arm64"
#define SPEC_ARCH   "SCMP_ARCH_AARCH64"
#else
#error "unsupported architecture"
#endif

static bool has_string(json_t *a, const char *s)
{
        size_t i;
        json_t *v;

        json_array_foreach(a, i, v)
        {
                if (json_is_string(v) && !strcmp(json_string_value(v), s))
                        return true;
        }
        return false;
}

/* 1 when the guest kernel is at least "X.Y", 0 when older, -EINVAL for a malformed version. */
static int kernel_at_least(json_t *v)
{
        const char *s = json_string_value(v);
        unsigned major, minor;
        int n = 0;

        if (!s || sscanf(s, "%u.%u%n", &major, &minor, &n) != 2 || s[n] || (major == 0 && minor == 0))
                return -EINVAL;
        if (major != SECCOMP_GUEST_KERNEL_MAJOR)
                return major < SECCOMP_GUEST_KERNEL_MAJOR;
        return minor <= SECCOMP_GUEST_KERNEL_MINOR;
}

/* Whether a filter (includes or excludes) matches, each of its conditions holding: the arch is
 * among its arches, every one of its caps is in the bounding set, the kernel is new enough.
 * For excludes Docker drops the rule when any one condition holds; any=true asks that. */
static int filter_matches(json_t *f, uint64_t caps, bool any, bool *ret, char **ret_error)
{
        json_t *arches = json_object_get(f, "arches"), *cs = json_object_get(f, "caps");
        json_t *mk = json_object_get(f, "minKernel");
        int conds = 0, held = 0;

        if (f && !json_is_object(f))
                return error_set(ret_error, -EINVAL, "includes/excludes must be objects");
        if (json_array_size(arches) > 0) {
                conds++;
                held += has_string(arches, NATIVE_ARCH);
        }
        if (json_array_size(cs) > 0) {
                size_t i;
                json_t *c;
                bool all = true, one = false;
                json_array_foreach(cs, i, c)
                {
                        uint64_t bit = 0;
                        bool in = json_is_string(c) && caps_parse(json_string_value(c), &bit) == 0 &&
                                  (bit & caps & CAPS_ALL);
                        all = all && in;
                        one = one || in;
                }
                conds++;
                held += any ? one : all;
        }
        if (mk && !json_is_null(mk) && !(json_is_string(mk) && !*json_string_value(mk))) {
                int k = kernel_at_least(mk);
                if (k < 0)
                        return error_set(ret_error, -EINVAL,
                                         "invalid minKernel (expected \"<kernel>.<major>\")");
                conds++;
                held += k;
        }
        *ret = any ? held > 0 : held == conds;
        return 0;
}

static const char *const actions[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",   "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY",
};

static bool action_valid(json_t *a)
{
        for (size_t i = 0; json_is_string(a) && i < ELEMENTSOF(actions); i++)
                if (!strcmp(json_string_value(a), actions[i]))
                        return true;
        return false;
}

/* One rule of the profile as an OCI syscall entry, or NULL in *ret when its conditions leave
 * it out. */
static int convert_rule(json_t *rule, size_t idx, uint64_t caps, json_t **ret, char **ret_error)
{
        json_t *name = json_object_get(rule, "name"), *names = json_object_get(rule, "names");
        json_t *action = json_object_get(rule, "action"), *errno_ret = json_object_get(rule, "errnoRet");
        json_t *args = json_object_get(rule, "args"), *out;
        bool inc, exc;
        int r;

        if (!json_is_object(rule))
                return error_set(ret_error, -EINVAL, "syscalls[%zu] is not an object", idx);
        r = filter_matches(json_object_get(rule, "includes"), caps, false, &inc, ret_error);
        if (r >= 0)
                r = filter_matches(json_object_get(rule, "excludes"), caps, true, &exc, ret_error);
        if (r < 0)
                return r;
        if (name && names && json_array_size(names) > 0)
                return error_set(ret_error, -EINVAL, "syscalls[%zu]: 'name' and 'names' were both specified",
                                 idx);
        if (!action_valid(action))
                return error_set(ret_error, -EINVAL, "syscalls[%zu]: unknown action %s", idx,
                                 json_is_string(action) ? json_string_value(action) : "(none)");
        if (errno_ret && !json_is_integer(errno_ret))
                return error_set(ret_error, -EINVAL, "syscalls[%zu]: errnoRet must be a number", idx);
        if (args && !json_is_null(args) && !json_is_array(args))
                return error_set(ret_error, -EINVAL, "syscalls[%zu]: args must be a list", idx);
        if (name ? !json_is_string(name) : !json_is_array(names))
                return error_set(ret_error, -EINVAL, "syscalls[%zu] names no syscall", idx);
        *ret = NULL;
        if (!inc || exc)
                return 0;
        out = json_pack("{s:O}", "action", action);
        if (!out)
                return -ENOMEM;
        json_object_set_new(out, "names", name ? json_pack("[O]", name) : json_deep_copy(names));
        if (errno_ret)
                json_object_set(out, "errnoRet", errno_ret);
        if (json_array_size(args) > 0)
                json_object_set_new(out, "args", json_deep_copy(args));
        *ret = out;
        return 0;
}

static int architectures(json_t *profile, json_t *out, char **ret_error)
{
        json_t *list = json_object_get(profile, "architectures"), *map = json_object_get(profile, "archMap");
        size_t i;
        json_t *a;

        if (json_array_size(list) > 0 && json_array_size(map) > 0)
                return error_set(ret_error, -EINVAL,
                                 "'architectures' and 'archMap' were both specified, use one of them");
        if (json_array_size(list) > 0) {
                json_object_set_new(out, "architectures", json_deep_copy(list));
                return 0;
        }
        json_array_foreach(map, i, a)
        {
                if (strcmp(json_string_value(json_object_get(a, "architecture")) ?: "", SPEC_ARCH) != 0)
                        continue;
                json_t *arches = json_pack("[s]", SPEC_ARCH);
                size_t j;
                json_t *sub;
                json_array_foreach(json_object_get(a, "subArchitectures"), j, sub)
                {
                        if (json_is_string(sub))
                                json_array_append(arches, sub);
                }
                json_object_set_new(out, "architectures", arches);
                break;
        }
        return 0;
}

int seccomp_from_profile(json_t *profile, uint64_t caps, json_t **ret, char **ret_error)
{
        json_t *def = json_object_get(profile, "defaultAction"),
               *syscalls = json_object_get(profile, "syscalls");
        json_t *out = NULL, *rules, *rule;
        size_t i;
        int r;

        if (!json_is_object(profile))
                return error_set(ret_error, -EINVAL, "not a JSON object");
        if ((!def || !strcmp(json_string_value(def) ?: "x", "")) && json_array_size(syscalls) == 0) {
                *ret = NULL; /* Docker: no default action and no rules is no seccomp */
                return 0;
        }
        if (!action_valid(def))
                return error_set(ret_error, -EINVAL, "unknown defaultAction %s",
                                 json_is_string(def) ? json_string_value(def) : "(none)");
        if (syscalls && !json_is_array(syscalls))
                return error_set(ret_error, -EINVAL, "'syscalls' must be a list");
        out = json_pack("{s:O, s:[]}", "defaultAction", def, "syscalls");
        if (!out)
                return -ENOMEM;
        /* Newer Docker and podman profiles carry these; the OCI object has the same fields. */
        static const char *const passed[] = {"defaultErrnoRet", "flags", "listenerPath", "listenerMetadata"};
        for (size_t k = 0; k < ELEMENTSOF(passed); k++)
                if (json_object_get(profile, passed[k]))
                        json_object_set(out, passed[k], json_object_get(profile, passed[k]));
        r = architectures(profile, out, ret_error);
        if (r < 0)
                goto fail;
        rules = json_object_get(out, "syscalls");
        json_array_foreach(syscalls, i, rule)
        {
                json_t *conv = NULL;
                r = convert_rule(rule, i, caps, &conv, ret_error);
                if (r < 0)
                        goto fail;
                if (conv)
                        json_array_append_new(rules, conv);
        }
        *ret = out;
        return 0;
fail:
        json_decref(out);
        return r;
}

int seccomp_load_file(const char *path, json_t **ret, char **ret_error)
{
        json_error_t je;
        struct stat st;
        json_t *j;

        if (stat(path, &st) < 0)
                return error_set(ret_error, negative_errno(), "opening seccomp profile (%s) failed: %s", path,
                                 strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_size > SECCOMP_PROFILE_MAX)
                return error_set(ret_error, -EFBIG, "seccomp profile %s: not a file of at most %u bytes",
                                 path, SECCOMP_PROFILE_MAX);
        j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        if (!j)
                return error_set(ret_error, -EINVAL, "seccomp profile %s: line %d: %s", path, je.line,
                                 je.text);
        *ret = j;
        return 0;
}

int seccomp_default(json_t **ret)
{
        json_t *j = json_loads(seccomp_default_profile, 0, NULL);

        if (!j)
                return -ENOMEM; /* the embedded profile is checked at build time */
        *ret = j;
        return 0;
}
