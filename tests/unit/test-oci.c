/* SPDX-License-Identifier: Apache-2.0 */
/* liboci without a VM: the control socket, the state's liveness rule, hooks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "exec-spec.h"
#include "fileio.h"
#include "hooks.h"
#include "host-cgroup.h"
#include "oci-state.h"
#include "state.h"
#include "tap.h"

static int session_fd = -1, session_stdin = -1;

static int handler(void *userdata, struct control_msg *m, char **ret_error)
{
        int *calls = userdata;
        const char *req = m->text;

        (*calls)++;
        if (!strcmp(req, "start"))
                return 0;
        if (!strcmp(req, "stats")) {
                m->answer_data = strdup("{\"n\":1}");
                return 0;
        }
        if (!strncmp(req, "exec ", 5) && m->n_fds == 3) {
                session_fd = TAKE_FD(m->conn_fd);
                session_stdin = TAKE_FD(m->fds[0]);
                return 0;
        }
        *ret_error = strdup("cannot do that");
        return -EBUSY;
}

/* The client runs in a child (it blocks for the answer); the server answers here. */
static int request_in_child(const char *dir, int lfd, const char *req, char *ret_msg, size_t len)
{
        int p[2], status, calls = 0;
        pid_t pid;

        if (pipe(p) < 0)
                return -errno;
        pid = fork();
        if (pid == 0) {
                char *err = NULL;
                int r = control_request(dir, req, 5000, &err);
                dprintf(p[1], "%s", err ? err : "");
                _exit(-r);
        }
        close(p[1]);
        for (int i = 0; i < 200 && calls == 0; i++) {
                control_serve_one(lfd, handler, &calls);
                usleep(10000);
        }
        waitpid(pid, &status, 0);
        ssize_t n = read(p[0], ret_msg, len - 1);
        ret_msg[n > 0 ? n : 0] = 0;
        close(p[0]);
        return -WEXITSTATUS(status);
}

