/* SPDX-License-Identifier: Apache-2.0 */
#include "create.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "hako-config.h"
#include "error.h"
#include "fileio.h"
#include "harden.h"
#include "host-cgroup.h"
#include "log.h"
#include "macro.h"
#include "mount.h"
#include "netns.h"
#include "pod.h"
#include "rootfs.h"
#include "sizing.h"
#include "spec.h"
#include "state.h"

#define RUNTIME_OPTIONS_TYPE "runtimeoptions.v1.Options"

/* The configuration file the runtime's options name (ConfigPath in containerd's config), else
 * $HAKO_CONFIG, else the default one. */
static int load_config(const Google__Protobuf__Any *options, struct hako_config *ret, char **ret_error)
{
        Runtimeoptions__V1__Options *o = NULL;
        const char *path = getenv("HAKO_CONFIG");
        int r;

        if (options && options->type_url && strstr(options->type_url, RUNTIME_OPTIONS_TYPE)) {
                o = runtimeoptions__v1__options__unpack(NULL, options->value.len, options->value.data);
                if (!o)
                        return error_set(ret_error, -EINVAL, "undecodable runtime options");
                if (o->config_path && *o->config_path)
                        path = o->config_path;
        }
        r = hako_config_load(path, ret, ret_error);
        if (o)
                runtimeoptions__v1__options__free_unpacked(o, NULL);
        return r;
}

/* Room to grow: the configuration's maximum, else the host's CPUs and half its memory. */
static void max_size(const struct hako_config *cfg, uint32_t vcpus, uint64_t mib, uint32_t *ret_vcpus,
                     uint64_t *ret_mib)
{
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        uint64_t host_mib = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) >> 20;

        *ret_vcpus = cfg->max_vcpus ? cfg->max_vcpus : (uint32_t)MIN(MAX(cpus, 1), 64);
        *ret_mib = cfg->max_memory_mib ? cfg->max_memory_mib : host_mib / 2;
        *ret_vcpus = MAX(*ret_vcpus, vcpus);
        *ret_mib = MAX(*ret_mib, mib);
}

/* What a container's limits need of the VM: its CPU quota in whole vCPUs, its memory limit. */
static void limits_of(json_t *resources, uint32_t *ret_vcpus, uint64_t *ret_mib)
{
        json_t *cpu = json_object_get(resources, "cpu");
        json_int_t quota = json_integer_value(json_object_get(cpu, "quota"));
        json_int_t period = json_integer_value(json_object_get(cpu, "period"));
        json_int_t limit = json_integer_value(json_object_get(json_object_get(resources, "memory"), "limit"));

        if (period <= 0)
                period = 100000;
        *ret_vcpus = quota > 0 ? (uint32_t)MIN((quota + period - 1) / period, 64) : 0;
        *ret_mib = limit > 0 ? ((uint64_t)limit + (1 << 20) - 1) >> 20 : 0;
}

/* The pod's VM holds its sandbox and every container's limits: grown (never shrunk) to that,
 * within its room. */
static int grow_pod(struct shim *s, char **ret_error)
{
        uint32_t vcpus = s->base_vcpus;
        uint64_t mib = s->base_memory_mib;

        for (struct shim_task *t = s->tasks; t; t = t->next) {
                vcpus += t->vcpus;
                mib += t->memory_mib;
        }
        vcpus = MIN(vcpus, s->max_vcpus);
        mib = MIN(mib, s->max_memory_mib);
        if (vcpus <= s->sb->vcpus && mib <= s->sb->memory_mib)
                return 0;
        log_info("pod %s: growing the VM to %u vCPUs and %llu MiB", s->sandbox_task, MAX(vcpus, s->sb->vcpus),
                 (unsigned long long)MAX(mib, s->sb->memory_mib));
        return sandbox_grow(s->sb, vcpus, mib, ret_error);
}

/* The VM: the configuration's size, or more when the container's own limits need more. */
static void size_sandbox(const struct hako_config *cfg, json_t *spec, uint32_t *ret_vcpus, uint64_t *ret_mib)
{
        uint32_t vcpus;
        uint64_t mib;

        vm_size_from_spec(spec, &vcpus, &mib);
        *ret_vcpus = MAX(vcpus, cfg->default_vcpus);
        *ret_mib = MAX(mib, cfg->default_memory_mib);
        if (cfg->max_vcpus)
                *ret_vcpus = MIN(*ret_vcpus, cfg->max_vcpus);
        if (cfg->max_memory_mib)
                *ret_mib = MIN(*ret_mib, cfg->max_memory_mib);
}

static void release_host_cgroup(struct shim *s)
{
        if (!s->host_cgroup)
                return;
        /* We are in it: out first, or it cannot go. */
        (void)host_cgroup_enter("/", getpid());
        host_cgroup_remove(s->host_cgroup);
        free(s->host_cgroup);
        s->host_cgroup = NULL;
}

