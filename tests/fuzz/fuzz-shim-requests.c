/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes what containerd sends the shim: a ttRPC byte stream of containerd.task.v2.Task requests.
 *
 * Two views of the same input:
 *  - decoded by hand: the input is cut into frames by a ttrpc_reader (a small frame limit, so the
 *    -EMSGSIZE path is reached), each frame decoded as a ttRPC Request in a bounded arena and its
 *    payload as the request type shim_methods names (and, picked by the stream id, as another one so
 *    every type sees every payload); every field is walked, and what the shim computes from a request
 *    without side effects is computed: the mount flags and data of CreateTaskRequest's rootfs
 *    options, the JSON of ExecProcessRequest's spec and UpdateTaskRequest's resources (under the
 *    shim's size caps) with the pod functions run on it, the runtime options of Create;
 *  - served: the input goes through a real ttrpc_server over a socketpair, with shim_methods'
 *    request types but handlers of our own (walk, answer with an error; Wait answers later, as the
 *    shim's does) and rounds are pumped until the server has read it all.
 *
 * Invariants checked (abort on violation), besides those of walk.c:
 *  - shim_mount_options: the data is the comma-joined options that are not mount flags, -E2BIG
 *    exactly when that does not fit, the flags only MS_* flags of containerd's option words;
 *  - pod_role names the sandbox annotation for a container; pod_join_sandbox_namespaces leaves only
 *    /proc/GUEST/ns/NAME paths for /proc/HOST/ns/NAME ones (NAME whole, not "." or "..") or fails
 *    with a message;
 *    pod_take_network_namespace leaves no network namespace path behind;
 *  - the server: never crashes or hangs, every frame it writes is a ttRPC Response that decodes,
 *    on an odd stream (the oversized-frame answer carries the frame's own id), with one of the codes
 *    it may send; a call kept for later can be answered while its connection lives, and is
 *    -ENOTCONN once it is gone. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
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
#include "mount.h"
#include "pod.h"
#include "pollset.h"
#include "task.h"
#include "ttrpc-server.h"
#include "ttrpc.h"
#include "walk.h"

#define FUZZ_MAX_FRAME (64u << 10)
#define FUZZ_ARENA     (1u << 20)
/* The served connection: a small frame limit so oversized frames are skipped often. */
#define SERVER_MAX_FRAME (8u << 10)
#define SERVER_ARENA     (256u << 10)
/* Bytes sent per round: few enough frames that their answers fit the socket buffer. */
#define SERVER_CHUNK 1024
#define MAX_KEPT     8
/* The shim's caps: an exec's process JSON (service.c), an update's resources. */
#define EXEC_SPEC_MAX (256u << 10)
/* The pids pod_join_sandbox_namespaces maps between (the dictionary knows /proc/13/ns/). */
#define HOST_PID  13
#define GUEST_PID 7

#define MOUNT_FLAGS                                                                                          \
        (MS_SYNCHRONOUS | MS_NOATIME | MS_BIND | MS_NODEV | MS_NODIRATIME | MS_DIRSYNC | MS_NOEXEC |         \
         MS_MANDLOCK | MS_RELATIME | MS_STRICTATIME | MS_NOSUID | MS_REC | MS_REMOUNT | MS_RDONLY)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct arena arena, scratch;

static const struct ttrpc_method *shim_method_find(const char *name)
{
        for (size_t i = 0; i < shim_n_methods; i++)
                if (!strcmp(shim_methods[i].name, name))
                        return &shim_methods[i];
        return NULL;
}

/* A word is a mount flag when it alone leaves no data (the empty word is data: "a,,b"). */
static bool mount_flag_word(const char *o)
{
        char data[64];
        unsigned long f;
        char *const one[] = {(char *)o};

        if (!*o || strlen(o) >= sizeof(data) - 1)
                return false;
        CHECK(shim_mount_options(one, 1, &f, data, sizeof(data)) == 0);
        CHECK((f & ~(unsigned long)MOUNT_FLAGS) == 0);
        return data[0] == 0;
}

static void check_mount_options(char *const *options, size_t n, size_t size)
{
        _cleanup_free_ char *data = malloc(size), *want = NULL;
        size_t len = 0;
        unsigned long f = 0;
        int r;

        CHECK(data);
        /* The data it should give: the words that are no flag, comma-joined. */
        for (size_t i = 0; i < n; i++)
                if (!mount_flag_word(options[i]))
                        len += strlen(options[i]) + 1;
        want = malloc(len + 1);
        CHECK(want);
        want[0] = 0;
        len = 0;
        for (size_t i = 0; i < n; i++) {
                if (mount_flag_word(options[i]))
                        continue;
                size_t k = strlen(options[i]);
                if (len)
                        want[len++] = ',';
                memcpy(want + len, options[i], k + 1);
                len += k;
        }

        r = shim_mount_options(options, n, &f, data, size);
        if (r == 0) {
                CHECK(len < size);
                CHECK(!strcmp(data, want));
                CHECK((f & ~(unsigned long)MOUNT_FLAGS) == 0);
        } else {
                CHECK(r == -E2BIG);
                CHECK(len + 1 >= size);
        }
}

/* The path of the spec's i-th namespace (NULL: none or not a string), and its type. */
static const char *ns_path(json_t *spec, size_t i, const char **ret_type)
{
        json_t *ns = json_array_get(json_object_get(json_object_get(spec, "linux"), "namespaces"), i);

        *ret_type = json_string_value(json_object_get(ns, "type"));
        return json_string_value(json_object_get(ns, "path"));
}

static void check_spec(json_t *spec)
{
        json_t *ann = json_object_get(spec, "annotations");
        const char *sandbox = NULL, *type;
        size_t n = json_array_size(json_object_get(json_object_get(spec, "linux"), "namespaces"));
        enum pod_role role = pod_role(spec, &sandbox);
        json_t *copy;
        char *err = NULL, *netns = NULL, prefix[32], host[32];
        bool new_netns;
        int r;

        CHECK(role == POD_STANDALONE || role == POD_SANDBOX || role == POD_CONTAINER);
        if (role == POD_CONTAINER)
                CHECK(sandbox && *sandbox &&
                      !strcmp(sandbox, json_string_value(json_object_get(ann, POD_SANDBOX_ANNOTATION))));

        copy = json_deep_copy(spec);
        CHECK(copy);
        r = pod_join_sandbox_namespaces(copy, HOST_PID, GUEST_PID, &err);
        if (r == 0) {
                CHECK(!err);
                snprintf(prefix, sizeof(prefix), "/proc/%u/ns/", GUEST_PID);
                snprintf(host, sizeof(host), "/proc/%u/ns/", HOST_PID);
                for (size_t i = 0; i < n; i++) {
                        const char *p = ns_path(copy, i, &type), *was = ns_path(spec, i, &type), *name;
                        if (!p || !*p)
                                continue;
                        /* The same namespace of the sandbox, by its guest pid: nothing else. */
                        CHECK(!strncmp(p, prefix, strlen(prefix)));
                        name = p + strlen(prefix);
                        CHECK(*name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
                              strcmp(name, "..") != 0);
                        CHECK(was && !strncmp(was, host, strlen(host)) && !strcmp(was + strlen(host), name));
                }
        } else {
                CHECK(r == -EOPNOTSUPP);
                CHECK(err && *err);
        }
        free(err);
        json_decref(copy);

        copy = json_deep_copy(spec);
        CHECK(copy);
        r = pod_take_network_namespace(copy, &netns, &new_netns);
        size_t networks = 0;
        for (size_t i = 0; i < n; i++) {
                (void)ns_path(spec, i, &type);
                networks += type && !strcmp(type, "network");
        }
        /* Two network namespaces are refused, and nothing is handed out. */
        CHECK(r == 0 || (r == -EINVAL && networks > 1 && !netns));
        CHECK(!netns || *netns);
        for (size_t i = 0; i < n && r == 0; i++) {
                const char *p = ns_path(copy, i, &type);
                CHECK(!type || strcmp(type, "network") != 0 || !p || !*p);
        }
        free(netns);
        json_decref(copy);
}

/* JSON from containerd, as the shim reads it: at most max bytes, duplicates refused. */
static void check_json(const Google__Protobuf__Any *any, size_t max)
{
        json_t *j;

        if (!any || any->value.len == 0 || any->value.len > max)
                return;
        j = json_loadb((const char *)any->value.data, any->value.len, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(j))
                check_spec(j);
        json_decref(j);
}

static void check_create(const Containerd__Task__V2__CreateTaskRequest *req)
{
        const Google__Protobuf__Any *o = req->options;

        for (size_t i = 0; i < req->n_rootfs; i++) {
                /* The shim's page of mount data, and a small buffer so -E2BIG is reached. */
                check_mount_options(req->rootfs[i]->options, req->rootfs[i]->n_options, 4096);
                check_mount_options(req->rootfs[i]->options, req->rootfs[i]->n_options, 24);
        }
        if (o && o->type_url && strstr(o->type_url, "runtimeoptions.v1.Options"))
                (void)fuzz_decode(&runtimeoptions__v1__options__descriptor, &arena, &scratch, o->value.len,
                                  o->value.data);
}

/* Decodes a payload as d and looks at it as the shim would. */
static void check_request(const ProtobufCMessageDescriptor *d, size_t len, const uint8_t *data)
{
        size_t mark = arena.used;
        const ProtobufCMessage *m = fuzz_decode(d, &arena, &scratch, len, data);

        if (!m)
                return;
        if (d == &containerd__task__v2__create_task_request__descriptor)
                check_create((const void *)m);
        else if (d == &containerd__task__v2__exec_process_request__descriptor)
                check_json(((const Containerd__Task__V2__ExecProcessRequest *)m)->spec, EXEC_SPEC_MAX);
        else if (d == &containerd__task__v2__update_task_request__descriptor)
                check_json(((const Containerd__Task__V2__UpdateTaskRequest *)m)->resources,
                           HAKO_MAX_RESOURCES_LEN);
        /* Drop just this message: the envelope decoded before it stays valid. */
        arena.used = mark;
}

static void handle_frame(const struct ttrpc_frame *f)
{
        Hako__Ttrpc__Request *req;
        const struct ttrpc_method *m;

        arena_reset(&arena);
        req = hako__ttrpc__request__unpack(&arena.allocator, f->length, f->data);
        CHECK(arena.used <= arena.cap);
        if (!req)
                return;
        fuzz_check_repack(&req->base, fuzz_walk(&req->base, 0), &scratch);
        m = shim_method_find(req->method);
        if (m)
                check_request(m->request, req->payload.len, req->payload.data);
        check_request(shim_methods[f->stream_id % shim_n_methods].request, req->payload.len,
                      req->payload.data);
}

static void decode_frames(const uint8_t *data, size_t size)
{
        struct ttrpc_reader r;
        struct ttrpc_frame f;
        size_t off = 0;
        int k = 0;

        CHECK(ttrpc_reader_init(&r, FUZZ_MAX_FRAME) == 0);
        for (;;) {
                size_t took = ttrpc_reader_feed(&r, data + off, size - off);
                off += took;
                while ((k = ttrpc_reader_next(&r, &f)) == 1)
                        handle_frame(&f);
                if (k < 0) {
                        CHECK(k == -EMSGSIZE);
                        break;
                }
                if (off == size)
                        break;
                CHECK(took > 0);
        }
        ttrpc_reader_done(&r);
}

struct served {
        struct ttrpc_call kept[MAX_KEPT];
        unsigned n_kept;
        unsigned calls;
};

static void on_call(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *request)
{
        struct served *sv = userdata;

        (void)fuzz_walk(request, 0);
        sv->calls++;
        if (request->descriptor == &containerd__task__v2__wait_request__descriptor && sv->n_kept < MAX_KEPT) {
                sv->kept[sv->n_kept++] = *call;
                return;
        }
        CHECK(ttrpc_reply_error(call, TTRPC_FAILED_PRECONDITION, "fuzz: %s",
                                request->descriptor->short_name) == 0);
}

/* Reads what the server wrote and checks every frame of it. */
static void drain(int fd, struct ttrpc_reader *r)
{
        struct ttrpc_frame f;
        int k;

        for (;;) {
                k = ttrpc_reader_fill(r, fd);
                /* A server that hangs up on bytes it has not read yet resets the connection. */
                if (k == -EAGAIN || k == 0 || k == -ECONNRESET)
                        return;
                CHECK(k > 0);
                while ((k = ttrpc_reader_next(r, &f)) == 1) {
                        Hako__Ttrpc__Response *resp;
                        int code;

                        CHECK(f.type == TTRPC_TYPE_RESPONSE && f.flags == 0);
                        arena_reset(&scratch);
                        resp = hako__ttrpc__response__unpack(&scratch.allocator, f.length, f.data);
                        CHECK(resp && resp->status);
                        code = resp->status->code;
                        CHECK(code == TTRPC_RESOURCE_EXHAUSTED || f.stream_id % 2 == 1);
                        CHECK(code == TTRPC_OK || code == TTRPC_FAILED_PRECONDITION ||
                              code == TTRPC_UNIMPLEMENTED || code == TTRPC_INVALID_ARGUMENT ||
                              code == TTRPC_RESOURCE_EXHAUSTED);
                        if (code == TTRPC_OK)
                                CHECK(containerd__task__v2__wait_response__unpack(
                                    &scratch.allocator, resp->payload.len, resp->payload.data));
                        else
                                CHECK(resp->payload.len == 0 && resp->status->message &&
                                      *resp->status->message);
                }
                CHECK(k == 0);
        }
}

static void answer_kept(struct served *sv, bool alive)
{
        Containerd__Task__V2__WaitResponse w = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;

        w.exit_status = 137;
        for (unsigned i = 0; i < sv->n_kept; i++) {
                CHECK(ttrpc_call_alive(&sv->kept[i]) == alive);
                CHECK(ttrpc_reply(&sv->kept[i], TTRPC_OK, NULL, &w.base) == (alive ? 0 : -ENOTCONN));
        }
        sv->n_kept = 0;
}

static void serve(const uint8_t *data, size_t size)
{
        static struct ttrpc_method methods[64];
        static struct pollset ps;
        struct served sv = {0};
        struct ttrpc_server *s = NULL;
        struct ttrpc_reader r;
        _cleanup_close_ int client = -1;
        int pair[2], buf = 1 << 20;
        size_t off = 0;
        bool shut = false;

        if (!methods[0].fn) {
                CHECK(shim_n_methods <= ELEMENTSOF(methods));
                for (size_t i = 0; i < shim_n_methods; i++) {
                        methods[i] = shim_methods[i];
                        methods[i].fn = on_call;
                }
        }
        struct ttrpc_server_config cfg = {
            .listen_fd = -1,
            .methods = methods,
            .n_methods = shim_n_methods,
            .userdata = &sv,
            .max_frame = SERVER_MAX_FRAME,
            .arena_size = SERVER_ARENA,
            .max_connections = 1,
        };
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) == 0);
        client = pair[0];
        (void)setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
        CHECK(ttrpc_server_new(&cfg, &s) == 0);
        CHECK(ttrpc_server_adopt(s, pair[1]) == 0);
        CHECK(ttrpc_reader_init(&r, FUZZ_MAX_FRAME) == 0);

        for (size_t round = 0;; round++) {
                /* Every round reads what was sent: a server that stops making progress is a bug. */
                CHECK(round <= size / SERVER_CHUNK + 8);
                if (off < size) {
                        ssize_t k = send(client, data + off, MIN(size - off, (size_t)SERVER_CHUNK),
                                         MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (k > 0)
                                off += (size_t)k;
                        else if (k < 0 && errno != EAGAIN)
                                off = size; /* the server hung up */
                }
                if (off == size && !shut) {
                        (void)shutdown(client, SHUT_WR);
                        shut = true;
                }
                pollset_reset(&ps);
                ttrpc_server_poll_add(s, &ps);
                pollset_timeout(&ps, 0);
                CHECK(pollset_wait(&ps) == 0);
                drain(client, &r);
                if (ttrpc_server_connections(s) == 0)
                        break;
                /* Parked calls are answered while their client is there, now and then. */
                if (round % 2)
                        answer_kept(&sv, true);
        }
        drain(client, &r);
        answer_kept(&sv, false);
        fuzz_sink += sv.calls;
        ttrpc_reader_done(&r);
        ttrpc_server_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!arena.buf) {
                CHECK(arena_init(&arena, FUZZ_ARENA) == 0);
                CHECK(arena_init(&scratch, FUZZ_ARENA) == 0);
        }
        decode_frames(data, size);
        serve(data, size);
        return 0;
}
