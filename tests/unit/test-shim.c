/* SPDX-License-Identifier: Apache-2.0 */
/* The shim without containerd or a VM: pod roles and namespaces in a spec, rootfs mount options,
 * cgroup metrics for containerd, the socket path, and the ttRPC server it serves the task API with
 * (over a socketpair, with a method table of the test's own). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent-protocol.h"
#include "arena.h"
#include "containerd.pb-c.h"
#include "macro.h"
#include "metrics.h"
#include "mount.h"
#include "pod.h"
#include "pollset.h"
#include "shim.h"
#include "tap.h"
#include "ttrpc-server.h"
#include "ttrpc.h"

static json_t *parse(const char *text)
{
        json_t *j = json_loads(text, 0, NULL);
        if (!j)
                diag("bad JSON in the test: %s", text);
        return j;
}

static void test_pod_role(void)
{
        static const struct {
                const char *spec;
                enum pod_role role;
                const char *sandbox;
        } table[] = {
            {"{\"annotations\": {\"io.kubernetes.cri.container-type\": \"sandbox\","
             " \"io.kubernetes.cri.sandbox-id\": \"sb1\"}}",
             POD_SANDBOX, NULL},
            {"{\"annotations\": {\"io.kubernetes.cri.container-type\": \"container\","
             " \"io.kubernetes.cri.sandbox-id\": \"sb1\"}}",
             POD_CONTAINER, "sb1"},
            {"{\"annotations\": {\"io.kubernetes.cri.container-type\": \"container\"}}", POD_STANDALONE,
             NULL},
            {"{\"annotations\": {\"io.kubernetes.cri.container-type\": \"container\","
             " \"io.kubernetes.cri.sandbox-id\": \"\"}}",
             POD_STANDALONE, NULL},
            {"{\"annotations\": {\"io.kubernetes.cri.container-type\": \"other\"}}", POD_STANDALONE, NULL},
            {"{\"annotations\": {\"io.kubernetes.cri.container-type\": 1}}", POD_STANDALONE, NULL},
            {"{\"ociVersion\": \"1.0.2\"}", POD_STANDALONE, NULL},
            {"[]", POD_STANDALONE, NULL},
        };
        const char *names[] = {"standalone", "sandbox", "container"};

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                json_t *spec = parse(table[i].spec);
                const char *sandbox = NULL;
                enum pod_role role = pod_role(spec, &sandbox);

                is_int(role, table[i].role, "pod_role of spec %zu is %s", i, names[table[i].role]);
                if (table[i].sandbox)
                        ok(sandbox && !strcmp(sandbox, table[i].sandbox), "  and names its sandbox %s",
                           table[i].sandbox);
                json_decref(spec);
        }
        is_int(pod_role(NULL, NULL), POD_STANDALONE, "no spec: standalone");
}

static const char *ns_path_of(json_t *spec, size_t i)
{
        json_t *ns = json_array_get(json_object_get(json_object_get(spec, "linux"), "namespaces"), i);
        return json_string_value(json_object_get(ns, "path"));
}

static void test_join_namespaces(void)
{
        static const char *const refused[] = {
            "/var/run/netns/x", "/proc/12/ns/net", "/proc/13/ns/../x", "/proc/13/ns/",
            "/proc/133/ns/net", "/proc/1/ns/net",  "proc/13/ns/net",   "/proc/13/ns/net/x",
        };
        json_t *spec = parse("{\"linux\": {\"namespaces\": ["
                             "{\"type\": \"network\", \"path\": \"/proc/13/ns/net\"},"
                             "{\"type\": \"ipc\", \"path\": \"/proc/13/ns/ipc\"},"
                             "{\"type\": \"uts\", \"path\": \"/proc/13/ns/uts\"},"
                             "{\"type\": \"pid\"},"
                             "{\"type\": \"mount\", \"path\": \"\"}]}}");
        char *err = NULL;

        is_int(pod_join_sandbox_namespaces(spec, 13, 7, &err), 0, "the sandbox's namespaces are joined");
        ok(!err, "no error message");
        ok(!strcmp(ns_path_of(spec, 0) ?: "", "/proc/7/ns/net"),
           "net: /proc/13/ns/net becomes /proc/7/ns/net");
        ok(!strcmp(ns_path_of(spec, 1) ?: "", "/proc/7/ns/ipc"), "ipc: the guest pid's");
        ok(!strcmp(ns_path_of(spec, 2) ?: "", "/proc/7/ns/uts"), "uts: the guest pid's");
        ok(!ns_path_of(spec, 3), "a namespace without a path stays new");
        ok(!strcmp(ns_path_of(spec, 4) ?: "x", ""), "an empty path is left alone");
        json_decref(spec);

        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                json_t *ns = json_pack("{s:s, s:s}", "type", "network", "path", refused[i]);
                spec = json_pack("{s:{s:[{s:s, s:s}, o]}}", "linux", "namespaces", "type", "ipc", "path",
                                 "/proc/13/ns/ipc", ns);
                err = NULL;
                is_int(pod_join_sandbox_namespaces(spec, 13, 7, &err), -EOPNOTSUPP,
                       "%s (host pid 13) is refused", refused[i]);
                ok(err && strstr(err, "cannot join the network namespace") && strstr(err, refused[i]),
                   "  with a message naming it: %s", err ? err : "(none)");
                free(err);
                json_decref(spec);
        }

        spec = parse("{\"process\": {}}");
        err = NULL;
        is_int(pod_join_sandbox_namespaces(spec, 13, 7, &err), 0, "a spec without namespaces: nothing to do");
        json_decref(spec);
}

static void test_network_namespace(void)
{
        json_t *spec = parse("{\"linux\": {\"namespaces\": [{\"type\": \"pid\"},"
                             "{\"type\": \"network\", \"path\": \"/var/run/netns/cni-1234\"}]}}");
        char *path = NULL;
        bool new_netns = true;

        is_int(pod_take_network_namespace(spec, &path, &new_netns), 0,
               "take the sandbox's network namespace");
        ok(path && !strcmp(path, "/var/run/netns/cni-1234"), "its path is returned");
        ok(!new_netns, "not a new one");
        ok(!json_object_get(json_array_get(json_object_get(json_object_get(spec, "linux"), "namespaces"), 1),
                            "path"),
           "and the path is gone from the spec (the guest makes its own)");
        free(path);
        json_decref(spec);

        spec = parse("{\"linux\": {\"namespaces\": [{\"type\": \"network\"}]}}");
        path = (char *)"x";
        is_int(pod_take_network_namespace(spec, &path, &new_netns), 0, "a network namespace without a path");
        ok(!path && new_netns, "is a new one");
        json_decref(spec);

        spec = parse("{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}}");
        is_int(pod_take_network_namespace(spec, &path, &new_netns), 0, "no network namespace");
        ok(!path && !new_netns, "none to take, none to make (the host's)");
        json_decref(spec);
}

static void test_mount_options(void)
{
        char *const bind[] = {"rbind", "ro", "nosuid", "nodev"};
        char *const rw[] = {"ro", "rw", "noexec", "exec", "suid"};
        char *const overlay[] = {"index=off", "lowerdir=/s/2/fs:/s/1/fs", "upperdir=/s/3/fs",
                                 "workdir=/s/3/work", "nodev"};
        char *const none[] = {"defaults"};
        char data[4096], small[16];
        unsigned long flags = 0;
        _cleanup_free_ char *big = malloc(5000);

        is_int(shim_mount_options(bind, ELEMENTSOF(bind), &flags, data, sizeof(data)), 0, "bind options");
        is_int(flags, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID | MS_NODEV, "rbind,ro,nosuid,nodev are flags");
        ok(data[0] == 0, "and no data");

        is_int(shim_mount_options(rw, ELEMENTSOF(rw), &flags, data, sizeof(data)), 0, "ro then rw");
        is_int(flags, 0, "rw clears ro, exec noexec, suid is the default");

        is_int(shim_mount_options(overlay, ELEMENTSOF(overlay), &flags, data, sizeof(data)), 0,
               "overlay options");
        is_int(flags, MS_NODEV, "nodev is a flag");
        ok(!strcmp(data, "index=off,lowerdir=/s/2/fs:/s/1/fs,upperdir=/s/3/fs,workdir=/s/3/work"),
           "the rest is the data, comma-joined: %s", data);

        is_int(shim_mount_options(none, 1, &flags, data, sizeof(data)), 0, "defaults");
        ok(flags == 0 && data[0] == 0, "is nothing");
        is_int(shim_mount_options(NULL, 0, &flags, data, sizeof(data)), 0, "no options");
        ok(flags == 0 && data[0] == 0, "nothing either");

        is_int(shim_mount_options(overlay, ELEMENTSOF(overlay), &flags, small, sizeof(small)), -E2BIG,
               "data over the buffer: -E2BIG");
        if (big) {
                char *const one[] = {big};
                memset(big, 'x', 4999);
                big[4999] = 0;
                is_int(shim_mount_options(one, 1, &flags, data, sizeof(data)), -E2BIG,
                       "one option over a page: -E2BIG");
                big[4094] = 0;
                is_int(shim_mount_options(one, 1, &flags, data, sizeof(data)), 0,
                       "4094 bytes of data fit a page");
        }
}

static void test_metrics(void)
{
        Hako__Agent__V1__StatsContainerResponse st = HAKO__AGENT__V1__STATS_CONTAINER_RESPONSE__INIT;
        Hako__Agent__V1__StatKey keys[3], *pkeys[3], ev[2], *pev[2];
        Hako__Agent__V1__IoStat io[HAKO_MAX_IO_DEVICES + 8], *pio[HAKO_MAX_IO_DEVICES + 8];
        Io__Containerd__Cgroups__V2__Metrics *m;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;

        static const char *const key_names[] = {"inactive_file", "no_such_key", "anon"};
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                keys[i] = (Hako__Agent__V1__StatKey)HAKO__AGENT__V1__STAT_KEY__INIT;
                keys[i].key = (char *)key_names[i];
                keys[i].value = 1000 + i;
                pkeys[i] = &keys[i];
        }
        ev[0] = (Hako__Agent__V1__StatKey)HAKO__AGENT__V1__STAT_KEY__INIT;
        ev[0].key = (char *)"oom_kill";
        ev[0].value = 2;
        ev[1] = (Hako__Agent__V1__StatKey)HAKO__AGENT__V1__STAT_KEY__INIT;
        ev[1].key = (char *)"oom";
        ev[1].value = 3;
        pev[0] = &ev[0];
        pev[1] = &ev[1];
        for (size_t i = 0; i < ELEMENTSOF(io); i++) {
                io[i] = (Hako__Agent__V1__IoStat)HAKO__AGENT__V1__IO_STAT__INIT;
                io[i].major = 8;
                io[i].minor = (uint32_t)i;
                io[i].rbytes = 4096 * i;
                io[i].wios = i + 1;
                pio[i] = &io[i];
        }
        st.cpu_usage_usec = 123456;
        st.cpu_nr_throttled = 4;
        st.memory_current = 100 << 20;
        st.memory_max = 0;
        st.swap_max = 512 << 20;
        st.pids_current = 7;
        st.pids_max = 1024;
        st.n_memory_stat = ELEMENTSOF(keys);
        st.memory_stat = pkeys;
        st.n_memory_events = ELEMENTSOF(ev);
        st.memory_events = pev;
        st.n_io = 2;
        st.io = pio;

        is_int(shim_metrics_pack(&st, &data, &len), 0, "stats pack as cgroup v2 metrics");
        m = io__containerd__cgroups__v2__metrics__unpack(NULL, len, data);
        if (ok(m && m->memory && m->cpu && m->pids && m->io && m->memory_events,
               "they unpack as io.containerd.cgroups.v2.Metrics")) {
                is_int(m->memory->usage, 100 << 20, "memory.usage is memory.current");
                ok(m->memory->usage_limit == UINT64_MAX, "memory.max 0 (\"max\") is usage_limit UINT64_MAX");
                is_int(m->memory->swap_limit, 512 << 20, "swap_limit is swap.max");
                is_int(m->memory->inactive_file, 1000, "inactive_file from memory.stat");
                is_int(m->memory->anon, 1002, "anon from memory.stat (after an unknown key, ignored)");
                is_int(m->memory->file, 0, "a key the guest did not send is 0");
                is_int(m->memory_events->oom_kill, 2, "memory_events oom_kill");
                is_int(m->memory_events->oom, 3, "memory_events oom");
                is_int(m->cpu->usage_usec, 123456, "cpu usage_usec");
                is_int(m->cpu->nr_throttled, 4, "cpu nr_throttled");
                ok(m->pids->current == 7 && m->pids->limit == 1024, "pids current and limit");
                is_int(m->io->n_usage, 2, "two io entries");
                ok(m->io->n_usage == 2 && m->io->usage[1]->major == 8 && m->io->usage[1]->minor == 1 &&
                       m->io->usage[1]->rbytes == 4096 && m->io->usage[1]->wios == 2,
                   "io entries in order, with their numbers");
        }
        io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
        free(data);
        data = NULL;

        st.n_io = ELEMENTSOF(io);
        st.memory_max = 256 << 20;
        is_int(shim_metrics_pack(&st, &data, &len), 0, "stats with too many io devices pack");
        m = io__containerd__cgroups__v2__metrics__unpack(NULL, len, data);
        if (ok(m && m->io && m->memory, "and unpack")) {
                is_int(m->io->n_usage, HAKO_MAX_IO_DEVICES, "the io entries are cut at HAKO_MAX_IO_DEVICES");
                is_int(m->memory->usage_limit, 256 << 20, "a memory.max is the usage_limit");
        }
        io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
}

static void test_socket_path(void)
{
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
        char root[120], address[1100];
        const char *prefix = "/run/hako-test/s/";

        setenv("HAKO_ROOT", "/run/hako-test", 1);
        is_int(shim_socket_path("/run/containerd/containerd.sock", "k8s.io", "pod-a", &a), 0, "socket path");
        ok(a && !strncmp(a, prefix, strlen(prefix)) && strlen(a) == strlen(prefix) + 32 &&
               strspn(a + strlen(prefix), "0123456789abcdef") == 32,
           "HAKO_ROOT/s/ and 32 hex digits: %s", a ? a : "(null)");
        is_int(shim_socket_path("/run/containerd/containerd.sock", "k8s.io", "pod-a", &b), 0, "again");
        ok(a && b && !strcmp(a, b), "the same pod gives the same path");
        is_int(shim_socket_path("/run/containerd/containerd.sock", "k8s.io", "pod-b", &c), 0, "another pod");
        ok(a && c && strcmp(a, c) != 0, "another group gives another path");
        is_int(shim_socket_path("/run/containerd/containerd.sock", "default", "pod-a", &d), 0,
               "another namespace");
        ok(a && d && strcmp(a, d) != 0, "another namespace gives another path");
        memset(address, 'a', sizeof(address) - 1);
        address[sizeof(address) - 1] = 0;
        is_int(shim_socket_path(address, "k8s.io", "pod-a", &e), -ENAMETOOLONG,
               "a 1 KiB address: -ENAMETOOLONG");

        root[0] = '/';
        memset(root + 1, 'r', sizeof(root) - 2);
        root[sizeof(root) - 1] = 0;
        setenv("HAKO_ROOT", root, 1);
        is_int(shim_socket_path("/run/containerd/containerd.sock", "k8s.io", "pod-a", &e), -ENAMETOOLONG,
               "a HAKO_ROOT too long for a unix socket path: -ENAMETOOLONG");
        unsetenv("HAKO_ROOT");
}

/* The ttRPC server over a socketpair, with a method table of the test's own. */

