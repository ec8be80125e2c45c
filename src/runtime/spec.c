/* SPDX-License-Identifier: Apache-2.0 */
#include "spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent-protocol.h"
#include "caps.h"
#include "error.h"
#include "macro.h"
#include "ocijson.h"
#include "seccomp-profile.h"
#include "strv.h"

#define SPEC_MAX_BYTES (1u << 20)

static json_t *strings(const char *const *v)
{
        json_t *a = json_array();
        for (; a && *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

static json_t *mount_new(const char *dest, const char *type, const char *source, const char *const *opts)
{
        return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", source,
                         "options", strings(opts));
}

json_t *spec_default(void)
{
        static const char *const caps[] = {"CAP_CHOWN",
                                           "CAP_DAC_OVERRIDE",
                                           "CAP_FSETID",
                                           "CAP_FOWNER",
                                           "CAP_MKNOD",
                                           "CAP_NET_RAW",
                                           "CAP_SETGID",
                                           "CAP_SETUID",
                                           "CAP_SETFCAP",
                                           "CAP_SETPCAP",
                                           "CAP_NET_BIND_SERVICE",
                                           "CAP_SYS_CHROOT",
                                           "CAP_KILL",
                                           "CAP_AUDIT_WRITE",
                                           NULL};
        static const char *const masked[] = {"/proc/acpi",
                                             "/proc/asound",
                                             "/proc/kcore",
                                             "/proc/keys",
                                             "/proc/latency_stats",
                                             "/proc/timer_list",
                                             "/proc/timer_stats",
                                             "/proc/sched_debug",
                                             "/proc/scsi",
                                             "/sys/firmware",
                                             NULL};
        static const char *const ro[] = {"/proc/bus",           "/proc/fs", "/proc/irq", "/proc/sys",
                                         "/proc/sysrq-trigger", NULL};
        json_t *mounts = json_array();

        json_array_append_new(
            mounts, mount_new("/proc", "proc", "proc", (const char *[]){"nosuid", "noexec", "nodev", NULL}));
        json_array_append_new(
            mounts, mount_new("/dev", "tmpfs", "tmpfs",
                              (const char *[]){"nosuid", "strictatime", "mode=755", "size=65536k", NULL}));
        json_array_append_new(mounts,
                              mount_new("/dev/pts", "devpts", "devpts",
                                        (const char *[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                                         "mode=0620", "gid=5", NULL}));
        json_array_append_new(mounts, mount_new("/dev/shm", "tmpfs", "shm",
                                                (const char *[]){"nosuid", "noexec", "nodev", "mode=1777",
                                                                 "size=65536k", NULL}));
        json_array_append_new(mounts, mount_new("/dev/mqueue", "mqueue", "mqueue",
                                                (const char *[]){"nosuid", "noexec", "nodev", NULL}));
        json_array_append_new(mounts, mount_new("/sys", "sysfs", "sysfs",
                                                (const char *[]){"nosuid", "noexec", "nodev", "ro", NULL}));
        json_array_append_new(
            mounts, mount_new("/sys/fs/cgroup", "cgroup", "cgroup",
                              (const char *[]){"nosuid", "noexec", "nodev", "relatime", "ro", NULL}));

        json_t *ns = json_array();
        static const char *const nss[] = {"pid", "network", "ipc", "uts", "mount", "cgroup", NULL};
        for (const char *const *n = nss; *n; n++)
                json_array_append_new(ns, json_pack("{s:s}", "type", *n));

        return json_pack("{s:s, s:{s:b, s:{s:i, s:i}, s:[s], s:[s], s:s, s:{s:o, s:o, s:o, s:o}, s:[{s:s, "
                         "s:i, s:i}], s:b},"
                         " s:{s:s, s:b}, s:s, s:o, s:{s:o, s:o, s:o}}",
                         "ociVersion", "1.0.2", "process", "terminal", 0, "user", "uid", 0, "gid", 0, "args",
                         "sh", "env", "PATH=" SPEC_DEFAULT_PATH, "cwd", "/", "capabilities", "bounding",
                         strings(caps), "effective", strings(caps), "permitted", strings(caps), "ambient",
                         json_array(), "rlimits", "type", "RLIMIT_NOFILE", "hard", 1048576, "soft", 1048576,
                         "noNewPrivileges", 0, "root", "path", "rootfs", "readonly", 0, "hostname", "hako",
                         "mounts", mounts, "linux", "namespaces", ns, "maskedPaths", strings(masked),
                         "readonlyPaths", strings(ro));
}

int spec_check_supported(json_t *spec, char **ret_error)
{
        json_t *ns = json_object_get(json_object_get(spec, "linux"), "namespaces");
        size_t i;
        json_t *n;

        json_array_foreach(ns, i, n)
        {
                json_t *path = json_object_get(n, "path");
                /* A network namespace is the host process's to join (the VM's host side). */
                if (!strcmp(json_string_value(json_object_get(n, "type")) ?: "", "network"))
                        continue;
                if (path && json_string_length(path) > 0)
                        return error_set(
                            ret_error, -EOPNOTSUPP,
                            "joining an existing namespace (%s) is not possible: the container runs "
                            "in its own VM",
                            json_string_value(json_object_get(n, "type")));
        }
        return 0;
}

int spec_load_bundle(const char *bundle_dir, json_t **ret, char **ret_rootfs, bool *ret_rootfs_ro,
                     char **ret_error)
{
        _cleanup_free_ char *path = NULL, *rootfs = NULL;
        json_error_t jerr;
        json_t *spec, *root;
        struct stat st;

        if (asprintf(&path, "%s/config.json", bundle_dir) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0)
                return error_set(ret_error, negative_errno(), "cannot read %s", path);
        if (st.st_size > SPEC_MAX_BYTES)
                return error_set(ret_error, -EFBIG, "%s is too large", path);
        spec = ocijson_load_file(path, SPEC_MAX_BYTES, JSON_REJECT_DUPLICATES, &jerr);
        if (!spec) {
                if (ret_error &&
                    asprintf(ret_error, "invalid %s: line %d: %s", path, jerr.line, jerr.text) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        if (!json_is_object(spec) || !json_is_string(json_object_get(spec, "ociVersion"))) {
                json_decref(spec);
                return error_set(ret_error, -EINVAL, "invalid %s: not an OCI runtime config (no ociVersion)",
                                 path);
        }
        root = json_object_get(spec, "root");
        const char *rp = json_string_value(json_object_get(root, "path"));
        if (!rp || !*rp) {
                json_decref(spec);
                return error_set(ret_error, -EINVAL, "invalid %s: root.path is missing", path);
        }
        if (rp[0] == '/')
                rootfs = strdup(rp);
        else if (asprintf(&rootfs, "%s/%s", bundle_dir, rp) < 0)
                rootfs = NULL;
        if (!rootfs) {
                json_decref(spec);
                return -ENOMEM;
        }
        if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
                json_decref(spec);
                return error_set(ret_error, -ENOENT, "bundle rootfs %s does not exist", rootfs);
        }
        *ret_rootfs_ro = json_is_true(json_object_get(root, "readonly"));
        *ret_rootfs = TAKE_PTR(rootfs);
        *ret = spec;
        return 0;
}

bool spec_mount_is_bind(json_t *m)
{
        const char *type = json_string_value(json_object_get(m, "type"));
        size_t i;
        json_t *o;

        if (type && !strcmp(type, "bind"))
                return true;
        json_array_foreach(json_object_get(m, "options"), i, o)
        {
                const char *s = json_string_value(o);
                if (s && (!strcmp(s, "bind") || !strcmp(s, "rbind")))
                        return true;
        }
        return false;
}

static bool mount_is_ro(json_t *m)
{
        size_t i;
        json_t *o;

        json_array_foreach(json_object_get(m, "options"), i, o)
        {
                const char *s = json_string_value(o);
                if (s && !strcmp(s, "ro"))
                        return true;
        }
        return false;
}

void spec_env_set(json_t *env, const char *kv)
{
        size_t keylen = strcspn(kv, "=");
        size_t i;
        json_t *e;

        json_array_foreach(env, i, e)
        {
                const char *s = json_string_value(e);
                if (s && !strncmp(s, kv, keylen) && (s[keylen] == '=' || s[keylen] == 0)) {
                        json_array_set_new(env, i, json_string(kv));
                        return;
                }
        }
        json_array_append_new(env, json_string(kv));
}

/* The share of host, its guest path in *ret_guest, its name noted in used (if any). */
static int use_share(struct share_table *shares, const char *host, bool ro, struct strv *used,
                     char ret_guest[static 512])
{
        const char *name;
        int r = share_table_get(shares, host, ro, &name);

        if (r < 0)
                return r;
        if (used) {
                strv_push(used, name);
                if (strv_status(used) < 0) {
                        share_table_put(shares, name);
                        return -ENOMEM;
                }
        }
        snprintf(ret_guest, 512, HAKO_GUEST_SHARED_DIR "/%s", name);
        return 0;
}

int spec_share_rootfs(struct share_table *shares, const char *host, bool ro, struct strv *used,
                      char **ret_guest)
{
        char guest[512];
        int r = use_share(shares, host, ro, used, guest);

        if (r < 0)
                return r;
        *ret_guest = strdup(guest);
        return *ret_guest ? 0 : -ENOMEM;
}

int spec_prepare(json_t *spec, const char *container_id, const struct container_opts *o,
                 struct share_table *shares, struct strv *used, char **ret_error)
{
        json_t *process = json_object_get(spec, "process");
        json_t *linux_ = json_object_get(spec, "linux");
        char rootpath[256];
        int r;

        if (!json_is_object(process))
                return error_set(ret_error, -EINVAL, "%s", "the OCI config has no process to run");
        if (!json_is_object(linux_)) {
                linux_ = json_object();
                json_object_set_new(spec, "linux", linux_);
        }

        snprintf(rootpath, sizeof(rootpath), HAKO_GUEST_CONTAINERS_DIR "/%s/rootfs", container_id);
        json_t *root = json_object_get(spec, "root");
        if (!json_is_object(root)) {
                root = json_object();
                json_object_set_new(spec, "root", root);
        }
        json_object_set_new(root, "path", json_string(rootpath));

        if (o->args) {
                json_t *args = json_array();
                for (size_t i = 0; i < o->n_args; i++)
                        json_array_append_new(args, json_string(o->args[i]));
                json_object_set_new(process, "args", args);
        }
        json_t *args = json_object_get(process, "args");
        if (!json_is_array(args) || json_array_size(args) == 0)
                return error_set(ret_error, -EINVAL, "%s", "no command given and the image has none");

        json_t *env = json_object_get(process, "env");
        if (!json_is_array(env)) {
                env = json_array();
                json_object_set_new(process, "env", env);
        }
        if (o->tty)
                spec_env_set(env, "TERM=xterm");
        for (size_t i = 0; i < o->n_env; i++)
                spec_env_set(env, o->env[i]);
        if (o->cwd)
                json_object_set_new(process, "cwd", json_string(o->cwd));
        if (o->has_user) {
                json_t *user = json_object_get(process, "user");
                if (!json_is_object(user)) {
                        user = json_object();
                        json_object_set_new(process, "user", user);
                }
                json_object_set_new(user, "uid", json_integer(o->uid));
                json_object_set_new(user, "gid", json_integer(o->has_gid ? o->gid : o->uid ? o->uid : 0));
        }
        json_object_set_new(process, "terminal", json_boolean(o->tty));
        if (o->hostname)
                json_object_set_new(spec, "hostname", json_string(o->hostname));

        /* Every host bind becomes a virtio-fs share; the container binds its guest path. */
        json_t *mounts = json_object_get(spec, "mounts");
        if (!json_is_array(mounts)) {
                mounts = json_array();
                json_object_set_new(spec, "mounts", mounts);
        }
        size_t i;
        json_t *m;
        json_array_foreach(mounts, i, m)
        {
                if (!spec_mount_is_bind(m))
                        continue;
                const char *src = json_string_value(json_object_get(m, "source"));
                struct stat st;
                char guest[512];
                if (!src || src[0] != '/')
                        return error_set(ret_error, -EINVAL,
                                         "bind mount source '%s' must be an absolute path", src ? src : "");
                if (stat(src, &st) < 0)
                        return error_set(ret_error, -ENOENT, "bind mount source %s does not exist", src);
                r = use_share(shares, src, mount_is_ro(m), used, guest);
                if (r < 0)
                        return error_set(ret_error, r, "cannot share %s with the guest: %s", src,
                                         strerror(-r));
                json_object_set_new(m, "source", json_string(guest));
        }
        for (size_t v = 0; v < o->n_volumes; v++) {
                const struct volume *vol = &o->volumes[v];
                char guest[512];
                r = use_share(shares, vol->host, vol->readonly, used, guest);
                if (r < 0)
                        return error_set(ret_error, r, "cannot share %s with the guest: %s", vol->host,
                                         strerror(-r));
                json_array_append_new(
                    mounts, mount_new(vol->container, "bind", guest,
                                      (const char *[]){"rbind", vol->readonly ? "ro" : "rw", NULL}));
        }

        char cgpath[128];
        snprintf(cgpath, sizeof(cgpath), "/hako/%s", container_id);
        json_object_set_new(linux_, "cgroupsPath", json_string(cgpath));
        json_t *res = json_object_get(linux_, "resources");
        if (!json_is_object(res)) {
                res = json_object();
                json_object_set_new(linux_, "resources", res);
        }
        if (o->memory_bytes)
                json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)o->memory_bytes));
        if (o->cpus_milli)
                json_object_set_new(res, "cpu",
                                    json_pack("{s:I, s:I}", "quota", (json_int_t)o->cpus_milli * 100,
                                              "period", (json_int_t)100000));
        return o->guest_namespace_paths ? 0 : spec_check_supported(spec, ret_error);
}

