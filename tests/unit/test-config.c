/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime's configuration file (the TOML subset of hako.toml) and the org.hako.* annotations a
 * pod may override it with. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "hako-config.h"
#include "macro.h"
#include "tap.h"

static char dir[] = "/tmp/hako-test-config.XXXXXX";

/* Writes text to dir/name; returns the path (static, overwritten by the next call). */
static const char *config_file(const char *name, const char *text, size_t len)
{
        static char path[256];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (write_file_atomic(path, text, len, 0600) < 0)
                diag("cannot write %s", path);
        return path;
}

/* Loads text and returns the error message (NULL when it loaded; the config is then freed). */
static char *load_error(const char *name, const char *text, int *ret)
{
        const char *path = config_file(name, text, strlen(text));
        struct hako_config c = {0};
        char *err = NULL;

        *ret = hako_config_load(path, &c, &err);
        if (*ret >= 0)
                hako_config_done(&c);
        return err;
}

static void test_defaults(void)
{
        struct hako_config c = {0};
        char *err = NULL;
        char missing[300];

        if (access(HAKO_CONFIG_DEFAULT, F_OK) == 0) {
                ok(true, "defaults # SKIP %s exists on this host", HAKO_CONFIG_DEFAULT);
        } else {
                is_int(hako_config_load(NULL, &c, &err), 0, "no file given, %s missing: the defaults",
                       HAKO_CONFIG_DEFAULT);
                ok(!c.path && !c.hypervisor && !c.machine && !c.kernel && !c.initrd && !c.kernel_params,
                   "no path, no binary, machine or guest image named");
                ok(c.default_vcpus == 1 && c.default_memory_mib == 256 && c.max_vcpus == 0 &&
                       c.max_memory_mib == 0,
                   "1 vCPU, 256 MiB, no maximums");
                ok(c.accel == HV_ACCEL_AUTO && c.templates && !c.debug_console, "accel auto, templates on");
                is_int(c.n_enable_annotations, 0, "no annotation enabled");
                hako_config_done(&c);
                is_int(hako_config_load("", &c, &err), 0, "an empty path is no path");
                hako_config_done(&c);
        }

        snprintf(missing, sizeof(missing), "%s/missing.toml", dir);
        is_int(hako_config_load(missing, &c, &err), -ENOENT, "a file named but missing fails");
        ok(err && strstr(err, "cannot read the configuration") && strstr(err, missing), "  saying which: %s",
           err ? err : "(none)");
        free(err);
}

static void test_full(void)
{
        static const char text[] = "# hako's configuration\n"
                                   "\n"
                                   "[hypervisor]   # the only section\n"
                                   "path = \"/usr/bin/qemu-system-x86_64\"\n"
                                   "machine = \"pc\"\n"
                                   "  accel = 'tcg'\n"
                                   "kernel = \"/opt/hako/vmlinux\"\n"
                                   "initrd = '/opt/hako/initrd.img'\n"
                                   "kernel_params = \"quiet\\tx=\\\"y\\\" \\\\\"  # escapes\n"
                                   "default_vcpus = 2\n"
                                   "default_memory = 512\n"
                                   "max_vcpus = 8\n"
                                   "max_memory = 8192\n"
                                   "templates = false\n"
                                   "debug_console = true\n"
                                   "enable_annotations = [\"vcpus\", \"memory\"]\n";
        const char *path = config_file("full.toml", text, strlen(text));
        struct hako_config c = {0};
        char *err = NULL;

        if (!is_int(hako_config_load(path, &c, &err), 0, "a file with every key loads")) {
                diag("%s", err ? err : "");
                free(err);
                return;
        }
        ok(c.path && !strcmp(c.path, path), "path is the file's");
        ok(c.hypervisor && !strcmp(c.hypervisor, "/usr/bin/qemu-system-x86_64"), "path");
        ok(c.machine && !strcmp(c.machine, "pc"), "machine");
        is_int(c.accel, HV_ACCEL_TCG, "accel, a 'literal' string on an indented line");
        ok(c.kernel && !strcmp(c.kernel, "/opt/hako/vmlinux"), "kernel");
        ok(c.initrd && !strcmp(c.initrd, "/opt/hako/initrd.img"), "initrd");
        ok(c.kernel_params && !strcmp(c.kernel_params, "quiet\tx=\"y\" \\"), "kernel_params with escapes");
        ok(c.default_vcpus == 2 && c.max_vcpus == 8, "vCPUs");
        ok(c.default_memory_mib == 512 && c.max_memory_mib == 8192, "memory");
        ok(!c.templates && c.debug_console, "booleans");
        ok(c.n_enable_annotations == 2 && !strcmp(c.enable_annotations[0], "vcpus") &&
               !strcmp(c.enable_annotations[1], "memory"),
           "enable_annotations");
        hako_config_done(&c);
        ok(!c.path && !c.enable_annotations, "hako_config_done clears it");
}

