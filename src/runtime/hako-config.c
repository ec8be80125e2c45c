/* SPDX-License-Identifier: Apache-2.0 */
#include "hako-config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"
#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "parse.h"

#define CONFIG_MAX_BYTES  (64u << 10)
#define CONFIG_MAX_STRING 4096
#define CONFIG_MAX_ARRAY  64

/* The TOML this file needs: [section], key = "string" | 'literal' | integer | true/false |
 * ["array", "of", "strings"] (on one or more lines), # comments. */
enum value_type { V_STRING, V_INT, V_BOOL, V_ARRAY };

struct value {
        enum value_type type;
        char *s;
        long long i;
        bool b;
        char *a[CONFIG_MAX_ARRAY];
        size_t n;
};

static void value_done(struct value *v)
{
        free(v->s);
        for (size_t i = 0; i < v->n; i++)
                free(v->a[i]);
        *v = (struct value){0};
}

static const char *skip_space(const char *p)
{
        while (*p == ' ' || *p == '\t' || *p == '\r')
                p++;
        return p;
}

/* After a value: only blanks and a comment may follow on its line. */
static bool line_done(const char *p)
{
        p = skip_space(p);
        return *p == 0 || *p == '\n' || *p == '#';
}

/* A quoted string at *pp (the quote included); *pp moves past it. */
static int parse_string(const char **pp, char **ret)
{
        const char *p = *pp;
        char q = *p++, out[CONFIG_MAX_STRING];
        size_t n = 0;

        for (;; p++) {
                char c = *p;
                if (c == 0 || c == '\n')
                        return -EINVAL;
                if (c == q)
                        break;
                if (c == '\\' && q == '"') {
                        p++;
                        /* Only \n, \t, \" and \\: a backslash before a real newline would carry
                         * the string (and the line count) on to the next line. */
                        if (*p != 'n' && *p != 't' && *p != '"' && *p != '\\')
                                return -EINVAL;
                        c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
                }
                if (n + 1 >= sizeof(out))
                        return -E2BIG;
                out[n++] = c;
        }
        out[n] = 0;
        *pp = p + 1;
        *ret = strdup(out);
        return *ret ? 0 : -ENOMEM;
}

/* The value at *pp; arrays may go on over lines (*line counts them). */
static int parse_value(const char **pp, unsigned *line, struct value *v)
{
        const char *p = skip_space(*pp);
        int r;

        *v = (struct value){0};
        if (*p == '"' || *p == '\'') {
                v->type = V_STRING;
                r = parse_string(&p, &v->s);
        } else if (*p == '[') {
                v->type = V_ARRAY;
                for (p++;;) {
                        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '#') {
                                if (*p == '#')
                                        p += strcspn(p, "\n");
                                else if (*p++ == '\n')
                                        (*line)++;
                        }
                        if (*p == ']') {
                                p++;
                                break;
                        }
                        if ((*p != '"' && *p != '\'') || v->n >= CONFIG_MAX_ARRAY)
                                return -EINVAL;
                        r = parse_string(&p, &v->a[v->n]);
                        if (r < 0)
                                return r;
                        v->n++;
                        p = skip_space(p);
                        if (*p == ',')
                                p++;
                        else if (*p != ']' && *p != '\n' && *p != '#')
                                return -EINVAL;
                }
                r = 0;
        } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
                v->type = V_BOOL;
                v->b = *p == 't';
                p += v->b ? 4 : 5;
                r = 0;
        } else if (isdigit((unsigned char)*p) || *p == '-') {
                char *end;
                v->type = V_INT;
                errno = 0;
                v->i = strtoll(p, &end, 10);
                r = errno || end == p ? -EINVAL : 0;
                p = end;
        } else
                r = -EINVAL;
        if (r < 0)
                return r;
        if (!line_done(p))
                return -EINVAL;
        *pp = p;
        return 0;
}