json_t *spec_guest_network(json_t *spec)
{
        json_t *linux_ = json_object_get(spec, "linux");
        json_t *ns = json_object_get(linux_, "namespaces");
        json_t *sysctl = json_object_get(linux_, "sysctl"), *net = NULL, *v;
        const char *key;
        void *tmp;

        for (size_t i = json_array_size(ns); i-- > 0;)
                if (!strcmp(json_string_value(json_object_get(json_array_get(ns, i), "type")) ?: "",
                            "network"))
                        json_array_remove(ns, i);
        json_object_foreach_safe(sysctl, tmp, key, v)
        {
                if (strncmp(key, "net.", 4) != 0)
                        continue;
                if (!net)
                        net = json_object();
                json_object_set(net, key, v);
                json_object_del(sysctl, key);
        }
        return net;
}

static json_t *object_member(json_t *parent, const char *key)
{
        json_t *o = json_object_get(parent, key);

        if (!json_is_object(o)) {
                o = json_object();
                json_object_set_new(parent, key, o);
        }
        return o;
}

static void mount_set_ro(json_t *m, bool ro)
{
        json_t *opts = json_object_get(m, "options");
        bool found = false;

        for (size_t i = json_array_size(opts); i-- > 0;) {
                const char *o = json_string_value(json_array_get(opts, i));
                if (!o || (strcmp(o, "ro") != 0 && strcmp(o, "rw") != 0))
                        continue;
                if (ro && !strcmp(o, "ro") && !found)
                        found = true;
                else
                        json_array_remove(opts, i);
        }
        if (ro && !found) {
                if (!json_is_array(opts)) {
                        opts = json_array();
                        json_object_set_new(m, "options", opts);
                }
                json_array_append_new(opts, json_string("ro"));
        }
}