/* The pod's VM, for its sandbox task. spec is the task's, as containerd wrote it: its network
 * namespace is taken out (the host side's), its cgroupsPath and annotations read. */
static int make_sandbox(struct shim *s, struct shim_task *t, json_t *spec,
                        const Google__Protobuf__Any *options, char **ret_error)
{
        _cleanup_free_ char *netns = NULL;
        struct hako_config cfg = {0};
        char host_cgroup[HOST_CGROUP_PATH_MAX];
        bool new_netns, host_network;
        uint32_t vcpus;
        uint64_t mib;
        int r;

        r = load_config(options, &cfg, ret_error);
        if (r < 0)
                return r;
        r = hako_config_apply_annotations(&cfg, json_object_get(spec, "annotations"), ret_error);
        if (r < 0)
                goto out;
        /* The pod's network namespace (CNI's) is the shim's on the host: QEMU's network goes
         * there. Inside the guest the sandbox makes one of its own that the pod shares. */
        r = pod_take_network_namespace(spec, &netns, &new_netns);
        host_network = r >= 0 && netns_is_host(netns, new_netns);
        if (r >= 0)
                r = netns_enter(netns, new_netns);
        if (r < 0) {
                error_set(ret_error, r, "cannot enter the pod's network namespace %s: %s",
                          netns ? netns : "(new)", strerror(-r));
                goto out;
        }
        /* The VMM and virtiofsd are the pod's on the host: in its cgroup (the sandbox's
         * cgroupsPath is below the pod's), so a node's accounting sees them. */
        const char *cgp = json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath"));
        if (cgp && *cgp && host_cgroup_normalize(cgp, host_cgroup, sizeof(host_cgroup)) >= 0) {
                s->host_cgroup = strdup(host_cgroup);
                if (s->host_cgroup && host_cgroup_enter(s->host_cgroup, getpid()) < 0)
                        log_warning("host cgroup %s: cannot enter it", s->host_cgroup);
        }
        size_sandbox(&cfg, spec, &vcpus, &mib);
        spec_guest_cpuset(spec, vcpus);
        s->base_vcpus = vcpus;
        s->base_memory_mib = mib;
        /* pc (the default for pods) can grow; microvm keeps its size. */
        if (!cfg.machine || !strcmp(cfg.machine, "pc"))
                max_size(&cfg, vcpus, mib, &s->max_vcpus, &s->max_memory_mib);
        else
                s->max_vcpus = vcpus, s->max_memory_mib = mib;
        struct sandbox_config sc = {
            .id = t->id,
            .state_root = s->state_root,
            .binary = cfg.hypervisor,
            .machine = cfg.machine ? cfg.machine : "pc",
            .max_vcpus = s->max_vcpus,
            .max_memory_mib = s->max_memory_mib,
            .kernel = cfg.kernel,
            .initrd = cfg.initrd,
            .kernel_params = cfg.kernel_params,
            .no_templates = !cfg.templates,
            .accel = cfg.accel,
            .vcpus = vcpus,
            .memory_mib = mib,
            .boot_timeout_ms = s->boot_timeout_ms,
            .debug = cfg.debug_console,
            .net_mode = cfg.net_mode,
            .host_network = host_network,
            .tuning = hako_config_tuning(&cfg),
        };
        r = sandbox_create(&sc, &s->sb, ret_error);
        if (r < 0)
                goto out;
        /* One pod per shim: with its VM up, what the shim never needs again goes (harden.h). */
        r = harden_host_process();
        if (r < 0) {
                error_set(ret_error, r, "cannot give up the shim's privileges: %s", strerror(-r));
                goto out;
        }
        s->sandbox_task = strdup(t->id);
        if (!s->sandbox_task) {
                r = -ENOMEM;
                goto out;
        }
        t->makes_sandbox = true;
        /* What `shim delete` needs after a crash: who served the pod, its host cgroup. */
        char pid[32];
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        (void)state_write(s->sb->state_dir, "shim_pid", pid);
        if (s->host_cgroup)
                (void)state_write(s->sb->state_dir, "host_cgroup", s->host_cgroup);
        log_debug("pod %s: VM with %u vCPUs and %llu MiB (%s)", t->id, vcpus, (unsigned long long)mib,
                  s->sb->restored ? "from a template" : "booted");
        shim_watch_oom(s);
out:
        /* No VM: nothing of the pod stays in its host cgroup (a VM is shim_stop_sandbox's). */
        if (r < 0 && !s->sb)
                release_host_cgroup(s);
        hako_config_done(&cfg);
        return r;
}

