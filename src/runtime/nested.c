/* SPDX-License-Identifier: Apache-2.0 */
#include "nested.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "caps.h"
#include "error.h"
#include "macro.h"

/* The character devices a guest has and a container may be given. */
struct guest_device {
        const char *path;
        unsigned major, minor;
};

static const struct guest_device guest_devices[] = {
    {"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},       {"/dev/random", 1, 8},
    {"/dev/urandom", 1, 9}, {"/dev/kmsg", 1, 11},   {"/dev/tty", 5, 0},        {"/dev/console", 5, 1},
    {"/dev/ptmx", 5, 2},    {"/dev/fuse", 10, 229}, {"/dev/net/tun", 10, 200},
};

/* What an engine inside needs: fuse-overlayfs, and tun for slirp4netns and VPNs. */
static const struct guest_device *const engine_devices[] = {&guest_devices[9], &guest_devices[10]};

/* Engine storage that must not be on overlayfs or virtio-fs: overlayfs refuses either as its
 * upper layer (containers/storage then falls back to vfs, copying every layer). */
static const struct {
        const char *destination, *name;
} engine_storage[] = {
    {"/var/lib/containers", "var-lib-containers"},
    {"/var/lib/docker", "var-lib-docker"},
};

static json_t *bounding(json_t *spec)
{
        return json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"), "bounding");
}

/* CAP_AUDIT_READ: clients built against older capability lists (Docker 20.10's gives every
 * capability up to it as "privileged") stop there. */
#define NESTED_CAP_PRIVILEGED 37

bool nested_is_privileged(json_t *spec)
{
        uint64_t want = (UINT64_C(1) << (NESTED_CAP_PRIVILEGED + 1)) - 1;

        return (caps_from_json(bounding(spec)) & want) == want;
}

static bool has_sys_admin(json_t *spec)
{
        return caps_from_json(bounding(spec)) & (UINT64_C(1) << CAP_SYS_ADMIN);
}

static const struct guest_device *guest_device_find(json_t *dev)
{
        const char *type = json_string_value(json_object_get(dev, "type"));
        json_int_t major = json_integer_value(json_object_get(dev, "major"));
        json_int_t minor = json_integer_value(json_object_get(dev, "minor"));

        if (!type || strcmp(type, "c") != 0)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(guest_devices); i++)
                if (guest_devices[i].major == major && guest_devices[i].minor == minor)
                        return &guest_devices[i];
        return NULL;
}

/* Drops (privileged) or refuses (anyone else) devices the guest does not have: their numbers
 * would name some other guest device, or nothing. */
static int filter_devices(json_t *linux_, bool privileged, char **ret_error)
{
        json_t *devs = json_object_get(linux_, "devices");

        for (size_t i = json_array_size(devs); i-- > 0;) {
                json_t *d = json_array_get(devs, i);
                if (guest_device_find(d))
                        continue;
                if (!privileged)
                        return error_set(ret_error, -EOPNOTSUPP,
                                         "device %s cannot be given to the container: it runs in a VM and "
                                         "host devices are never passed into it",
                                         json_string_value(json_object_get(d, "path")) ?: "(unnamed)");
                json_array_remove(devs, i);
        }
        return 0;
}

static void add_device(json_t *linux_, const struct guest_device *g)
{
        json_t *devs = json_object_get(linux_, "devices");
        json_t *res = json_object_get(linux_, "resources");
        json_t *allow;
        size_t i;
        json_t *d;

        if (!json_is_array(devs)) {
                devs = json_array();
                json_object_set_new(linux_, "devices", devs);
        }
        json_array_foreach(devs, i, d) if (guest_device_find(d) == g) return;
        json_array_append_new(devs, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "path", g->path, "type",
                                              "c", "major", g->major, "minor", g->minor, "fileMode", 0666,
                                              "uid", 0, "gid", 0));
        if (!json_is_object(res)) {
                res = json_object();
                json_object_set_new(linux_, "resources", res);
        }
        allow = json_object_get(res, "devices");
        if (!json_is_array(allow)) {
                allow = json_array();
                json_object_set_new(res, "devices", allow);
        }
        json_array_append_new(allow, json_pack("{s:b, s:s, s:i, s:i, s:s}", "allow", 1, "type", "c", "major",
                                               g->major, "minor", g->minor, "access", "rwm"));
}

static void ensure_namespace(json_t *linux_, const char *type)
{
        json_t *ns = json_object_get(linux_, "namespaces");
        size_t i;
        json_t *n;

        if (!json_is_array(ns)) {
                ns = json_array();
                json_object_set_new(linux_, "namespaces", ns);
        }
        json_array_foreach(ns, i,
                           n) if (!strcmp(json_string_value(json_object_get(n, "type")) ?: "", type)) return;
        json_array_append_new(ns, json_pack("{s:s}", "type", type));
}

static json_t *find_mount(json_t *mounts, const char *destination)
{
        size_t i;
        json_t *m;

        json_array_foreach(mounts, i, m)
        {
                const char *d = json_string_value(json_object_get(m, "destination"));
                if (d && !strcmp(d, destination))
                        return m;
        }
        return NULL;
}