static void test_errors(void)
{
        static const struct {
                const char *name, *text, *message;
        } table[] = {
            {"unknown section", "[hypervisor]\ndefault_vcpus = 1\n\n[qemu]\n", ":4: unknown section [qemu]"},
            {"unknown key", "[hypervisor]\nfrobnicate = 1\n", ":2: frobnicate: unknown key"},
            {"string for an integer", "[hypervisor]\ndefault_vcpus = \"2\"\n",
             ":2: default_vcpus: bad value"},
            {"integer for a string", "[hypervisor]\nkernel = 5\n", ":2: kernel: bad value"},
            {"word for a boolean", "[hypervisor]\ntemplates = yes\n", ":2: templates: malformed value"},
            {"unterminated string", "[hypervisor]\nkernel = \"/boot/vmlinuz\n",
             ":2: kernel: malformed value"},
            {"unknown escape", "[hypervisor]\nkernel = \"a\\qb\"\n", ":2: kernel: malformed value"},
            {"default_vcpus = 0", "[hypervisor]\ndefault_vcpus = 0\n", ":2: default_vcpus: bad value"},
            {"default_vcpus = 65", "[hypervisor]\ndefault_vcpus = 65\n", ":2: default_vcpus: bad value"},
            {"default_memory = 64", "[hypervisor]\n# small\ndefault_memory = 64\n",
             ":3: default_memory: bad value"},
            {"max_memory over 1 TiB", "[hypervisor]\nmax_memory = 1048577\n", ":2: max_memory: bad value"},
            {"integer overflow", "[hypervisor]\nmax_vcpus = 99999999999999999999\n",
             ":2: max_vcpus: malformed value"},
            {"trailing garbage", "[hypervisor]\ndefault_vcpus = 2x\n", ":2: default_vcpus: malformed value"},
            {"array without commas", "[hypervisor]\nenable_annotations = [\"a\" \"b\"]\n",
             ":2: enable_annotations: malformed value"},
            {"array with a number", "[hypervisor]\nenable_annotations = [\"a\", 1]\n",
             ":2: enable_annotations: malformed value"},
            {"unterminated array", "[hypervisor]\nenable_annotations = [\n  \"a\",\n",
             ":2: enable_annotations: malformed value"},
            {"string for an array", "[hypervisor]\nenable_annotations = \"vcpus\"\n",
             ":2: enable_annotations: bad value"},
            {"key outside a section", "default_vcpus = 1\n[hypervisor]\n",
             ":1: default_vcpus outside of a [section]"},
            {"unterminated section", "\n[hypervisor\n", ":2: malformed section header"},
            {"empty section", "[]\n", ":1: malformed section header"},
            {"no equals sign", "[hypervisor]\ndefault_vcpus 1\n", ":2: expected key = value"},
            {"uppercase key", "[hypervisor]\nPath = \"x\"\n", ":2: expected key = value"},
            {"unknown accel", "[hypervisor]\naccel = \"hvf\"\n", ":2: accel: bad value"},
            {"unknown machine", "[hypervisor]\nmachine = \"q35\"\n", ":2: machine: bad value"},
            {"default_vcpus above max_vcpus", "[hypervisor]\ndefault_vcpus = 4\nmax_vcpus = 2\n",
             ": default_vcpus is above max_vcpus"},
            {"default_memory above max_memory", "[hypervisor]\ndefault_memory = 1024\nmax_memory = 512\n",
             ": default_memory is above max_memory"},
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                char want[512];
                int r = 0;
                _cleanup_free_ char *err = load_error("error.toml", table[i].text, &r);

                snprintf(want, sizeof(want), "%s/error.toml%s", dir, table[i].message);
                is_int(r, -EINVAL, "%s fails", table[i].name);
                ok(err && !strcmp(err, want), "  with \"FILE%s\"", table[i].message);
                if (err && strcmp(err, want) != 0)
                        diag("got: %s", err);
        }

        /* A NUL byte: not a text file. */
        const char *path = config_file("nul.toml", "[hypervisor]\npath = \"a\0b\"\n", 26);
        struct hako_config c = {0};
        _cleanup_free_ char *err = NULL;
        is_int(hako_config_load(path, &c, &err), -EINVAL, "a NUL byte fails");
        ok(err && strstr(err, "not a text file"), "  as not a text file: %s", err ? err : "(none)");
}

