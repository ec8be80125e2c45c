/* SPDX-License-Identifier: Apache-2.0 */
/* `start`: the address of the pod's shim, starting it for the pod's first container. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ocijson.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "pod.h"
#include "shim.h"
#include "strv.h"

static int unix_sockaddr(const char *path, struct sockaddr_un *ret)
{
        *ret = (struct sockaddr_un){.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(ret->sun_path))
                return -ENAMETOOLONG;
        strcpy(ret->sun_path, path);
        return 0;
}

/* Someone serves the socket: the pod's shim is up. */
static bool shim_listening(const char *path)
{
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa;

        return fd >= 0 && unix_sockaddr(path, &sa) >= 0 &&
               connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

static int listen_on(const char *path, int *ret_fd)
{
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa;
        int r;

        if (fd < 0)
                return negative_errno();
        r = unix_sockaddr(path, &sa);
        if (r < 0)
                return r;
        (void)unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
                return negative_errno();
        if (chmod(path, 0600) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The pod a container belongs to names its shim: the sandbox's id for CRI's containers. */
static int group_of(const char *bundle, const char *id, char **ret)
{
        _cleanup_free_ char *path = NULL;
        const char *sandbox = NULL;
        json_t *spec;

        if (asprintf(&path, "%s/config.json", bundle) < 0)
                return -ENOMEM;
        spec = ocijson_load_file(path, 1u << 20, 0, NULL);
        if (spec && pod_role(spec, &sandbox) == POD_CONTAINER)
                *ret = strdup(sandbox);
        else
                *ret = strdup(id);
        json_decref(spec);
        return *ret ? 0 : -ENOMEM;
}

/* The serving shim: this binary again, without an action, the socket as fd 3, in a session of
 * its own so that containerd's process group and `start`'s exit do not touch it. */
static int spawn_server(const struct shim_opts *o, const char *sock, int listen_fd, pid_t *ret_pid)
{
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        struct strv argv = {0};
        pid_t pid;

        if (n < 0)
                return negative_errno();
        self[n] = 0;
        strv_push(&argv, self);
        strv_push(&argv, "-namespace");
        strv_push(&argv, o->ns);
        strv_push(&argv, "-address");
        strv_push(&argv, o->address);
        strv_push(&argv, "-publish-binary");
        strv_push(&argv, o->publish_binary);
        strv_push(&argv, "-id");
        strv_push(&argv, o->id);
        strv_push(&argv, "-socket");
        strv_push(&argv, sock);
        if (o->debug)
                strv_push(&argv, "-debug");
        if (strv_status(&argv) < 0) {
                strv_done(&argv);
                return -ENOMEM;
        }
        pid = fork();
        if (pid < 0) {
                strv_done(&argv);
                return negative_errno();
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                setsid();
                if (dup2(listen_fd, SHIM_LISTEN_FD) < 0 || null < 0 || dup2(null, 0) < 0 ||
                    dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        _exit(1);
                close_fds_except((int[]){SHIM_LISTEN_FD}, 1);
                execv(self, argv.v);
                _exit(1);
        }
        strv_done(&argv);
        *ret_pid = pid;
        return 0;
}

int shim_start(const struct shim_opts *o)
{
        _cleanup_free_ char *group = NULL, *sock = NULL, *lockpath = NULL, *dir = NULL, *address = NULL;
        _cleanup_close_ int lock = -1, listen_fd = -1;
        char pidbuf[32];
        pid_t pid;
        int r;

        r = group_of(".", o->id, &group);
        if (r >= 0)
                r = shim_socket_path(o->address, o->ns, group, &sock);
        if (r < 0)
                return log_error_errno(r, "cannot name the shim's socket: %m");
        if (asprintf(&lockpath, "%s.lock", sock) < 0 || !(dir = strdup(sock)) ||
            asprintf(&address, "unix://%s", sock) < 0)
                return -ENOMEM;
        r = mkdir_p(dirname(dir), 0711);
        if (r < 0)
                return log_error_errno(r, "cannot make %s: %m", dir);
        /* One start at a time per pod: the second container finds the first one's shim. */
        lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0 || flock(lock, LOCK_EX) < 0)
                return log_error_errno(negative_errno(), "cannot lock %s: %m", lockpath);
        if (!shim_listening(sock)) {
                r = listen_on(sock, &listen_fd);
                if (r < 0)
                        return log_error_errno(r, "cannot listen on %s: %m", sock);
                r = spawn_server(o, sock, listen_fd, &pid);
                if (r < 0) {
                        (void)unlink(sock);
                        return log_error_errno(r, "cannot start the shim: %m");
                }
                snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
                (void)write_file_atomic("shim.pid", pidbuf, strlen(pidbuf), 0644);
        }
        /* containerd reconnects through it after a restart. */
        r = write_file_atomic("address", address, strlen(address), 0644);
        if (r < 0)
                return log_error_errno(r, "cannot write the address file: %m");
        fputs(address, stdout);
        return 0;
}