/* Whether the spec mounts anything at destination or at one of its parents below /. */
static bool covered(json_t *mounts, const char *destination)
{
        size_t i;
        json_t *m;

        json_array_foreach(mounts, i, m)
        {
                const char *d = json_string_value(json_object_get(m, "destination"));
                size_t n = d ? strlen(d) : 0;
                while (n > 1 && d[n - 1] == '/')
                        n--;
                if (n > 1 && !strncmp(d, destination, n) && (destination[n] == 0 || destination[n] == '/'))
                        return true;
        }
        return false;
}

/* A cgroup2 mount the engine inside can write to (Docker mounts it read-only). */
static void cgroup_writable(json_t *spec)
{
        json_t *mounts = json_object_get(spec, "mounts");
        json_t *m = find_mount(mounts, "/sys/fs/cgroup");
        json_t *opts;

        if (!m) {
                m = json_pack("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination", "/sys/fs/cgroup", "type",
                              "cgroup", "source", "cgroup", "options", "nosuid", "noexec", "nodev",
                              "relatime");
                json_array_append_new(mounts, m);
                return;
        }
        opts = json_object_get(m, "options");
        for (size_t i = json_array_size(opts); i-- > 0;)
                if (!strcmp(json_string_value(json_array_get(opts, i)) ?: "", "ro"))
                        json_array_remove(opts, i);
}

/* Calls Docker's default seccomp profile refuses even with CAP_SYS_ADMIN, and that crun and runc
 * inside need: a session keyring ("create keyring: Operation not permitted"; keyrings are not
 * namespaced, so in a shared kernel one container could read another's keys) and pivot_root
 * into the inner container's root. Here the kernel is the sandbox's own, so an engine-capable
 * container may make them. */
static const char *const engine_calls[] = {"add_key", "keyctl", "request_key", "pivot_root"};

static void seccomp_allow_engine_calls(json_t *linux_)
{
        json_t *sc = json_object_get(linux_, "seccomp");
        json_t *rules = json_object_get(sc, "syscalls");
        const char *def = json_string_value(json_object_get(sc, "defaultAction"));
        size_t i;
        json_t *rule;

        if (!json_is_object(sc) || (def && !strcmp(def, "SCMP_ACT_ALLOW")))
                return;
        if (!json_is_array(rules)) {
                rules = json_array();
                json_object_set_new(sc, "syscalls", rules);
        }
        /* One action per call: drop them from the rules that name them (errno ones) first. */
        json_array_foreach(rules, i, rule)
        {
                json_t *names = json_object_get(rule, "names");
                for (size_t k = 0; k < ELEMENTSOF(engine_calls); k++)
                        for (size_t j = json_array_size(names); j-- > 0;)
                                if (!strcmp(json_string_value(json_array_get(names, j)) ?: "",
                                            engine_calls[k]))
                                        json_array_remove(names, j);
        }
        for (size_t j = json_array_size(rules); j-- > 0;) {
                json_t *names = json_object_get(json_array_get(rules, j), "names");
                if (json_is_array(names) && json_array_size(names) == 0)
                        json_array_remove(rules, j);
        }
        json_array_append_new(rules,
                              json_pack("{s:[s, s, s, s], s:s}", "names", engine_calls[0], engine_calls[1],
                                        engine_calls[2], engine_calls[3], "action", "SCMP_ACT_ALLOW"));
}

static void remove_string(json_t *array, const char *s)
{
        for (size_t i = json_array_size(array); i-- > 0;)
                if (!strcmp(json_string_value(json_array_get(array, i)) ?: "", s))
                        json_array_remove(array, i);
}

int nested_prepare(json_t *spec, const char *container_id, bool have_disk, struct nested_plan *ret,
                   char **ret_error)
{
        json_t *linux_ = json_object_get(spec, "linux");
        json_t *mounts = json_object_get(spec, "mounts");
        struct nested_plan plan = {0};
        bool privileged = nested_is_privileged(spec);
        int r;

        if (!json_is_object(linux_) || !json_is_array(mounts))
                return error_set(ret_error, -EINVAL, "%s", "the spec has no linux section or mounts");
        r = filter_devices(linux_, privileged, ret_error);
        if (r < 0)
                return r;
        if (!privileged && !has_sys_admin(spec)) {
                *ret = plan;
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(engine_devices); i++)
                add_device(linux_, engine_devices[i]);
        if (privileged)
                add_device(linux_, &guest_devices[5]); /* kmsg */
        ensure_namespace(linux_, "cgroup");
        cgroup_writable(spec);
        remove_string(json_object_get(linux_, "readonlyPaths"), "/proc/sys");
        seccomp_allow_engine_calls(linux_);
        plan.delegate_cgroup = true;

        for (size_t i = 0; have_disk && i < ELEMENTSOF(engine_storage); i++) {
                char source[256];
                if (covered(mounts, engine_storage[i].destination))
                        continue;
                snprintf(source, sizeof(source), "%s/%s/%s", HAKO_GUEST_DISK_DIR, container_id,
                         engine_storage[i].name);
                json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s, s]}", "destination",
                                                        engine_storage[i].destination, "type", "bind",
                                                        "source", source, "options", "rbind", "rw"));
                plan.scratch_dirs[plan.n_scratch_dirs++] = engine_storage[i].name;
        }
        *ret = plan;
        return 0;
}