struct served {
        unsigned calls;
        struct ttrpc_call kept;
        bool have_kept;
};

static void on_state(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        const Containerd__Task__V2__StateRequest *req = (const void *)m;
        Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
        struct served *sv = userdata;

        sv->calls++;
        resp.id = req->id;
        resp.pid = 42;
        (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
}

/* Answers later, as the shim's Wait does. */
static void on_wait(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct served *sv = userdata;

        (void)m;
        sv->calls++;
        sv->kept = *call;
        sv->have_kept = true;
}

static const struct ttrpc_method test_methods[] = {
    {SHIM_SERVICE, "State", &containerd__task__v2__state_request__descriptor, on_state},
    {SHIM_SERVICE, "Wait", &containerd__task__v2__wait_request__descriptor, on_wait},
};

#define TEST_MAX_FRAME 4096

struct client {
        int fd;
        struct ttrpc_reader r;
        struct arena a;
};

static int client_connect(struct ttrpc_server *s, struct client *c)
{
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        if (ttrpc_server_adopt(s, sv[1]) < 0) {
                close(sv[0]);
                return -EIO;
        }
        c->fd = sv[0];
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        ttrpc_reader_init(&c->r, HAKO_TTRPC_MAX_FRAME);
        arena_init(&c->a, 1 << 20);
        return 0;
}

static void client_done(struct client *c)
{
        c->fd = safe_close(c->fd);
        ttrpc_reader_done(&c->r);
        arena_done(&c->a);
}

/* One round of the server's loop. */
static void pump(struct ttrpc_server *s)
{
        static struct pollset ps;

        pollset_reset(&ps);
        ttrpc_server_poll_add(s, &ps);
        pollset_timeout(&ps, 200);
        (void)pollset_wait(&ps);
}

/* The next frame the server wrote: 1, 0 on EOF, -EAGAIN when there is none (after waiting a bit). */
static int client_frame(struct client *c, struct ttrpc_frame *f)
{
        for (;;) {
                int k = ttrpc_reader_next(&c->r, f);
                if (k != 0)
                        return k;
                k = ttrpc_reader_fill(&c->r, c->fd);
                if (k == -EAGAIN) {
                        struct pollfd p = {.fd = c->fd, .events = POLLIN};
                        if (poll(&p, 1, 200) <= 0)
                                return -EAGAIN;
                        continue;
                }
                if (k <= 0)
                        return k;
        }
}

/* The next response: its status code (-1 for no response), *ret its decode. */
static int client_response(struct client *c, uint32_t *ret_stream, Hako__Ttrpc__Response **ret)
{
        struct ttrpc_frame f;
        Hako__Ttrpc__Response *resp;

        *ret = NULL;
        if (client_frame(c, &f) != 1 || f.type != TTRPC_TYPE_RESPONSE)
                return -1;
        arena_reset(&c->a);
        resp = hako__ttrpc__response__unpack(&c->a.allocator, f.length, f.data);
        if (!resp || !resp->status)
                return -1;
        *ret_stream = f.stream_id;
        *ret = resp;
        return resp->status->code;
}

static int send_state(struct client *c, uint32_t stream, const char *service, const char *method)
{
        Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;

        req.id = (char *)"web";
        return ttrpc_send_request(c->fd, stream, service, method, &req.base, 0);
}

static void test_server(void)
{
        struct served sv = {0};
        struct ttrpc_server_config cfg = {
            .listen_fd = -1,
            .methods = test_methods,
            .n_methods = ELEMENTSOF(test_methods),
            .userdata = &sv,
            .max_frame = TEST_MAX_FRAME,
            .arena_size = 256 << 10,
            .max_connections = 4,
        };
        struct ttrpc_server *s = NULL;
        struct client c = {.fd = -1};
        Hako__Ttrpc__Response *resp;
        uint32_t stream = 0;
        uint8_t hdr[TTRPC_HEADER_SIZE];
        _cleanup_free_ uint8_t *big = calloc(1, TEST_MAX_FRAME + 1);

        if (!ok(ttrpc_server_new(&cfg, &s) == 0, "server without a listening socket"))
                return;
        if (!ok(client_connect(s, &c) == 0, "a socketpair adopted as a connection"))
                goto out;
        is_int(ttrpc_server_connections(s), 1, "one connection");

        /* A registered method answers. */
        is_int(send_state(&c, 1, SHIM_SERVICE, "State"), 0, "send State");
        pump(s);
        is_int(client_response(&c, &stream, &resp), TTRPC_OK, "State answers OK");
        is_int(stream, 1, "on the request's stream");
        if (resp) {
                Containerd__Task__V2__StateResponse *st = containerd__task__v2__state_response__unpack(
                    &c.a.allocator, resp->payload.len, resp->payload.data);
                ok(st && st->pid == 42 && !strcmp(st->id, "web"), "with the handler's StateResponse");
        }

        /* Unknown method, unknown service. */
        send_state(&c, 3, SHIM_SERVICE, "Frobnicate");
        send_state(&c, 5, "containerd.task.v3.Task", "State");
        pump(s);
        is_int(client_response(&c, &stream, &resp), TTRPC_UNIMPLEMENTED,
               "an unknown method is UNIMPLEMENTED");
        ok(stream == 3 && resp && strstr(resp->status->message, "Frobnicate: method not found"),
           "  with ttrpc's message: %s", resp ? resp->status->message : "");
        is_int(client_response(&c, &stream, &resp), TTRPC_UNIMPLEMENTED,
               "a known method of another service is UNIMPLEMENTED");
        is_int(stream, 5, "  on its stream");

        /* Payloads that do not decode. */
        is_int(ttrpc_send_request(c.fd, 7, SHIM_SERVICE, "State", NULL, 0), 0, "State, no payload");
        pump(s);
        is_int(client_response(&c, &stream, &resp), TTRPC_OK, "an empty payload is an empty StateRequest");
        {
                Hako__Ttrpc__Request req = HAKO__TTRPC__REQUEST__INIT;
                uint8_t buf[128];
                static const uint8_t garbage[] = {0x0f, 0x01}; /* wire type 7 */
                req.service = (char *)SHIM_SERVICE;
                req.method = (char *)"State";
                req.payload.data = (uint8_t *)garbage;
                req.payload.len = sizeof(garbage);
                size_t n = hako__ttrpc__request__pack(&req, buf);
                is_int(ttrpc_write_frame(c.fd, 9, TTRPC_TYPE_REQUEST, 0, buf, n), 0,
                       "State, garbage payload");
                is_int(ttrpc_write_frame(c.fd, 11, TTRPC_TYPE_REQUEST, 0, "\x0a\xff", 2), 0,
                       "a request envelope that does not decode");
        }
        pump(s);
        is_int(client_response(&c, &stream, &resp), TTRPC_INVALID_ARGUMENT,
               "an undecodable payload is INVALID_ARGUMENT");
        ok(stream == 9 && resp && strstr(resp->status->message, "undecodable"), "  saying so: %s",
           resp ? resp->status->message : "");
        is_int(client_response(&c, &stream, &resp), TTRPC_INVALID_ARGUMENT,
               "an undecodable request is INVALID_ARGUMENT");
        is_int(stream, 11, "  on its stream");

        /* An oversized frame is answered and skipped; the connection goes on. */
        ttrpc_header_pack(hdr, TEST_MAX_FRAME + 1, 13, TTRPC_TYPE_REQUEST, 0);
        ok(write(c.fd, hdr, sizeof(hdr)) == sizeof(hdr) && big &&
               write(c.fd, big, TEST_MAX_FRAME + 1) == TEST_MAX_FRAME + 1,
           "a frame one byte over the server's limit");
        send_state(&c, 15, SHIM_SERVICE, "State");
        pump(s);
        pump(s);
        is_int(client_response(&c, &stream, &resp), TTRPC_RESOURCE_EXHAUSTED,
               "an oversized frame is RESOURCE_EXHAUSTED");
        is_int(stream, 13, "  on its stream");
        is_int(client_response(&c, &stream, &resp), TTRPC_OK, "and the next request is served");
        is_int(stream, 15, "  on its stream");

        /* A reply later, while the client is there. */
        is_int(ttrpc_send_request(c.fd, 17, SHIM_SERVICE, "Wait", NULL, 0), 0, "send Wait");
        pump(s);
        ok(sv.have_kept, "Wait's handler kept the call");
        is_int(client_response(&c, &stream, &resp), -1, "nothing answered yet");
        ok(ttrpc_call_alive(&sv.kept), "the kept call is alive");
        {
                Containerd__Task__V2__WaitResponse w = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
                w.exit_status = 3;
                is_int(ttrpc_reply(&sv.kept, TTRPC_OK, NULL, &w.base), 0, "answer it later");
        }
        is_int(client_response(&c, &stream, &resp), TTRPC_OK, "the client gets the late answer");
        is_int(stream, 17, "  on its stream");

        /* A reply after the client went away. */
        sv.have_kept = false;
        ttrpc_send_request(c.fd, 19, SHIM_SERVICE, "Wait", NULL, 0);
        pump(s);
        ok(sv.have_kept, "another Wait kept");
        client_done(&c);
        pump(s);
        is_int(ttrpc_server_connections(s), 0, "the client closed: no connection");
        ok(!ttrpc_call_alive(&sv.kept), "the kept call is dead");
        is_int(ttrpc_reply(&sv.kept, TTRPC_OK, NULL, NULL), -ENOTCONN, "answering it is -ENOTCONN");

        /* Frames a client must not send close the connection. */
        static const struct {
                uint32_t stream;
                uint8_t type;
                const char *what;
        } bad[] = {
            {21, TTRPC_TYPE_RESPONSE, "a response frame (type 2)"},
            {22, TTRPC_TYPE_REQUEST, "a request on an even stream"},
            {23, TTRPC_TYPE_DATA, "a data frame (type 3)"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct ttrpc_frame f;
                unsigned calls = sv.calls;

                if (!ok(client_connect(s, &c) == 0, "new connection"))
                        break;
                ttrpc_write_frame(c.fd, bad[i].stream, bad[i].type, 0, NULL, 0);
                send_state(&c, 25, SHIM_SERVICE, "State");
                pump(s);
                is_int(ttrpc_server_connections(s), 0, "%s closes the connection", bad[i].what);
                is_int(client_frame(&c, &f), 0, "  unanswered: the client reads EOF");
                is_int(sv.calls, calls, "  and nothing after it is served");
                client_done(&c);
        }
out:
        client_done(&c);
        ttrpc_server_free(s);
}

int main(void)
{
        /* A write to a closed socket must be -EPIPE, not the end of the test. */
        signal(SIGPIPE, SIG_IGN);

        test_pod_role();
        test_join_namespaces();
        test_network_namespace();
        test_mount_options();
        test_metrics();
        test_socket_path();
        test_server();

        done_testing();
        return exit_status();
}