int shim_create_task(struct shim *s, const Containerd__Task__V2__CreateTaskRequest *req,
                     struct shim_task **ret, char **ret_error)
{
        _cleanup_free_ char *rootfs = NULL, *rootfs_guest = NULL;
        struct strv used = {0};
        struct shim_task *t = NULL;
        const char *sandbox_id = NULL;
        bool rootfs_ro = false, made_sandbox = false;
        enum pod_role role;
        json_t *spec = NULL;
        int r;

        if (!ttrpc_valid_id(req->id))
                return error_set(ret_error, -EINVAL, "invalid task id (1-64 characters of [A-Za-z0-9_.-])");
        if (shim_task_find(s, req->id))
                return error_set(ret_error, -EEXIST, "task %s already exists", req->id);
        if (s->n_tasks >= SHIM_TASKS_MAX)
                return error_set(ret_error, -ENOSPC, "a pod holds at most %d containers", SHIM_TASKS_MAX);
        if (req->checkpoint && *req->checkpoint)
                return error_set(ret_error, -EOPNOTSUPP, "restoring a checkpoint is not supported by hako");
        if (!req->bundle || req->bundle[0] != '/')
                return error_set(ret_error, -EINVAL, "the bundle path must be absolute");
        r = spec_load_bundle(req->bundle, &spec, &rootfs, &rootfs_ro, ret_error);
        if (r < 0)
                return r;
        role = pod_role(spec, &sandbox_id);
        if (role == POD_CONTAINER) {
                if (!s->sb || !s->sandbox_task || strcmp(s->sandbox_task, sandbox_id) != 0) {
                        r = error_set(ret_error, -ENOENT, "sandbox %s is not running in this shim",
                                      sandbox_id);
                        goto fail;
                }
                if (s->vm_lost) {
                        r = error_set(ret_error, -EBUSY, "the VM of pod %s is gone", sandbox_id);
                        goto fail;
                }
        } else if (s->sb) {
                r = error_set(ret_error, -EEXIST, "this shim already serves the pod %s", s->sandbox_task);
                goto fail;
        }

        t = calloc(1, sizeof(*t));
        if (!t) {
                r = -ENOMEM;
                goto fail;
        }
        t->id = strdup(req->id);
        t->bundle = strdup(req->bundle);
        t->init = (struct shim_proc){.task = t};
        t->init.io = (struct shim_stdio){.in = -1, .out = -1, .err = -1, .logger_pidfd = -1};
        /* Hooks are host programs: the guest's crun must not see them. */
        t->hooks = json_incref(json_object_get(spec, "hooks"));
        json_object_del(spec, "hooks");
        t->annotations = json_incref(json_object_get(spec, "annotations"));
        if (!t->id || !t->bundle) {
                r = -ENOMEM;
                goto fail;
        }
        /* containerd's snapshot goes on the bundle's rootfs, in the shim's mount namespace. */
        if (req->n_rootfs > 0) {
                if (req->n_rootfs > 16) {
                        r = error_set(ret_error, -E2BIG, "too many rootfs mounts");
                        goto fail;
                }
                r = shim_mount_rootfs(req->rootfs, req->n_rootfs, rootfs, ret_error);
                if (r < 0)
                        goto fail;
                t->rootfs = strdup(rootfs);
                if (!t->rootfs) {
                        (void)umount2(rootfs, MNT_DETACH);
                        r = -ENOMEM;
                        goto fail;
                }
        }
        r = rootfs_make_mountpoints(rootfs, spec, ret_error);
        if (r < 0)
                goto fail;

        struct container_opts copts = {.tty = req->terminal, .guest_namespace_paths = role == POD_CONTAINER};
        if (role == POD_CONTAINER) {
                struct shim_task *st = shim_task_find(s, s->sandbox_task);
                uint32_t guest_pid = st && st->ctr ? st->ctr->init->guest_pid : 0;
                if (!guest_pid) {
                        r = error_set(ret_error, -ENOENT, "sandbox %s has no container in the guest",
                                      sandbox_id);
                        goto fail;
                }
                r = pod_join_sandbox_namespaces(spec, shim_task_pid(s), guest_pid, ret_error);
                if (r >= 0) {
                        limits_of(json_object_get(json_object_get(spec, "linux"), "resources"), &t->vcpus,
                                  &t->memory_mib);
                        /* Counted as one of the pod's while it grows; listed once it exists. */
                        t->next = s->tasks;
                        s->tasks = t;
                        r = grow_pod(s, ret_error);
                        s->tasks = t->next;
                }
        } else {
                r = make_sandbox(s, t, spec, req->options, ret_error);
                made_sandbox = r >= 0;
        }
        if (r < 0)
                goto fail;
        r = spec_share_rootfs(&s->sb->shares, rootfs, rootfs_ro, &used, &rootfs_guest);
        if (r >= 0)
                r = spec_prepare(spec, t->id, &copts, &s->sb->shares, &used, ret_error);
        if (r < 0)
                goto fail;
        spec_guest_cpuset(spec, s->sb->vcpus);

