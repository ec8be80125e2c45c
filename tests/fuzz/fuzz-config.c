/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the runtime's configuration: the TOML subset of hako.toml and the org.hako.* annotations a
 * pod may set. The input is written to a temporary file and loaded; a configuration that loads gets
 * a fixed set of annotation objects applied (each to a fresh load). The input is also read as a JSON
 * object of annotations and applied to configurations that enable every annotation, with and
 * without maximums.
 *
 * Invariants checked (abort on violation); leaks are ASan's:
 *  - a loaded configuration holds sizes a VM can have: 1..64 vCPUs, 128 MiB..1 TiB, defaults not
 *    above the maximums, a known accelerator and machine, at most 64 enabled annotations;
 *  - a failed load says why, naming the file, with a line number within the file;
 *  - annotations that apply keep those bounds and set what they say: a number of vCPUs, a plain
 *    number of MiB, kernel parameters without quotes or control characters; one that does not
 *    apply fails with a message. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hako-config.h"
#include "macro.h"
#include "walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char enable_all[] =
    "[hypervisor]\n"
    "enable_annotations = [\"vcpus\", \"memory\", \"kernel_params\", \"kernel\",\n"
    "  \"initrd\", \"machine\", \"templates\", \"debug_console\", \"frobnicate\"]\n";
static const char enable_all_max[] = "[hypervisor]\n"
                                     "max_vcpus = 8\n"
                                     "max_memory = 4096\n"
                                     "enable_annotations = [\"vcpus\", \"memory\", \"kernel_params\"]\n";

static const char *const fixed_annotations[] = {
    "{}",
    "{\"org.hako.vcpus\": \"2\"}",
    "{\"org.hako.memory\": \"512m\"}",
    "{\"org.hako.memory\": \"1024\"}",
    "{\"org.hako.kernel_params\": \"quiet console=hvc0\"}",
    "{\"org.hako.kernel_params\": \"init=\\\"/bin/sh\\\"\"}",
    "{\"org.hako.machine\": \"pc\", \"org.hako.templates\": \"false\", \"org.hako.debug_console\": \"true\"}",
    "{\"org.hako.kernel\": \"/nonexistent/vmlinux\"}",
    "{\"org.hako.frobnicate\": \"1\"}",
    "{\"io.kubernetes.cri.container-type\": \"sandbox\", \"org.hako.vcpus\": 2}",
};

static void check_config(const struct hako_config *c)
{
        CHECK(c->default_vcpus >= 1 && c->default_vcpus <= 64);
        CHECK(c->max_vcpus <= 64);
        CHECK(c->default_memory_mib >= 128 && c->default_memory_mib <= (1u << 20));
        CHECK(c->max_memory_mib == 0 || (c->max_memory_mib >= 128 && c->max_memory_mib <= (1u << 20)));
        CHECK(!c->max_vcpus || c->default_vcpus <= c->max_vcpus);
        CHECK(!c->max_memory_mib || c->default_memory_mib <= c->max_memory_mib);
        CHECK(c->accel == HV_ACCEL_AUTO || c->accel == HV_ACCEL_KVM || c->accel == HV_ACCEL_TCG);
        CHECK(!c->machine || !strcmp(c->machine, "pc") || !strcmp(c->machine, "microvm"));
        CHECK(c->n_enable_annotations <= 64);
        for (size_t i = 0; i < c->n_enable_annotations; i++)
                CHECK(c->enable_annotations[i]);
        fuzz_sink += c->default_vcpus + c->default_memory_mib + c->templates + c->debug_console;
}

/* "FILE:LINE: what", "FILE: what" or "cannot read the configuration FILE: ...". */
static void check_load_error(const char *err, const char *path, const uint8_t *data, size_t size)
{
        size_t n = strlen(path), lines = 1;
        const char *p;

        CHECK(err && *err);
        if (!strncmp(err, "cannot read the configuration ", 30))
                return;
        CHECK(!strncmp(err, path, n) && err[n] == ':');
        p = err + n + 1;
        if (*p >= '0' && *p <= '9') {
                unsigned long line = strtoul(p, NULL, 10);
                for (size_t i = 0; i < size; i++)
                        lines += data[i] == '\n';
                CHECK(line >= 1 && line <= lines);
        }
}

/* What an annotation that applied must have set. */
static void check_applied(const struct hako_config *c, json_t *annotations)
{
        const char *s;

        check_config(c);
        s = json_string_value(json_object_get(annotations, "org.hako.vcpus"));
        if (s)
                CHECK(c->default_vcpus == strtoul(s, NULL, 10));
        s = json_string_value(json_object_get(annotations, "org.hako.memory"));
        if (s && strspn(s, "0123456789") == strlen(s))
                CHECK(c->default_memory_mib == strtoull(s, NULL, 10));
        s = json_string_value(json_object_get(annotations, "org.hako.kernel_params"));
        if (s) {
                CHECK(c->kernel_params && !strcmp(c->kernel_params, s));
                CHECK(strlen(s) <= 1024);
                for (const char *p = s; *p; p++)
                        CHECK(*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\'' && *p != '\\');
        }
}

/* Loads path afresh and applies annotations to it. */
static void apply(const char *path, json_t *annotations)
{
        struct hako_config c = {0};
        _cleanup_free_ char *err = NULL;
        int r;

        r = hako_config_load(path, &c, &err);
        CHECK(r == 0);
        r = hako_config_apply_annotations(&c, annotations, &err);
        if (r == 0) {
                CHECK(!err);
                check_applied(&c, annotations);
        } else {
                CHECK(r == -EINVAL || r == -EPERM || r == -ENOMEM);
                CHECK(err && *err);
        }
        hako_config_done(&c);
}

static void write_file(int fd, const void *data, size_t size)
{
        CHECK(ftruncate(fd, 0) == 0);
        CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static json_t *fixed[ELEMENTSOF(fixed_annotations)];
        char path[] = "/tmp/hako-fuzz-config.XXXXXX";
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *err = NULL;
        struct hako_config c = {0};
        json_t *annotations;
        int r;

        if (!fixed[0])
                for (size_t i = 0; i < ELEMENTSOF(fixed); i++) {
                        fixed[i] = json_loads(fixed_annotations[i], JSON_REJECT_DUPLICATES, NULL);
                        CHECK(json_is_object(fixed[i]));
                }
        fd = mkstemp(path);
        CHECK(fd >= 0);
        write_file(fd, data, size);

        r = hako_config_load(path, &c, &err);
        if (r == 0) {
                CHECK(!err);
                CHECK(c.path && !strcmp(c.path, path));
                check_config(&c);
                hako_config_done(&c);
                for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                        apply(path, fixed[i]);
        } else {
                CHECK(r == -EINVAL || r == -EFBIG || r == -ENOMEM);
                check_load_error(err, path, data, size);
        }

        /* The input as a pod's annotations. */
        annotations = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(annotations)) {
                write_file(fd, enable_all, strlen(enable_all));
                apply(path, annotations);
                write_file(fd, enable_all_max, strlen(enable_all_max));
                apply(path, annotations);
        }
        json_decref(annotations);
        (void)unlink(path);
        return 0;
}