int main(void)
{
        char tmpl[] = "/tmp/hako-test-oci.XXXXXX", msg[256], path[512];
        char *root = mkdtemp(tmpl), *dir = NULL, *err = NULL;
        struct oci_state s;
        int lock_fd, lfd, r;

        if (!root)
                return 1;
        is_int(state_create(root, "c1", &dir, &lock_fd), 0, "state_create");
        state_write(dir, "status", "running");
        state_write(dir, "oci_status", "running");
        state_write(dir, "pid", "4242");
        state_write(dir, "bundle", "/b");

        /* control socket */
        is_int(control_listen(dir, &lfd), 0, "control_listen");
        is_int(request_in_child(dir, lfd, "start", msg, sizeof(msg)), 0, "a request answered 0");
        is_int(request_in_child(dir, lfd, "pause", msg, sizeof(msg)), -EBUSY,
               "an error comes back as -errno");
        ok(!strcmp(msg, "cannot do that"), "with its message ('%s')", msg);
        {
                char *data = NULL;
                int calls = 0;
                pid_t pid = fork();
                if (pid == 0)
                        _exit(control_request_data(dir, "stats", 5000, &data, NULL) == 0 && data &&
                                      !strcmp(data, "{\"n\":1}")
                                  ? 0
                                  : 1);
                for (int i = 0; i < 200 && calls == 0; i++, usleep(10000))
                        control_serve_one(lfd, handler, &calls);
                int status;
                waitpid(pid, &status, 0);
                ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "an answer can carry data");
        }
        {
                /* A session: three fds go over, the connection stays, "exit N" ends it. */
                int p[2], calls = 0, status;
                char buf[64] = "";
                ok(pipe(p) == 0, "pipe");
                pid_t pid = fork();
                if (pid == 0) {
                        int conn = -1, fds[3] = {p[0], 1, 2}, code = 99;
                        if (control_open_session(dir, "exec e1 0\n{}", fds, 3, 5000, &conn, NULL) == 0) {
                                control_send(conn, "signal 15");
                                for (int i = 0; i < 500; i++, usleep(10000))
                                        if (control_recv(conn, buf, sizeof(buf)) > 0 &&
                                            sscanf(buf, "exit %d", &code) == 1)
                                                break;
                        }
                        _exit(code);
                }
                close(p[0]);
                for (int i = 0; i < 200 && calls == 0; i++, usleep(10000))
                        control_serve_one(lfd, handler, &calls);
                ok(session_fd >= 0 && session_stdin >= 0, "the handler kept the connection and an fd");
                ok(write(p[1], "x", 1) == 1 && read(session_stdin, buf, 1) == 1 && buf[0] == 'x',
                   "the fd received is the client's pipe");
                for (int i = 0; i < 200 && control_recv(session_fd, buf, sizeof(buf)) <= 0; i++)
                        usleep(10000);
                ok(!strcmp(buf, "signal 15"), "the client's message arrives ('%s')", buf);
                control_send(session_fd, "exit 7");
                waitpid(pid, &status, 0);
                is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 7, "the exit code reaches the client");
                close(session_fd);
                close(session_stdin);
                close(p[1]);
        }
        close(lfd);
        snprintf(path, sizeof(path), "%s/" CONTROL_SOCKET, dir);
        unlink(path);
        is_int(control_request(dir, "start", 1000, NULL), -ESRCH, "nobody listening: -ESRCH");

        /* liveness: the status file counts only while its owner holds the lock */
        is_int(oci_state_load(root, "c1", &s), 0, "load");
        ok(!strcmp(s.status, "running") && s.pid == 4242 && !strcmp(s.bundle, "/b"),
           "running while locked (%s %d)", s.status, (int)s.pid);
        oci_state_done(&s);
        close(lock_fd);
        is_int(oci_state_load(root, "c1", &s), 0, "load after the owner died");
        ok(!strcmp(s.status, "stopped") && s.pid == 0, "stopped once the lock is free (%s %d)", s.status,
           (int)s.pid);
        oci_state_done(&s);
        state_keep(dir);
        state_gc(root);
        ok(access(dir, F_OK) == 0, "a kept directory survives state_gc");
        is_int(oci_state_load(root, "nope", &s), -ENOENT, "unknown id: -ENOENT");
        is_int(oci_state_load(root, "../x", &s), -EINVAL, "invalid id: -EINVAL");
        snprintf(path, sizeof(path), "%s/notours", root);
        mkdir(path, 0700);
        is_int(oci_state_load(root, "notours", &s), -ENOENT,
               "a directory without a status is not a container");

        /* hooks */
        snprintf(path, sizeof(path), "%s/hook-out", root);
        json_t *hooks = json_pack("{s:[{s:s, s:[s, s, s]}], s:[{s:s, s:[s, s, s]}]}", "prestart", "path",
                                  "/bin/sh", "args", "sh", "-c", "cat > \"$0\"", "poststop", "path",
                                  "/bin/sh", "args", "sh", "-c", "exit 3");
        json_array_append_new(json_object_get(json_array_get(json_object_get(hooks, "prestart"), 0), "args"),
                              json_string(path));
        r = hooks_run(hooks, "prestart", "{\"id\":\"c1\"}", &err);
        is_int(r, 0, "a hook runs");
        char *data = NULL;
        size_t len;
        ok(read_full_file(path, 4096, &data, &len) == 0 && !strcmp(data, "{\"id\":\"c1\"}"),
           "it got the state on stdin");
        free(data);
        is_int(hooks_run(hooks, "poststop", "{}", &err), -EIO, "a failing hook: -EIO");
        ok(err && strstr(err, "exit status 3"), "with a message ('%s')", err ? err : "");
        free(err);
        err = NULL;
        is_int(hooks_run(hooks, "poststart", "{}", NULL), 0, "no hooks of a kind: nothing to do");
        json_decref(hooks);

        /* the process of an exec: the bundle's, with the command line's changes */
        snprintf(path, sizeof(path), "%s/config.json", root);
        data =
            (char *)"{\"process\": {\"args\": [\"init\"], \"env\": [\"PATH=/bin\", \"A=1\"], \"cwd\": \"/\","
                    " \"user\": {\"uid\": 5, \"gid\": 6}, \"consoleSize\": {\"height\": 1, \"width\": 1}}}";
        write_file_atomic(path, data, strlen(data), 0644);
        {
                char *args[] = {"sh", "-c", "x"}, *env[] = {"A=2", "B=3"}, *json = NULL;
                struct exec_spec_opts eo = {.args = args,
                                            .n_args = 3,
                                            .env = env,
                                            .n_env = 2,
                                            .cwd = "/tmp",
                                            .user = "7",
                                            .tty = true,
                                            .tty_set = true};
                bool tty = false;
                is_int(exec_spec_build(root, &eo, &json, &tty, &err), 0,
                       "exec spec from the bundle's process");
                ok(json && tty && strstr(json, "\"args\":[\"sh\",\"-c\",\"x\"]") &&
                       strstr(json, "\"env\":[\"PATH=/bin\",\"A=2\",\"B=3\"]") &&
                       strstr(json, "\"cwd\":\"/tmp\"") && strstr(json, "\"uid\":7") &&
                       strstr(json, "\"gid\":6") && strstr(json, "\"terminal\":true") &&
                       !strstr(json, "consoleSize"),
                   "args, env (kept and overridden), cwd, uid (gid kept), terminal: %s", json ? json : "");
                free(json);
                json = NULL;
                eo.cwd = "tmp";
                is_int(exec_spec_build(root, &eo, &json, &tty, &err), -EINVAL, "a relative cwd is refused");
                free(err);
                err = NULL;
                eo.cwd = NULL;
                eo.user = "x:y";
                is_int(exec_spec_build(root, &eo, &json, &tty, &err), -EINVAL, "a bad user is refused");
                free(err);
                err = NULL;
                eo.user = NULL;
                eo.process_file = "/nonexistent/process.json";
                is_int(exec_spec_build(root, &eo, &json, &tty, &err), -EINVAL, "a missing --process file");
                free(err);
                err = NULL;
        }

        /* host cgroup names */
        {
                static const char *const cases[][2] = {
                    {"/docker/abc", "/docker/abc"},
                    {"default/c1", "/default/c1"},
                    {"system.slice:docker:abc", "/system.slice/docker-abc.scope"},
                    {"kubepods-besteffort-pod1.slice:cri-containerd:x",
                     "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
                     "cri-containerd-x.scope"},
                    {"-.slice:p:n", "/p-n.scope"},
                    {"/a/../b", NULL},
                    {"bad:x", NULL},
                    {"a--b.slice:p:n", NULL},
                    {"notaslice:p:n", NULL},
                    {"/", NULL},
                };
                char out[HOST_CGROUP_PATH_MAX];
                for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                        int k = host_cgroup_normalize(cases[i][0], out, sizeof(out));
                        if (cases[i][1])
                                ok(k == 0 && !strcmp(out, cases[i][1]), "cgroup %s -> %s", cases[i][0],
                                   k == 0 ? out : "error");
                        else
                                ok(k == -EINVAL, "cgroup %s refused", cases[i][0]);
                }
        }

        free(dir);
        rm_rf(root);
        done_testing();
        return exit_status();
}
