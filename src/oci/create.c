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
#include "macro.h"
#include "monitor.h"
#include "spec.h"
#include "state.h"

#define VM_MEMORY_OVERHEAD_MIB 64
#define VM_MEMORY_MIN_MIB      128
#define VM_MEMORY_DEFAULT_MIB  128 /* as `hako run` */

/* The VM's size follows the container's limits: vCPUs from the CPU quota (1 without one), RAM
 * from the memory limit plus what the guest kernel and agent need (`hako run`'s default without
 * one). */
static void size_vm(json_t *spec, uint32_t *ret_vcpus, uint64_t *ret_memory_mib)
{
        json_t *res = json_object_get(json_object_get(spec, "linux"), "resources");
        json_int_t quota = json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota"));
        json_int_t period = json_integer_value(json_object_get(json_object_get(res, "cpu"), "period"));
        json_int_t limit = json_integer_value(json_object_get(json_object_get(res, "memory"), "limit"));
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

        *ret_vcpus = 1;
        *ret_memory_mib = VM_MEMORY_DEFAULT_MIB;
        if (quota > 0) {
                json_int_t v = (quota + (period > 0 ? period : 100000) - 1) / (period > 0 ? period : 100000);
                *ret_vcpus = (uint32_t)MAX(1, MIN(v, ncpu > 0 ? ncpu : 1));
        }
        if (limit > 0)
                *ret_memory_mib =
                    MAX((uint64_t)limit / (1024ull * 1024) + VM_MEMORY_OVERHEAD_MIB, VM_MEMORY_MIN_MIB);
}

/* Reads the host process's verdict: "0", or "-ERRNO message". EOF first: it died. */
static int read_verdict(int fd, char **ret_error)
{
        char buf[4096];
        size_t len = 0;
        int r = 0, off = 0;

        for (;;) {
                ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
                if (len == sizeof(buf) - 1)
                        break;
        }
        buf[len] = 0;
        if (len == 0 || sscanf(buf, "%d %n", &r, &off) < 1)
                return error_set(ret_error, -EIO, "the container's host process exited unexpectedly");
        if (r < 0 && buf[off])
                error_set(ret_error, r, "%s", buf + off);
        return r > 0 ? -EIO : r;
}

int oci_create(const struct oci_create_opts *o, pid_t *ret_pid, bool *ret_tty, char **ret_error)
{
        _cleanup_free_ char *bundle = NULL, *rootfs = NULL, *dir = NULL;
        struct spec_share *shares = NULL;
        size_t n_shares = 0;
        struct virtiofsd_share *vshares = NULL;
        json_t *spec = NULL, *hooks = NULL, *annotations = NULL;
        bool rootfs_ro = false, tty;
        struct stat st;
        int pipefd[2] = {-1, -1}, r;
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
        struct container_opts copts = {.tty = tty};
        r = spec_prepare(spec, o->id, &copts, &shares, &n_shares, ret_error);
        if (r < 0)
                goto out;
        vshares = calloc(n_shares + 1, sizeof(*vshares));
        if (!vshares) {
                r = -ENOMEM;
                goto out;
        }
        vshares[0] = (struct virtiofsd_share){.host_path = rootfs, .name = "rootfs", .readonly = rootfs_ro};
        for (size_t i = 0; i < n_shares; i++)
                vshares[i + 1] = (struct virtiofsd_share){shares[i].host, shares[i].name, shares[i].readonly};

        struct monitor_config mc = {
            .root = o->root,
            .id = o->id,
            .bundle = bundle,
            .console_socket = o->console_socket,
            .spec = spec,
            .hooks = hooks,
            .annotations = annotations,
            .shares = vshares,
            .n_shares = n_shares + 1,
            .tty = tty,
            .rootfs_ro = rootfs_ro,
            .accel = o->accel,
            .boot_timeout_ms = o->boot_timeout_ms,
            .debug = o->debug,
            .log_fd = o->log_fd,
            .log_json = o->log_json,
        };
        size_vm(spec, &mc.vcpus, &mc.memory_mib);

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
                _exit(monitor_main(&mc, pipefd[1]));
        }
        pipefd[1] = safe_close(pipefd[1]);
        r = read_verdict(pipefd[0], ret_error);
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
        spec_shares_free(shares, n_shares);
        free(vshares);
        return r;
}