        r = shim_stdio_open(&t->init.io, t->id, s->opts->ns, req->stdin, req->stdout, req->stderr,
                            req->terminal, ret_error);
        if (r < 0)
                goto fail;
        struct container_config cc = {
            .id = t->id,
            .spec = spec,
            .rootfs_guest = rootfs_guest,
            .overlay = false, /* as with runc: the snapshot is the container's rootfs */
            .readonly = rootfs_ro,
            .tty = req->terminal,
            .shares = &used,
        };
        r = container_create(s->sb, &cc, &t->ctr, ret_error);
        if (r < 0)
                goto fail;
        t->ctr->userdata = t;
        t->ctr->init->userdata = &t->init;
        t->init.proc = t->ctr->init;
        r = process_relay(t->ctr->init, t->init.io.in, t->init.io.out, t->init.io.err, -1);
        if (r < 0) {
                error_set(ret_error, r, "cannot relay the container's stdio: %s", strerror(-r));
                (void)container_remove(t->ctr, NULL);
                t->ctr = NULL;
                goto fail;
        }
        /* runc runs createRuntime (and the deprecated prestart) once the container exists. */
        r = shim_task_hooks(s, t, "prestart", "created", ret_error);
        if (r >= 0)
                r = shim_task_hooks(s, t, "createRuntime", "created", ret_error);
        if (r < 0) {
                (void)container_remove(t->ctr, NULL);
                t->ctr = NULL;
                goto fail;
        }
        t->next = s->tasks;
        s->tasks = t;
        s->n_tasks++;
        json_decref(spec);
        *ret = t;
        return 0;

fail:
        if (s->sb)
                for (size_t i = 0; i < used.n; i++)
                        sandbox_share_release(s->sb, used.v[i]);
        strv_done(&used);
        if (made_sandbox)
                shim_stop_sandbox(s);
        json_decref(spec);
        if (t) {
                shim_stdio_done(&t->init.io);
                if (t->rootfs)
                        (void)umount2(t->rootfs, MNT_DETACH);
                free(t->rootfs);
                free(t->id);
                free(t->bundle);
                json_decref(t->hooks);
                json_decref(t->annotations);
                free(t);
        }
        return r;
}

void shim_stop_sandbox(struct shim *s)
{
        _cleanup_free_ char *dir = NULL;

        if (!s->sb)
                return;
        /* The record (which names the host cgroup) goes last: a shim killed on its way out
         * leaves `shim delete` what it needs to finish. */
        dir = strdup(s->sb->state_dir);
        sandbox_destroy(s->sb, dir != NULL);
        s->sb = NULL;
        free(s->sandbox_task);
        s->sandbox_task = NULL;
        release_host_cgroup(s);
        if (dir)
                (void)rm_rf(dir);
}

void shim_remove_task(struct shim *s, struct shim_task *t)
{
        _cleanup_free_ char *error = NULL, *hook_error = NULL;

        if (t->ctr) {
                if (s->vm_lost)
                        container_forget(t->ctr);
                else if (container_remove(t->ctr, &error) < 0)
                        log_warning("removing container %s in the guest: %s", t->id,
                                    error ? error : "failed");
                t->ctr = NULL;
        }
        /* A failing poststop hook is a warning (the spec). */
        if (shim_task_hooks(s, t, "poststop", "stopped", &hook_error) < 0)
                log_warning("poststop hook of %s: %s", t->id, hook_error ? hook_error : "failed");
        shim_task_free(s, t);
        /* The pod's VM lives as long as any of its tasks. */
        if (s->n_tasks == 0)
                shim_stop_sandbox(s);
}

int shim_update_task(struct shim *s, struct shim_task *t, const char *json, size_t len, char **ret_error)
{
        _cleanup_free_ char *text = strndup(json, len);
        uint32_t vcpus, old_vcpus = t->vcpus;
        uint64_t mib, old_mib = t->memory_mib;
        json_t *res;
        int r;

        if (!text)
                return -ENOMEM;
        res = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(res)) {
                json_decref(res);
                return error_set(ret_error, -EINVAL, "the resources are not a JSON object");
        }
        /* Larger limits of a pod's container: the VM first holds them. */
        if (!t->makes_sandbox) {
                limits_of(res, &vcpus, &mib);
                t->vcpus = MAX(t->vcpus, vcpus);
                t->memory_mib = MAX(t->memory_mib, mib);
                r = grow_pod(s, ret_error);
                if (r < 0) {
                        t->vcpus = old_vcpus;
                        t->memory_mib = old_mib;
                        json_decref(res);
                        return r;
                }
        }
        json_decref(res);
        return container_update(t->ctr, text, ret_error);
}
