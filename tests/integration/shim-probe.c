/* SPDX-License-Identifier: Apache-2.0 */
/* Speaks containerd's side of the shim v2 protocol to a real containerd-shim-hako-v2 (started with
 * its `start` action, events published to /bin/true): bad input must get a clear error status and
 * leave the shim serving; the lifecycle of a container in a real VM must answer as containerd
 * expects; `delete` must clean up after a shim killed with SIGKILL. Prints TAP.
 * usage: shim-probe SHIM_BINARY HAKO_BINARY   (the busybox image: $HAKO_IMAGE_ROOT, made if missing) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "containerd.pb-c.h"
#include "fileio.h"
#include "macro.h"
#include "tap.h"
#include "timeutil.h"
#include "ttrpc.h"

#define SERVICE "containerd.task.v2.Task"

static const char *shim, *rootfs;
static char work[64];

struct conn {
        int fd;
        struct ttrpc_reader rd;
        uint32_t stream;
        struct arena arena;
        char message[1024]; /* the last error message */
};

static int conn_open(const char *address, struct conn *c)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        const char *path = address + strlen("unix://");

        *c = (struct conn){.stream = 1};
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || strlen(path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, path);
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -1;
        ttrpc_reader_init(&c->rd, 8u << 20);
        arena_init(&c->arena, 8u << 20);
        return 0;
}

static void conn_close(struct conn *c)
{
        safe_close(c->fd);
        ttrpc_reader_done(&c->rd);
        arena_done(&c->arena);
}

/* The answer to the request just sent on c->stream: its status code (-1: none in time or the
 * connection closed), its payload decoded as desc into *ret. */
static int wait_answer(struct conn *c, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret,
                       int timeout_ms)
{
        long long deadline = mono_ms() + timeout_ms;

        c->message[0] = 0;
        for (;;) {
                struct ttrpc_frame f;
                int r = ttrpc_reader_next(&c->rd, &f);
                if (r == 1) {
                        if (f.type != TTRPC_TYPE_RESPONSE || f.stream_id != c->stream)
                                continue;
                        arena_reset(&c->arena);
                        Hako__Ttrpc__Response *resp =
                            hako__ttrpc__response__unpack(&c->arena.allocator, f.length, f.data);
                        if (!resp)
                                return -2;
                        int code = resp->status ? resp->status->code : 0;
                        if (resp->status && resp->status->message)
                                snprintf(c->message, sizeof(c->message), "%s", resp->status->message);
                        if (code == 0 && desc && ret)
                                *ret = protobuf_c_message_unpack(desc, &c->arena.allocator, resp->payload.len,
                                                                 resp->payload.data);
                        return code;
                }
                long long left = deadline - mono_ms();
                struct pollfd p = {.fd = c->fd, .events = POLLIN};
                if (left <= 0 || poll(&p, 1, (int)left) <= 0)
                        return -1;
                if (ttrpc_reader_fill(&c->rd, c->fd) <= 0)
                        return -1;
        }
}

static int call(struct conn *c, const char *method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret, int timeout_ms)
{
        c->stream += 2;
        if (ttrpc_send_request(c->fd, c->stream, SERVICE, method, req, 0) < 0)
                return -1;
        return wait_answer(c, resp_desc, ret, timeout_ms);
}

static int raw_call(struct conn *c, const char *service, const char *method, const void *payload, size_t len)
{
        Hako__Ttrpc__Request req = HAKO__TTRPC__REQUEST__INIT;

        c->stream += 2;
        req.service = (char *)service;
        req.method = (char *)method;
        req.payload.data = (uint8_t *)payload;
        req.payload.len = len;
        if (ttrpc_write_message(c->fd, c->stream, TTRPC_TYPE_REQUEST, &req.base) < 0)
                return -1;
        return wait_answer(c, NULL, NULL, 10000);
}

/* A bundle: config.json running args (JSON array), over the busybox rootfs, with annotations. */
static int make_bundle_hooks(const char *name, const char *args, const char *annotations, const char *hooks,
                             char **ret);

static int make_bundle(const char *name, const char *args, const char *annotations, char **ret)
{
        return make_bundle_hooks(name, args, annotations, "{}", ret);
}

