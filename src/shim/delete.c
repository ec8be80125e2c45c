/* SPDX-License-Identifier: Apache-2.0 */
/* `delete`: containerd cleans up after a shim that is gone (killed, or failed to start). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "containerd.pb-c.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "shim.h"
#include "state.h"

#define EXIT_KILLED (128 + SIGKILL)

/* Whether pid is a shim of ours (and not a recycled pid). */
static bool is_hako_shim(pid_t pid)
{
        char path[64], buf[256] = "";
        _cleanup_free_ char *cmd = NULL;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        if (read_full_file(path, 4096, &cmd, NULL) < 0)
                return false;
        snprintf(buf, sizeof(buf), "%s", cmd);
        return strstr(buf, "containerd-shim-hako-v2") != NULL;
}

/* The task made the pod's VM: its shim (if still there) goes, with the VM (PDEATHSIG) and the
 * mounts of its namespace; then its state and host cgroup. */
static void delete_pod(const char *dir)
{
        _cleanup_free_ char *pid_s = NULL;

        if (state_read(dir, "shim_pid", &pid_s) >= 0) {
                pid_t pid = (pid_t)atoi(pid_s);
                if (pid > 1 && is_hako_shim(pid))
                        kill(pid, SIGKILL);
        }
        /* Its lock is released when the last of its processes is gone. */
        for (int i = 0; i < 100 && state_lock_held(dir) == 1; i++)
                nanosleep(&(struct timespec){.tv_nsec = 50L * 1000 * 1000}, NULL);
        state_release_host_cgroup(dir);
        state_release_disk(dir);
        (void)rm_rf(dir);
}

int shim_delete(const struct shim_opts *o)
{
        Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        _cleanup_free_ char *root = NULL, *dir = NULL, *sock = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        struct timespec now;
        int r;

        if (!state_id_valid(o->id))
                return log_error_errno(-EINVAL, "invalid id '%s'", o->id);
        r = shim_state_root(o->ns, &root);
        if (r < 0 || asprintf(&dir, "%s/%s", root, o->id) < 0)
                return log_error_errno(r < 0 ? r : -ENOMEM, "invalid namespace '%s'", o->ns);
        if (access(dir, F_OK) == 0)
                delete_pod(dir);
        /* containerd runs a delete per task, concurrently: another task's may find the pod's
         * record abandoned first, and takes it with its host cgroup. */
        state_gc(root);
        /* The pod's socket, if its shim did not get to remove it. */
        if (shim_socket_path(o->address, o->ns, o->id, &sock) >= 0) {
                struct shim_opts so = {.socket = sock};
                shim_unlink_socket(&so);
        }
        clock_gettime(CLOCK_REALTIME, &now);
        ts.seconds = now.tv_sec;
        ts.nanos = (int32_t)now.tv_nsec;
        resp.exit_status = EXIT_KILLED;
        resp.exited_at = &ts;
        buf = malloc(protobuf_c_message_get_packed_size(&resp.base) + 1);
        if (!buf)
                return -ENOMEM;
        size_t len = protobuf_c_message_pack(&resp.base, buf);
        if (fwrite(buf, 1, len, stdout) != len)
                return -EIO;
        return 0;
}