static void test_arrays(void)
{
        static const char text[] = "[hypervisor]\n"
                                   "enable_annotations = [\n"
                                   "  \"vcpus\",      # the number of vCPUs\n"
                                   "  # a comment line inside the array\n"
                                   "\n"
                                   "  'memory',\n"
                                   "  \"kernel_params\"\n"
                                   "]   # after it\n"
                                   "default_vcpus = 3\n";
        const char *path = config_file("array.toml", text, strlen(text));
        struct hako_config c = {0};
        char *err = NULL;
        int r;

        if (is_int(hako_config_load(path, &c, &err), 0, "an array over several lines, with comments")) {
                ok(c.n_enable_annotations == 3 && !strcmp(c.enable_annotations[0], "vcpus") &&
                       !strcmp(c.enable_annotations[1], "memory") &&
                       !strcmp(c.enable_annotations[2], "kernel_params"),
                   "holds its three strings");
                is_int(c.default_vcpus, 3, "the key after it is read");
                hako_config_done(&c);
        }
        free(err);

        /* Line numbers count the array's lines. */
        _cleanup_free_ char *msg = NULL;
        char want[300];
        char *bad = NULL;
        if (asprintf(&bad, "%sbogus = 1\n", text) < 0)
                return;
        msg = load_error("array-error.toml", bad, &r);
        free(bad);
        snprintf(want, sizeof(want), "%s/array-error.toml:10: bogus: unknown key", dir);
        ok(msg && !strcmp(msg, want), "an error after the array is on line 10: %s", msg ? msg : "(none)");

        /* A later assignment replaces the array. */
        static const char twice[] = "[hypervisor]\nenable_annotations = [\"a\", \"b\"]\n"
                                    "enable_annotations = []\n";
        path = config_file("twice.toml", twice, strlen(twice));
        if (is_int(hako_config_load(path, &c, &err), 0, "an array set twice")) {
                is_int(c.n_enable_annotations, 0, "the last one counts");
                hako_config_done(&c);
        }
}

/* Loads a config with enable_annotations = [enable...] (NULL: the defaults) and applies json. */
static int apply(const char *enable, const char *json, struct hako_config *c, char **ret_error)
{
        json_t *a = json_loads(json, 0, NULL);
        int r;

        *c = (struct hako_config){0};
        if (enable) {
                char text[512];
                snprintf(text, sizeof(text),
                         "[hypervisor]\nmax_vcpus = 8\nmax_memory = 4096\n"
                         "enable_annotations = [%s]\n",
                         enable);
                r = hako_config_load(config_file("annotations.toml", text, strlen(text)), c, ret_error);
        } else
                r = hako_config_load(NULL, c, ret_error);
        if (r >= 0)
                r = hako_config_apply_annotations(c, a, ret_error);
        json_decref(a);
        return r;
}