/* Docker's SetCapabilities: root gets the set in bounding, effective and permitted; another
 * user only in bounding (an execve by a non-root user leaves it no effective capabilities). */
static void set_caps(json_t *process, uint64_t set)
{
        json_t *user = json_object_get(process, "user");
        json_t *c = json_pack("{s:o}", "bounding", caps_to_json(set));

        if (json_integer_value(json_object_get(user, "uid")) == 0) {
                json_object_set_new(c, "effective", caps_to_json(set));
                json_object_set_new(c, "permitted", caps_to_json(set));
        }
        json_object_set_new(process, "capabilities", c);
}

static int set_seccomp(json_t *linux_, const struct spec_security *s, uint64_t caps, char **ret_error)
{
        json_t *profile = NULL, *oci = NULL;
        int r;

        /* Docker: unconfined, or privileged, runs without any filter. */
        if (s->seccomp == SPEC_SECCOMP_KEEP)
                return 0;
        json_object_del(linux_, "seccomp");
        if (s->privileged || s->seccomp == SPEC_SECCOMP_UNCONFINED)
                return 0;
        if (s->seccomp == SPEC_SECCOMP_DEFAULT) {
                r = seccomp_default(&profile);
                if (r < 0)
                        return r;
        } else
                profile = json_incref(s->seccomp_profile);
        r = seccomp_from_profile(profile, caps, &oci, ret_error);
        json_decref(profile);
        if (r < 0)
                return error_set(ret_error, r, "invalid seccomp profile");
        if (oci)
                json_object_set_new(linux_, "seccomp", oci);
        return 0;
}