static int set_string(char **field, const struct value *v)
{
        char *s;

        if (v->type != V_STRING)
                return -EINVAL;
        s = strdup(v->s);
        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

static int set_accel(struct hako_config *c, const char *s)
{
        if (!strcmp(s, "auto"))
                c->accel = HV_ACCEL_AUTO;
        else if (!strcmp(s, "kvm"))
                c->accel = HV_ACCEL_KVM;
        else if (!strcmp(s, "tcg"))
                c->accel = HV_ACCEL_TCG;
        else
                return -EINVAL;
        return 0;
}

static int set_machine(struct hako_config *c, const char *s)
{
        char *m;

        if (strcmp(s, "microvm") != 0 && strcmp(s, "pc") != 0)
                return -EINVAL;
        m = strdup(s);
        if (!m)
                return -ENOMEM;
        free(c->machine);
        c->machine = m;
        return 0;
}

/* Sizes within what a VM can have: vCPUs 1..64, memory 128 MiB..1 TiB. */
static int set_vcpus(uint32_t *field, long long v, bool zero_ok)
{
        if (v < (zero_ok ? 0 : 1) || v > 64)
                return -ERANGE;
        *field = (uint32_t)v;
        return 0;
}

static int set_memory(uint64_t *field, long long v, bool zero_ok)
{
        if ((v == 0 && !zero_ok) || (v != 0 && (v < 128 || v > (1ll << 20))))
                return -ERANGE;
        *field = (uint64_t)v;
        return 0;
}

/* [storage] disk_size: "32G" (a size with a suffix; a plain integer is MiB), 0: no disk;
 * disk_dir: an absolute directory for the disk files. */
static int set_storage(struct hako_config *c, const char *key, const struct value *v, const char **ret_what)
{
        if (!strcmp(key, "disk_size")) {
                uint64_t bytes;
                *ret_what = "bad value (0, or a size from 64M to 16T such as \"32G\")";
                if (v->type == V_INT) {
                        if (v->i < 0 || v->i > (long long)(DISK_SIZE_MAX >> 20))
                                return -ERANGE;
                        bytes = (uint64_t)v->i << 20;
                } else if (v->type != V_STRING || parse_size(v->s, &bytes) < 0)
                        return -EINVAL;
                if (bytes && (bytes < DISK_SIZE_MIN || bytes > DISK_SIZE_MAX))
                        return -ERANGE;
                c->disk_size = bytes;
                c->no_disk = bytes == 0;
                return 0;
        }
        if (!strcmp(key, "disk_dir")) {
                *ret_what = "bad value (an absolute path)";
                if (v->type != V_STRING || v->s[0] != '/' || strlen(v->s) > 256)
                        return -EINVAL;
                return set_string(&c->disk_dir, v);
        }
        *ret_what = "unknown key";
        return -ENOENT;
}

static int set_key(struct hako_config *c, const char *section, const char *key, const struct value *v,
                   const char **ret_what)
{
        *ret_what = "unknown key";
        if (!strcmp(section, "network")) {
                if (strcmp(key, "mode") != 0)
                        return -ENOENT;
                *ret_what = "bad value (tcfilter, macvtap or none)";
                return v->type == V_STRING ? net_mode_parse(v->s, &c->net_mode) : -EINVAL;
        }
        if (!strcmp(section, "storage"))
                return set_storage(c, key, v, ret_what);
        if (strcmp(section, "hypervisor") != 0)
                return -ENOENT;
        *ret_what = "bad value";
        if (!strcmp(key, "path"))
                return set_string(&c->hypervisor, v);
        if (!strcmp(key, "machine"))
                return v->type == V_STRING ? set_machine(c, v->s) : -EINVAL;
        if (!strcmp(key, "accel"))
                return v->type == V_STRING ? set_accel(c, v->s) : -EINVAL;
        if (!strcmp(key, "kernel"))
                return set_string(&c->kernel, v);
        if (!strcmp(key, "initrd"))
                return set_string(&c->initrd, v);
        if (!strcmp(key, "kernel_params"))
                return set_string(&c->kernel_params, v);
        if (!strcmp(key, "default_vcpus"))
                return v->type == V_INT ? set_vcpus(&c->default_vcpus, v->i, false) : -EINVAL;
        if (!strcmp(key, "max_vcpus"))
                return v->type == V_INT ? set_vcpus(&c->max_vcpus, v->i, true) : -EINVAL;
        if (!strcmp(key, "default_memory"))
                return v->type == V_INT ? set_memory(&c->default_memory_mib, v->i, false) : -EINVAL;
        if (!strcmp(key, "max_memory"))
                return v->type == V_INT ? set_memory(&c->max_memory_mib, v->i, true) : -EINVAL;
        if (!strcmp(key, "jail")) {
                if (v->type != V_BOOL)
                        return -EINVAL;
                c->jail = v->b;
                return 0;
        }
        if (!strcmp(key, "jail_uid_base") || !strcmp(key, "jail_uid_count")) {
                bool base = !strcmp(key, "jail_uid_base");
                *ret_what = "bad value (base 1..4294901759, count 1..65536)";
                if (v->type != V_INT || v->i < 1 || v->i > (base ? 4294901759ll : 65536))
                        return -ERANGE;
                *(base ? &c->jail_uid_base : &c->jail_uid_count) = (uint32_t)v->i;
                return 0;
        }
        if (!strcmp(key, "templates") || !strcmp(key, "debug_console")) {
                if (v->type != V_BOOL)
                        return -EINVAL;
                *(key[0] == 't' ? &c->templates : &c->debug_console) = v->b;
                return 0;
        }
        if (!strcmp(key, "enable_annotations")) {
                if (v->type != V_ARRAY)
                        return -EINVAL;
                for (size_t i = 0; i < c->n_enable_annotations; i++)
                        free(c->enable_annotations[i]);
                free(c->enable_annotations);
                c->n_enable_annotations = 0;
                c->enable_annotations = calloc(v->n + 1, sizeof(char *));
                if (!c->enable_annotations)
                        return -ENOMEM;
                for (size_t i = 0; i < v->n; i++) {
                        c->enable_annotations[i] = strdup(v->a[i]);
                        if (!c->enable_annotations[i])
                                return -ENOMEM;
                        c->n_enable_annotations++;
                }
                return 0;
        }
        *ret_what = "unknown key";
        return -ENOENT;
}

static void config_defaults(struct hako_config *c)
{
        *c = (struct hako_config){
            .accel = HV_ACCEL_AUTO,
            .default_vcpus = 1,
            .default_memory_mib = 256,
            .templates = true,
            .jail = true,
            .net_mode = NET_MODE_TCFILTER,
        };
}

static int parse(struct hako_config *c, const char *path, const char *text, char **ret_error)
{
        char section[64] = "";
        unsigned line = 1;

        for (const char *p = text; *p;) {
                const char *start = skip_space(p);
                const char *eol = start + strcspn(start, "\n");
                unsigned at = line;

                if (*start == '#' || *start == '\n' || *start == 0) {
                        p = *eol ? eol + 1 : eol;
                        line++;
                        continue;
                }
                if (*start == '[') {
                        const char *end = strchr(start, ']');
                        size_t n = end ? (size_t)(end - start - 1) : 0;
                        if (!end || end > eol || n == 0 || n >= sizeof(section) || !line_done(end + 1))
                                return error_set(ret_error, -EINVAL, "%s:%u: malformed section header", path,
                                                 at);
                        memcpy(section, start + 1, n);
                        section[n] = 0;
                        if (strcmp(section, "hypervisor") != 0 && strcmp(section, "network") != 0 &&
                            strcmp(section, "storage") != 0)
                                return error_set(ret_error, -EINVAL, "%s:%u: unknown section [%s]", path, at,
                                                 section);
                        p = *eol ? eol + 1 : eol;
                        line++;
                        continue;
                }
                char key[64];
                size_t n = strspn(start, "abcdefghijklmnopqrstuvwxyz0123456789_");
                const char *q = skip_space(start + n);
                if (n == 0 || n >= sizeof(key) || *q != '=')
                        return error_set(ret_error, -EINVAL, "%s:%u: expected key = value", path, at);
                memcpy(key, start, n);
                key[n] = 0;
                if (!*section)
                        return error_set(ret_error, -EINVAL, "%s:%u: %s outside of a [section]", path, at,
                                         key);
                struct value v;
                const char *vp = q + 1, *what;
                int r = parse_value(&vp, &line, &v);
                if (r < 0) {
                        value_done(&v);
                        return error_set(ret_error, -EINVAL, "%s:%u: %s: malformed value", path, at, key);
                }
                r = set_key(c, section, key, &v, &what);
                value_done(&v);
                if (r < 0)
                        return error_set(ret_error, -EINVAL, "%s:%u: %s: %s", path, at, key, what);
                p = vp + strcspn(vp, "\n");
                if (*p)
                        p++;
                line++;
        }
        return 0;
}

int hako_config_load(const char *path, struct hako_config *ret, char **ret_error)
{
        _cleanup_free_ char *text = NULL;
        struct hako_config c;
        size_t len = 0;
        bool given = path && *path;
        int r;

        config_defaults(&c);
        if (!given)
                path = HAKO_CONFIG_DEFAULT;
        r = read_full_file(path, CONFIG_MAX_BYTES, &text, &len);
        if (r == -ENOENT && !given) {
                *ret = c;
                return 0;
        }
        if (r < 0)
                return error_set(ret_error, r, "cannot read the configuration %s: %s", path, strerror(-r));
        if (strlen(text) != len)
                return error_set(ret_error, -EINVAL, "%s: not a text file", path);
        c.path = strdup(path);
        if (!c.path)
                return -ENOMEM;
        r = parse(&c, path, text, ret_error);
        if (r >= 0 && c.max_vcpus && c.default_vcpus > c.max_vcpus)
                r = error_set(ret_error, -EINVAL, "%s: default_vcpus is above max_vcpus", path);
        if (r >= 0 && c.max_memory_mib && c.default_memory_mib > c.max_memory_mib)
                r = error_set(ret_error, -EINVAL, "%s: default_memory is above max_memory", path);
        if (r < 0) {
                hako_config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

struct sandbox_tuning hako_config_tuning(const struct hako_config *c)
{
        return (struct sandbox_tuning){
            .disk_size = c->disk_size,
            .disk_dir = c->disk_dir,
            .no_disk = c->no_disk,
            .no_jail = !c->jail,
            .jail_uid_base = c->jail_uid_base,
            .jail_uid_count = c->jail_uid_count,
        };
}

void hako_config_done(struct hako_config *c)
{
        free(c->path);
        free(c->hypervisor);
        free(c->machine);
        free(c->kernel);
        free(c->initrd);
        free(c->kernel_params);
        free(c->disk_dir);
        for (size_t i = 0; i < c->n_enable_annotations; i++)
                free(c->enable_annotations[i]);
        free(c->enable_annotations);
        *c = (struct hako_config){0};
}

static bool enabled(const struct hako_config *c, const char *name)
{
        for (size_t i = 0; i < c->n_enable_annotations; i++)
                if (!strcmp(c->enable_annotations[i], name))
                        return true;
        return false;
}

/* Kernel parameters from a pod go on a command line: printable, no quotes that would change
 * how it is split. */
static bool kernel_params_valid(const char *s)
{
        if (strlen(s) > 1024)
                return false;
        for (; *s; s++)
                if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\'' || *s == '\\')
                        return false;
        return true;
}

int hako_config_apply_annotations(struct hako_config *c, json_t *annotations, char **ret_error)
{
        const char *key;
        json_t *val;

        json_object_foreach(annotations, key, val)
        {
                const char *name = key + strlen(HAKO_ANNOTATION_PREFIX), *s = json_string_value(val);
                int r = 0;

                if (strncmp(key, HAKO_ANNOTATION_PREFIX, strlen(HAKO_ANNOTATION_PREFIX)) != 0)
                        continue;
                if (!s)
                        return error_set(ret_error, -EINVAL, "annotation %s is not a string", key);
                if (!enabled(c, name))
                        return error_set(ret_error, -EPERM,
                                         "annotation %s is not allowed by %s (enable_annotations)", key,
                                         c->path ? c->path : "the default configuration");
                if (!strcmp(name, "vcpus")) {
                        uint32_t v;
                        r = parse_uint32(s, &v);
                        if (r >= 0)
                                r = set_vcpus(&c->default_vcpus, v, false);
                        if (r >= 0 && c->max_vcpus && v > c->max_vcpus)
                                r = -ERANGE;
                } else if (!strcmp(name, "memory")) {
                        uint64_t bytes;
                        r = parse_size(s, &bytes);
                        /* A plain number is MiB, as default_memory. */
                        if (r >= 0 && strspn(s, "0123456789") == strlen(s))
                                r = bytes > (UINT64_MAX >> 20) ? -ERANGE : (bytes <<= 20, 0);
                        if (r >= 0)
                                r = set_memory(&c->default_memory_mib, (long long)(bytes >> 20), false);
                        if (r >= 0 && c->max_memory_mib && c->default_memory_mib > c->max_memory_mib)
                                r = -ERANGE;
                } else if (!strcmp(name, "kernel_params")) {
                        struct value v = {.type = V_STRING, .s = (char *)s};
                        r = kernel_params_valid(s) ? set_string(&c->kernel_params, &v) : -EINVAL;
                } else if (!strcmp(name, "kernel") || !strcmp(name, "initrd")) {
                        struct value v = {.type = V_STRING, .s = (char *)s};
                        r = s[0] == '/' && access(s, R_OK) == 0
                                ? set_string(name[0] == 'k' ? &c->kernel : &c->initrd, &v)
                                : -ENOENT;
                } else if (!strcmp(name, "machine")) {
                        r = set_machine(c, s);
                } else if (!strcmp(name, "templates") || !strcmp(name, "debug_console")) {
                        if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
                                r = -EINVAL;
                        else
                                *(name[0] == 't' ? &c->templates : &c->debug_console) = s[0] == 't';
                } else
                        return error_set(ret_error, -EINVAL, "unknown annotation %s", key);
                if (r < 0)
                        return error_set(ret_error, r == -ENOMEM ? r : -EINVAL,
                                         "annotation %s: bad value '%.64s'", key, s);
        }
        return 0;
}