static void test_annotations(void)
{
        static const char all[] = "\"vcpus\", \"memory\", \"kernel_params\"";
        struct hako_config c;
        char *err = NULL, want[400];

        is_int(apply(all, "{\"org.hako.vcpus\": \"4\", \"org.hako.memory\": \"1024\"}", &c, &err), 0,
               "vcpus and memory annotations apply");
        ok(c.default_vcpus == 4 && c.default_memory_mib == 1024, "4 vCPUs, a plain number is MiB (1024)");
        hako_config_done(&c);

        is_int(apply(all, "{\"org.hako.memory\": \"512m\"}", &c, &err), 0, "memory \"512m\"");
        is_int(c.default_memory_mib, 512, "is 512 MiB");
        hako_config_done(&c);
        is_int(apply(all, "{\"org.hako.memory\": \"2g\"}", &c, &err), 0, "memory \"2g\"");
        is_int(c.default_memory_mib, 2048, "is 2048 MiB");
        hako_config_done(&c);

        is_int(apply(all, "{\"org.hako.kernel_params\": \"quiet loglevel=3\"}", &c, &err), 0,
               "kernel_params");
        ok(c.kernel_params && !strcmp(c.kernel_params, "quiet loglevel=3"), "are set");
        hako_config_done(&c);

        is_int(apply(all,
                     "{\"io.kubernetes.cri.container-type\": \"sandbox\", \"org.hakox.vcpus\": \"9\","
                     " \"org.hako\": \"x\", \"other\": 5}",
                     &c, &err),
               0, "annotations that are not org.hako.* are ignored");
        ok(c.default_vcpus == 1 && c.default_memory_mib == 256, "nothing changed");
        hako_config_done(&c);

        /* Refused: each with its message. */
        snprintf(want, sizeof(want),
                 "annotation org.hako.memory is not allowed by %s/annotations.toml (enable_annotations)",
                 dir);
        is_int(apply("\"vcpus\"", "{\"org.hako.memory\": \"512\"}", &c, &err), -EPERM,
               "an annotation the file does not enable: -EPERM");
        ok(err && !strcmp(err, want), "  \"%s\"", want);
        hako_config_done(&c);
        free(err);
        err = NULL;

        if (access(HAKO_CONFIG_DEFAULT, F_OK) != 0) {
                is_int(apply(NULL, "{\"org.hako.vcpus\": \"2\"}", &c, &err), -EPERM,
                       "the defaults enable no annotation");
                ok(err &&
                       !strcmp(err, "annotation org.hako.vcpus is not allowed by the default configuration "
                                    "(enable_annotations)"),
                   "  saying so: %s", err ? err : "(none)");
                hako_config_done(&c);
                free(err);
                err = NULL;
        }

        is_int(apply(all, "{\"org.hako.frobnicate\": \"1\"}", &c, &err), -EPERM,
               "an unknown org.hako.* annotation, not enabled: -EPERM");
        hako_config_done(&c);
        free(err);
        err = NULL;
        is_int(apply("\"frobnicate\"", "{\"org.hako.frobnicate\": \"1\"}", &c, &err), -EINVAL,
               "an unknown org.hako.* annotation, even enabled: -EINVAL");
        ok(err && !strcmp(err, "unknown annotation org.hako.frobnicate"), "  \"unknown annotation ...\"");
        hako_config_done(&c);
        free(err);
        err = NULL;

        static const struct {
                const char *json, *what;
        } bad[] = {
            {"{\"org.hako.kernel_params\": \"init=\\\"/bin/sh\\\"\"}", "kernel_params with a double quote"},
            {"{\"org.hako.kernel_params\": \"a='b'\"}", "kernel_params with a single quote"},
            {"{\"org.hako.kernel_params\": \"a\\\\b\"}", "kernel_params with a backslash"},
            {"{\"org.hako.kernel_params\": \"a\\nb\"}", "kernel_params with a newline"},
            {"{\"org.hako.vcpus\": \"0\"}", "vcpus 0"},
            {"{\"org.hako.vcpus\": \"9\"}", "vcpus above max_vcpus"},
            {"{\"org.hako.vcpus\": \"two\"}", "vcpus not a number"},
            {"{\"org.hako.memory\": \"64\"}", "memory 64 MiB"},
            {"{\"org.hako.memory\": \"5g\"}", "memory above max_memory"},
            {"{\"org.hako.memory\": \"-1\"}", "memory negative"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                is_int(apply(all, bad[i].json, &c, &err), -EINVAL, "%s is refused", bad[i].what);
                /* Not printed: one of them holds a newline, which would break the TAP line. */
                ok(err && strstr(err, "bad value"), "  as a bad value");
                hako_config_done(&c);
                free(err);
                err = NULL;
        }

        is_int(apply(all, "{\"org.hako.vcpus\": 4}", &c, &err), -EINVAL,
               "a number, not a string, is refused");
        ok(err && strstr(err, "is not a string"), "  as not a string: %s", err ? err : "(none)");
        hako_config_done(&c);
        free(err);
}

int main(void)
{
        if (!mkdtemp(dir))
                return 1;

        test_defaults();
        test_full();
        test_errors();
        test_arrays();
        test_annotations();

        (void)rm_rf(dir);
        done_testing();
        return exit_status();
}