int spec_apply_security(json_t *spec, const struct spec_security *s, char **ret_error)
{
        json_t *process = json_object_get(spec, "process"), *linux_, *mounts, *m;
        uint64_t caps;
        size_t i;

        if (!json_is_object(process))
                return error_set(ret_error, -EINVAL, "%s", "the OCI config has no process to run");
        linux_ = object_member(spec, "linux");
        caps = caps_from_json(json_object_get(json_object_get(process, "capabilities"), "bounding"));
        if (s->docker_caps || s->cap_add || s->cap_drop || s->privileged) {
                caps = caps_tweak(caps, s->cap_add, s->cap_drop, s->privileged);
                set_caps(process, caps);
        }
        if (s->no_new_privileges)
                json_object_set_new(process, "noNewPrivileges", json_true());
        mounts = json_object_get(spec, "mounts");
        if (s->read_only) {
                json_object_set_new(object_member(spec, "root"), "readonly", json_true());
                /* Docker makes its own mounts read-only too, all but /proc and /dev's. */
                json_array_foreach(mounts, i, m)
                {
                        const char *type = json_string_value(json_object_get(m, "type")) ?: "";
                        if (!strcmp(type, "sysfs") || !strncmp(type, "cgroup", 6))
                                mount_set_ro(m, true);
                }
        }
        if (s->privileged || s->systempaths_unconfined) {
                json_object_del(linux_, "maskedPaths");
                json_object_del(linux_, "readonlyPaths");
        }
        if (s->privileged) {
                /* Writable /sys and cgroup, every device of the guest allowed. Docker would also
                 * list the host's device nodes: a VM has none of them, and never gets any. */
                json_array_foreach(mounts, i, m)
                {
                        const char *type = json_string_value(json_object_get(m, "type")) ?: "";
                        if (!strcmp(type, "sysfs") || !strncmp(type, "cgroup", 6))
                                mount_set_ro(m, false);
                }
                json_object_set_new(object_member(linux_, "resources"), "devices",
                                    json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm"));
        }
        if (s->init) {
                json_t *args = json_object_get(process, "args");
                json_array_insert_new(args, 0, json_string("--"));
                json_array_insert_new(args, 0, json_string(SPEC_CONTAINER_INIT));
                if (!json_is_array(mounts)) {
                        mounts = json_array();
                        json_object_set_new(spec, "mounts", mounts);
                }
                json_array_append_new(mounts, mount_new(SPEC_CONTAINER_INIT, "bind", SPEC_GUEST_INIT,
                                                        (const char *[]){"bind", "ro", NULL}));
        }
        return set_seccomp(linux_, s, caps, ret_error);
}