static int make_bundle_hooks(const char *name, const char *args, const char *annotations, const char *hooks,
                             char **ret)
{
        _cleanup_free_ char *dir = NULL, *cfg = NULL, *json = NULL;

        if (asprintf(&dir, "%s/%s", work, name) < 0 || asprintf(&cfg, "%s/config.json", dir) < 0)
                return -ENOMEM;
        mkdir(dir, 0755);
        if (asprintf(
                &json,
                "{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},"
                "\"args\":%s,\"env\":[\"PATH=/bin:/usr/bin\"],\"cwd\":\"/\"},"
                "\"root\":{\"path\":\"%s\",\"readonly\":true},\"hostname\":\"probe\","
                "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}],"
                "\"annotations\":%s,\"hooks\":%s,"
                "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{"
                "\"type\":\"uts\"},{\"type\":\"network\"}]}}",
                args, rootfs, annotations, hooks) < 0)
                return -ENOMEM;
        if (write_file_atomic(cfg, json, strlen(json), 0644) < 0)
                return -EIO;
        *ret = TAKE_PTR(dir);
        return 0;
}

/* Runs the shim with an action in dir; its stdout in *ret_out. Returns its exit status. */
static int run_shim(const char *dir, const char *id, const char *action, char **ret_out, size_t *ret_len)
{
        int out[2], status;
        char buf[4096];
        size_t len = 0;
        pid_t pid;

        if (pipe2(out, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid == 0) {
                char root[128];
                snprintf(root, sizeof(root), "%s/hako", work);
                setenv("HAKO_ROOT", root, 1);
                dup2(out[1], 1);
                if (chdir(dir) < 0)
                        _exit(1);
                execl(shim, shim, "-namespace", "probe", "-address", "/nonexistent/containerd.sock",
                      "-publish-binary", "/bin/true", "-id", id, "-bundle", dir, action, (char *)NULL);
                _exit(127);
        }
        close(out[1]);
        for (;;) {
                ssize_t k = read(out[0], buf + len, sizeof(buf) - 1 - len);
                if (k <= 0)
                        break;
                len += (size_t)k;
        }
        close(out[0]);
        buf[len] = 0;
        waitpid(pid, &status, 0);
        if (ret_out) {
                *ret_out = malloc(len + 1);
                memcpy(*ret_out, buf, len + 1);
        }
        if (ret_len)
                *ret_len = len;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int create(struct conn *c, const char *id, const char *bundle, uint32_t *ret_pid)
{
        Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
        Containerd__Task__V2__CreateTaskResponse *resp = NULL;
        int code;

        req.id = (char *)id;
        req.bundle = (char *)bundle;
        req.stdin = req.stdout = req.stderr = (char *)"";
        code = call(c, "Create", &req.base, &containerd__task__v2__create_task_response__descriptor,
                    (ProtobufCMessage **)&resp, 120000);
        if (code == 0 && ret_pid && resp)
                *ret_pid = resp->pid;
        return code;
}

static int simple(struct conn *c, const char *method, const char *id, const char *exec_id)
{
        /* Every request naming (id, exec_id) has them as fields 1 and 2. */
        Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
        uint8_t buf[512];
        size_t len;

        req.id = (char *)id;
        req.exec_id = (char *)(exec_id ? exec_id : "");
        len = protobuf_c_message_pack(&req.base, buf);
        return raw_call(c, SERVICE, method, buf, len);
}

static int exec_add(struct conn *c, const char *id, const char *exec_id, const char *spec)
{
        Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;

        any.type_url = (char *)"types.containerd.io/opencontainers/runtime-spec/1/Process";
        any.value.data = (uint8_t *)spec;
        any.value.len = strlen(spec);
        req.id = (char *)id;
        req.exec_id = (char *)exec_id;
        req.stdin = req.stdout = req.stderr = (char *)"";
        req.spec = &any;
        return call(c, "Exec", &req.base, NULL, NULL, 10000);
}

static int wait_status(struct conn *c, const char *id, const char *exec_id, uint32_t *ret)
{
        Containerd__Task__V2__WaitRequest req = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
        Containerd__Task__V2__WaitResponse *resp = NULL;
        int code;

        req.id = (char *)id;
        req.exec_id = (char *)(exec_id ? exec_id : "");
        code = call(c, "Wait", &req.base, &containerd__task__v2__wait_response__descriptor,
                    (ProtobufCMessage **)&resp, 60000);
        if (code == 0 && resp)
                *ret = resp->exit_status;
        return code;
}

/* Processes (other than us) whose command line mentions s. */
static int count_processes(const char *s)
{
        DIR *d = opendir("/proc");
        struct dirent *de;
        int k = 0;

        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char path[64];
                _cleanup_free_ char *cmd = NULL;
                size_t len = 0;
                int pid = atoi(de->d_name);

                if (pid <= 0 || pid == getpid())
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
                if (read_full_file(path, 1 << 16, &cmd, &len) < 0)
                        continue;
                for (size_t i = 0; i < len; i++)
                        if (!cmd[i])
                                cmd[i] = ' ';
                if (strstr(cmd, s))
                        k++;
        }
        closedir(d);
        return k;
}

static bool gone(const char *pattern)
{
        for (int i = 0; i < 100; i++) {
                if (count_processes(pattern) == 0)
                        return true;
                usleep(100 * 1000);
        }
        return false;
}

int main(int argc, char **argv)
{
        _cleanup_free_ char *good = NULL, *broken = NULL, *orphan = NULL, *addr = NULL, *crash = NULL;
        char pattern[128], path[256];
        struct conn c, c2;
        uint32_t pid = 0, status = 0;
        int code;

        if (argc < 3) {
                fprintf(stderr, "usage: shim-probe SHIM_BINARY HAKO_BINARY\n");
                return 2;
        }
        shim = realpath(argv[1], NULL);
        if (!shim) {
                printf("Bail out! no shim at %s\n", argv[1]);
                return 1;
        }
        const char *images = getenv("HAKO_IMAGE_ROOT");
        static char rootfs_buf[512];
        snprintf(rootfs_buf, sizeof(rootfs_buf), "%s/busybox/rootfs",
                 images && *images ? images : "/var/lib/hako/images");
        rootfs = rootfs_buf;
        signal(SIGPIPE, SIG_IGN);
        snprintf(work, sizeof(work), "/tmp/hsp.XXXXXX");
        if (!mkdtemp(work)) {
                printf("Bail out! mkdtemp\n");
                return 1;
        }
        snprintf(pattern, sizeof(pattern), "%s/", work);
        /* A sanitizer build's reports would go to the serving shim's stderr, /dev/null. */
        for (const char *const *v = (const char *const[]){"ASAN_OPTIONS", "UBSAN_OPTIONS", NULL}; *v; v++) {
                const char *o = getenv(*v);
                char buf[1024];
                if (o) {
                        snprintf(buf, sizeof(buf), "%s:log_path=%s/sanitizer", o, work);
                        setenv(*v, buf, 1);
                }
        }
        if (access(rootfs, F_OK) < 0) {
                char cmd[1024];
                snprintf(cmd, sizeof(cmd), "HAKO_ROOT=%s/hako '%s' run --rm busybox true >/dev/null 2>&1",
                         work, argv[2]);
                (void)!system(cmd);
        }
        if (make_bundle("good", "[\"sleep\", \"1000\"]", "{}", &good) < 0 ||
            make_bundle("orphan", "[\"true\"]",
                        "{\"io.kubernetes.cri.container-type\":\"container\","
                        "\"io.kubernetes.cri.sandbox-id\":\"nosuchpod\"}",
                        &orphan) < 0 ||
            make_bundle("crash", "[\"sleep\", \"1000\"]", "{}", &crash) < 0 ||
            asprintf(&broken, "%s/broken", work) < 0) {
                printf("Bail out! cannot write the bundles\n");
                return 1;
        }
        mkdir(broken, 0755);
        snprintf(path, sizeof(path), "%s/config.json", broken);
        write_file_atomic(path, "{\"ociVersion\": ", 15, 0644);

        ok(run_shim(good, "good", "start", &addr, NULL) == 0 && addr && !strncmp(addr, "unix://", 7),
           "start: prints the shim's address");
        if (!addr || conn_open(addr, &c) < 0) {
                printf("Bail out! cannot connect to the shim at %s\n", addr ? addr : "(none)");
                return 1;
        }
        _cleanup_free_ char *addr2 = NULL;
        ok(run_shim(good, "good", "start", &addr2, NULL) == 0 && addr2 && !strcmp(addr, addr2),
           "start again for the same pod: the same address");

        Containerd__Task__V2__ConnectRequest creq = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
        Containerd__Task__V2__ConnectResponse *cresp = NULL;
        creq.id = (char *)"good";
        code = call(&c, "Connect", &creq.base, &containerd__task__v2__connect_response__descriptor,
                    (ProtobufCMessage **)&cresp, 10000);
        ok(code == 0 && cresp && cresp->shim_pid > 0, "Connect: the shim's pid");

        /* --- unknown ids, methods, payloads --------------------------------------------------- */
        ok(simple(&c, "State", "nosuch", NULL) == TTRPC_NOT_FOUND, "State of an unknown task: NOT_FOUND");
        ok(simple(&c, "Kill", "nosuch", NULL) == TTRPC_NOT_FOUND, "Kill of an unknown task: NOT_FOUND");
        ok(simple(&c, "Delete", "nosuch", NULL) == TTRPC_NOT_FOUND, "Delete of an unknown task: NOT_FOUND");
        ok(simple(&c, "Wait", "nosuch", NULL) == TTRPC_NOT_FOUND, "Wait on an unknown task: NOT_FOUND");
        ok(raw_call(&c, SERVICE, "NoSuchMethod", NULL, 0) == TTRPC_UNIMPLEMENTED,
           "an unknown method: UNIMPLEMENTED");
        ok(raw_call(&c, "other.Service", "State", NULL, 0) == TTRPC_UNIMPLEMENTED,
           "an unknown service: UNIMPLEMENTED");
        static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
        ok(raw_call(&c, SERVICE, "Create", garbage, sizeof(garbage)) == TTRPC_INVALID_ARGUMENT,
           "an undecodable payload: INVALID_ARGUMENT");
        ok(create(&c, "../escape", good, NULL) == TTRPC_INVALID_ARGUMENT,
           "Create with an invalid id: INVALID_ARGUMENT");
        ok(create(&c, "rel", "relative/bundle", NULL) == TTRPC_INVALID_ARGUMENT,
           "Create with a relative bundle: INVALID_ARGUMENT");
        code = create(&c, "broken", broken, NULL);
        ok(code == TTRPC_INVALID_ARGUMENT && strstr(c.message, "config.json"),
           "Create with a malformed bundle: INVALID_ARGUMENT naming its config.json");
        code = create(&c, "orphan", orphan, NULL);
        ok(code == TTRPC_NOT_FOUND && strstr(c.message, "sandbox nosuchpod is not running"),
           "Create of a container whose sandbox is not running: NOT_FOUND, said so");

        size_t big = 5u << 20;
        c.stream += 2;
        ttrpc_write_frame(c.fd, c.stream, TTRPC_TYPE_REQUEST, 0, NULL, 0);
        ok(wait_answer(&c, NULL, NULL, 10000) == TTRPC_UNIMPLEMENTED,
           "an empty request (no method): UNIMPLEMENTED");
        /* An oversized frame is refused and skipped; the connection goes on. */
        {
                uint8_t hdr[TTRPC_HEADER_SIZE];
                uint8_t *body = calloc(1, big);
                c.stream += 2;
                ttrpc_header_pack(hdr, (uint32_t)big, c.stream, TTRPC_TYPE_REQUEST, 0);
                (void)!write(c.fd, hdr, sizeof(hdr));
                for (size_t off = 0; off < big;) {
                        ssize_t k = write(c.fd, body + off, big - off);
                        if (k <= 0)
                                break;
                        off += (size_t)k;
                }
                free(body);
                ok(wait_answer(&c, NULL, NULL, 20000) == TTRPC_RESOURCE_EXHAUSTED,
                   "a 5 MiB frame: RESOURCE_EXHAUSTED");
                ok(simple(&c, "State", "nosuch", NULL) == TTRPC_NOT_FOUND,
                   "...and the connection still serves");
        }

        /* --- a container in a real VM ------------------------------------------------------------ */
        code = create(&c, "good", good, &pid);
        ok(code == 0 && pid > 0, "Create: a container in a new VM, the VM's pid");
        if (code != 0)
                printf("# %s\n", c.message);
        ok(create(&c, "good", good, NULL) == TTRPC_ALREADY_EXISTS,
           "Create of an existing task: ALREADY_EXISTS");
        ok(simple(&c, "Start", "good", NULL) == 0, "Start");
        Containerd__Task__V2__StateRequest sreq = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
        Containerd__Task__V2__StateResponse *sresp = NULL;
        sreq.id = (char *)"good";
        sreq.exec_id = (char *)"";
        code = call(&c, "State", &sreq.base, &containerd__task__v2__state_response__descriptor,
                    (ProtobufCMessage **)&sresp, 10000);
        ok(code == 0 && sresp && sresp->status == CONTAINERD__V1__TYPES__STATUS__RUNNING, "State: RUNNING");
        ok(exec_add(&c, "good", "e1",
                    "{\"args\":[\"sh\",\"-c\",\"exit 5\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"]}") == 0,
           "Exec e1");
        ok(exec_add(&c, "good", "e1", "{\"args\":[\"true\"],\"cwd\":\"/\"}") == TTRPC_ALREADY_EXISTS,
           "Exec with an id in use: ALREADY_EXISTS");
        ok(exec_add(&c, "good", "e2", "{not json") == TTRPC_INVALID_ARGUMENT,
           "Exec with a malformed spec: INVALID_ARGUMENT");
        ok(exec_add(&c, "good", "../e3", "{\"args\":[\"true\"]}") == TTRPC_INVALID_ARGUMENT,
           "Exec with an invalid exec id: INVALID_ARGUMENT");
        Containerd__Task__V2__KillRequest kreq = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
        kreq.id = (char *)"good";
        kreq.exec_id = (char *)"e1";
        kreq.signal = 15;
        ok(call(&c, "Kill", &kreq.base, NULL, NULL, 10000) == TTRPC_FAILED_PRECONDITION,
           "Kill of an exec not started: FAILED_PRECONDITION");
        kreq.signal = 0;
        ok(call(&c, "Kill", &kreq.base, NULL, NULL, 10000) == TTRPC_INVALID_ARGUMENT,
           "Kill with signal 0: INVALID_ARGUMENT");
        ok(simple(&c, "Start", "good", "e1") == 0, "Start e1");
        ok(wait_status(&c, "good", "e1", &status) == 0 && status == 5, "Wait e1: its exit status (5)");
        ok(simple(&c, "Delete", "good", "e1") == 0, "Delete e1");
        ok(simple(&c, "Delete", "good", NULL) == TTRPC_FAILED_PRECONDITION,
           "Delete of a running container: FAILED_PRECONDITION");
        ok(simple(&c, "Checkpoint", "good", NULL) == TTRPC_UNIMPLEMENTED, "Checkpoint: UNIMPLEMENTED");

        Containerd__Task__V2__StatsRequest streq = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
        Containerd__Task__V2__StatsResponse *stresp = NULL;
        streq.id = (char *)"good";
        code = call(&c, "Stats", &streq.base, &containerd__task__v2__stats_response__descriptor,
                    (ProtobufCMessage **)&stresp, 10000);
        ok(code == 0 && stresp && stresp->stats &&
               !strcmp(stresp->stats->type_url, "io.containerd.cgroups.v2.Metrics"),
           "Stats: cgroup v2 metrics");

        /* A second client breaks the protocol: its connection goes, the shim stays. */
        ok(conn_open(addr, &c2) == 0, "a second connection");
        ttrpc_write_frame(c2.fd, 2, TTRPC_TYPE_RESPONSE, 0, "x", 1);
        c2.stream = 1;
        ok(wait_answer(&c2, NULL, NULL, 5000) == -1,
           "a response frame from the client: its connection is closed");
        conn_close(&c2);
        ok(simple(&c, "State", "good", NULL) == 0, "...the shim and the other connection go on");

        Containerd__Task__V2__PidsRequest preq = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
        Containerd__Task__V2__PidsResponse *presp = NULL;
        preq.id = (char *)"good";
        code = call(&c, "Pids", &preq.base, &containerd__task__v2__pids_response__descriptor,
                    (ProtobufCMessage **)&presp, 10000);
        ok(code == 0 && presp && presp->n_processes >= 1 && presp->processes[0]->pid > 1,
           "Pids: the guest pids of the container");
        kreq.exec_id = (char *)"";
        kreq.signal = 9;
        kreq.all = true;
        ok(call(&c, "Kill", &kreq.base, NULL, NULL, 10000) == 0, "Kill SIGKILL to all");
        kreq.all = false;
        ok(wait_status(&c, "good", NULL, &status) == 0 && status == 137, "Wait: 137");
        kreq.signal = 15;
        ok(call(&c, "Kill", &kreq.base, NULL, NULL, 10000) == TTRPC_NOT_FOUND,
           "Kill after the exit: NOT_FOUND");
        ok(simple(&c, "Delete", "good", NULL) == 0, "Delete");
        Containerd__Task__V2__ShutdownRequest shreq = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
        shreq.id = (char *)"good";
        ok(call(&c, "Shutdown", &shreq.base, NULL, NULL, 10000) == 0, "Shutdown");
        conn_close(&c);
        ok(gone(pattern), "the shim, its VM and virtiofsd are gone");
        snprintf(path, sizeof(path), "%s/hako/shim/probe/good", work);
        ok(access(path, F_OK) < 0 && access(addr + 7, F_OK) < 0, "its state and socket are gone");

        /* --- OCI hooks run on the host, with the state of the moment --------------------------- */
        {
                _cleanup_free_ char *hb = NULL, *hooks = NULL, *addr4 = NULL;
                char f[256], expect[256];
                static const char *const kinds[] = {"createRuntime", "poststart", "poststop"};
                static const char *const states[] = {"created", "running", "stopped"};
                if (asprintf(&hooks,
                             "{\"createRuntime\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat "
                             ">%s/h-createRuntime\"]}],"
                             "\"poststart\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat "
                             ">%s/h-poststart\"]}],"
                             "\"poststop\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat "
                             ">%s/h-poststop\"]}]}",
                             work, work, work) < 0 ||
                    make_bundle_hooks("hooked", "[\"true\"]", "{}", hooks, &hb) < 0) {
                        printf("Bail out! hooks bundle\n");
                        return 1;
                }
                ok(run_shim(hb, "hooked", "start", &addr4, NULL) == 0 && conn_open(addr4, &c) == 0,
                   "start a shim for hooks");
                ok(create(&c, "hooked", hb, NULL) == 0 && simple(&c, "Start", "hooked", NULL) == 0 &&
                       wait_status(&c, "hooked", NULL, &status) == 0 &&
                       simple(&c, "Delete", "hooked", NULL) == 0,
                   "a container with hooks: created, started, exited, deleted");
                for (size_t i = 0; i < 3; i++) {
                        _cleanup_free_ char *got = NULL;
                        snprintf(f, sizeof(f), "%s/h-%s", work, kinds[i]);
                        snprintf(expect, sizeof(expect), "\"id\":\"hooked\",\"status\":\"%s\"", states[i]);
                        (void)read_full_file(f, 4096, &got, NULL);
                        snprintf(f, sizeof(f), "the %s hook ran on the host with status %s", kinds[i],
                                 states[i]);
                        ok(got && strstr(got, expect) != NULL, "%s", f);
                }
                shreq.id = (char *)"hooked";
                call(&c, "Shutdown", &shreq.base, NULL, NULL, 10000);
                conn_close(&c);
        }

        /* --- a shim killed with SIGKILL: `delete` cleans up ------------------------------------- */
        _cleanup_free_ char *addr3 = NULL, *out = NULL;
        size_t len = 0;
        ok(run_shim(crash, "crash", "start", &addr3, NULL) == 0 && conn_open(addr3, &c) == 0,
           "start a second shim");
        ok(create(&c, "crash", crash, &pid) == 0 && simple(&c, "Start", "crash", NULL) == 0,
           "a container in it");
        Containerd__Task__V2__ConnectResponse *cr2 = NULL;
        creq.id = (char *)"crash";
        call(&c, "Connect", &creq.base, &containerd__task__v2__connect_response__descriptor,
             (ProtobufCMessage **)&cr2, 10000);
        if (cr2)
                kill((pid_t)cr2->shim_pid, SIGKILL);
        conn_close(&c);
        ok(run_shim(crash, "crash", "delete", &out, &len) == 0, "delete after kill -9 of the shim: exit 0");
        Containerd__Task__V2__DeleteResponse *dr =
            containerd__task__v2__delete_response__unpack(NULL, len, (const uint8_t *)out);
        ok(dr && dr->exit_status == 137 && dr->exited_at && dr->exited_at->seconds > 0,
           "delete prints a DeleteResponse (137, exited_at)");
        if (dr)
                containerd__task__v2__delete_response__free_unpacked(dr, NULL);
        ok(gone(pattern), "no VM or virtiofsd left");
        snprintf(path, sizeof(path), "%s/hako/shim/probe/crash", work);
        ok(access(path, F_OK) < 0 && access(addr3 + 7, F_OK) < 0, "no state or socket left");

        {
                char cmd[256];
                snprintf(cmd, sizeof(cmd), "cat %s/sanitizer.* 2>/dev/null | head -30", work);
                FILE *f = popen(cmd, "r");
                char line[512];
                bool any = false;
                while (f && fgets(line, sizeof(line), f)) {
                        printf("# %s", line);
                        any = true;
                }
                if (f)
                        pclose(f);
                ok(!any, "no sanitizer reports from the shims");
        }
        done_testing();
        int rc = exit_status();
        if (rc == EXIT_SUCCESS) {
                char cmd[128];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
                (void)!system(cmd);
        }
        return rc;
}
