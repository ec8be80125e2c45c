/* SPDX-License-Identifier: Apache-2.0 */
#include "create.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "host-cgroup.h"
#include "monitor.h"
#include "netns.h"
#include "rootfs.h"
#include "sizing.h"
#include "spec.h"
#include "state.h"

int oci_create(const struct oci_create_opts *o, pid_t *ret_pid, bool *ret_tty, char **ret_error)
{
        _cleanup_free_ char *bundle = NULL, *rootfs = NULL, *dir = NULL, *netns_path = NULL;
        struct share_table shares = {0};
        _cleanup_free_ char *rootfs_guest = NULL;
        json_t *spec = NULL, *hooks = NULL, *annotations = NULL;
        bool rootfs_ro = false, tty, new_netns = false;
        struct stat st;
        int pipefd[2] = {-1, -1}, r;
        char host_cgroup[HOST_CGROUP_PATH_MAX];
        pid_t pid;

        if (!state_id_valid(o->id))
                return error_set(ret_error, -EINVAL, "invalid container id '%s'", o->id);
        bundle = realpath(o->bundle ? o->bundle : ".", NULL);
        if (!bundle)
                return error_set(ret_error, negative_errno(), "bundle %s: %s", o->bundle ? o->bundle : ".",
                                 strerror(errno));
        r = spec_load_bundle(bundle, &spec, &rootfs, &rootfs_ro, ret_error);
        if (r < 0)
                return r;
        r = rootfs_make_mountpoints(rootfs, spec, ret_error);
        if (r < 0)
                goto out;
        tty = json_is_true(json_object_get(json_object_get(spec, "process"), "terminal"));
        if (tty && !o->console_socket && (o->detach || !isatty(STDIN_FILENO))) {
                r = error_set(ret_error, -EINVAL,
                              "cannot allocate tty if hako will detach without setting console socket");
                goto out;
        }
        if (!tty && o->console_socket) {
                r = error_set(ret_error, -EINVAL,
                              "cannot use console socket if hako will not detach or allocate tty");
                goto out;
        }

        /* The id check before the expensive part; the monitor's state_create settles races. */
        state_gc(o->root);
        if (asprintf(&dir, "%s/%s", o->root, o->id) < 0) {
                r = -ENOMEM;
                goto out;
        }
        if (lstat(dir, &st) == 0) {
                r = error_set(ret_error, -EEXIST, "container with id exists: %s", o->id);
                goto out;
        }

        /* Hooks are host programs: they run here, and the guest's crun must not see them. */
        hooks = json_incref(json_object_get(spec, "hooks"));
        json_object_del(spec, "hooks");
        annotations = json_incref(json_object_get(spec, "annotations"));
        if (!annotations)
                annotations = json_object();
        /* The host cgroup is the caller's name for the container; the guest gets its own path. */
        const char *cgp = json_string_value(json_object_get(json_object_get(spec, "linux"), "cgroupsPath"));
        if (cgp && *cgp)
                r = host_cgroup_normalize(cgp, host_cgroup, sizeof(host_cgroup));
        else
                r = snprintf(host_cgroup, sizeof(host_cgroup), "/hako/%s", o->id) < (int)sizeof(host_cgroup)
                        ? 0
                        : -EINVAL;
        if (r < 0) {
                r = error_set(ret_error, -EINVAL, "invalid linux.cgroupsPath '%s'", cgp ? cgp : "");
                goto out;
        }
        /* The network namespace is the host process's (monitor.c); the guest makes its own. */
        json_t *ns;
        size_t nsi;
        json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), nsi, ns)
        {
                if (strcmp(json_string_value(json_object_get(ns, "type")) ?: "", "network") != 0)
                        continue;
                const char *p = json_string_value(json_object_get(ns, "path"));
                if (p && *p) {
                        netns_path = strdup(p);
                        if (!netns_path) {
                                r = -ENOMEM;
                                goto out;
                        }
                        json_object_del(ns, "path");
                } else
                        new_netns = true;
        }
        struct container_opts copts = {.tty = tty};
        r = spec_share_rootfs(&shares, rootfs, rootfs_ro, NULL, &rootfs_guest);
        if (r < 0)
                goto out;
        r = spec_prepare(spec, o->id, &copts, &shares, NULL, ret_error);
        if (r < 0)
                goto out;

        struct monitor_config mc = {
            .root = o->root,
            .id = o->id,
            .bundle = bundle,
            .console_socket = o->console_socket,
            .spec = spec,
            .hooks = hooks,
            .annotations = annotations,
            .shares = &shares,
            .rootfs_guest = rootfs_guest,
            .tty = tty,
            .rootfs_ro = rootfs_ro,
            .accel = o->accel,
            .boot_timeout_ms = o->boot_timeout_ms,
            .debug = o->debug,
            .log_fd = o->log_fd,
            .log_json = o->log_json,
            .host_cgroup = host_cgroup,
            .new_netns = new_netns,
            .netns_path = netns_path,
            .net_mode = o->net_mode,
            .tuning = o->tuning,
            .host_network = netns_is_host(netns_path, new_netns),
        };
        vm_size_from_spec(spec, &mc.vcpus, &mc.memory_mib);
        host_cgroup_limits_merge(&mc.host_limits,
                                 json_object_get(json_object_get(spec, "linux"), "resources"));
        spec_guest_cpuset(spec, mc.vcpus);

        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                r = negative_errno();
                goto out;
        }
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                goto out;
        }
        if (pid == 0) {
                safe_close(pipefd[0]);
                close_fds_except((int[]){pipefd[1], o->log_fd}, 2);
                _exit(monitor_main(&mc, pipefd[1]));
        }
        pipefd[1] = safe_close(pipefd[1]);
        r = monitor_read_verdict(pipefd[0], NULL, ret_error);
        if (r == -EEXIST && ret_error) {
                /* Lost a race for the id to a concurrent create: say it as runc does. */
                free(*ret_error);
                *ret_error = NULL;
                error_set(ret_error, r, "container with id exists: %s", o->id);
        }
        if (r < 0) {
                /* It has cleaned up and exits now; reap it so nothing of it remains. */
                waitpid(pid, NULL, 0);
                state_gc(o->root);
                host_cgroup_remove(host_cgroup);
                goto out;
        }
        *ret_pid = pid;
        if (ret_tty)
                *ret_tty = tty;
        r = 0;
out:
        safe_close(pipefd[0]);
        safe_close(pipefd[1]);
        json_decref(spec);
        json_decref(hooks);
        json_decref(annotations);
        share_table_done(&shares);
        return r;
}
