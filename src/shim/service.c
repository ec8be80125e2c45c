/* SPDX-License-Identifier: Apache-2.0 */
/* The task service containerd drives the shim with (containerd.task.v2.Task). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "create.h"
#include "error.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "task.h"

#define SHIM_VERSION "hako " HAKO_VERSION " (containerd shim v2)"
/* An exec's process JSON (containerd's specs.Process). */
#define EXEC_SPEC_MAX (256u << 10)

static void reply_empty(const struct ttrpc_call *call)
{
        Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
        (void)ttrpc_reply(call, TTRPC_OK, NULL, &e.base);
}

static void reply_errno(const struct ttrpc_call *call, int r, const char *what, const char *msg)
{
        log_error("%s: %s", what, msg ? msg : strerror(-r));
        (void)ttrpc_reply(call, shim_errno_code(r), msg ? msg : strerror(-r), NULL);
}

/* Looks up id (and exec_id) or answers the call with containerd's NotFound. */
static struct shim_proc *lookup(struct shim *s, const struct ttrpc_call *call, const char *id,
                                const char *exec_id, struct shim_task **ret_task)
{
        struct shim_task *t = shim_task_find(s, id);
        struct shim_proc *p;

        if (!t) {
                ttrpc_reply_error(call, TTRPC_NOT_FOUND, "task %.100s not found", id);
                return NULL;
        }
        p = shim_task_proc(t, exec_id);
        if (!p) {
                ttrpc_reply_error(call, TTRPC_NOT_FOUND, "process %.100s does not exist", exec_id);
                return NULL;
        }
        if (ret_task)
                *ret_task = t;
        return p;
}

static void task_create(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__CreateTaskRequest *req = (const void *)m;
        Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
        Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
        Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
        _cleanup_free_ char *error = NULL;
        struct shim_task *t = NULL;
        int r;

        r = shim_create_task(s, req, &t, &error);
        if (r < 0) {
                char what[128];
                snprintf(what, sizeof(what), "create %.64s", req->id);
                reply_errno(call, r, what, error);
                return;
        }
        resp.pid = shim_task_pid(s);
        io.stdin = req->stdin;
        io.stdout = req->stdout;
        io.stderr = req->stderr;
        io.terminal = req->terminal;
        ev.container_id = t->id;
        ev.bundle = t->bundle;
        ev.n_rootfs = req->n_rootfs;
        ev.rootfs = req->rootfs;
        ev.io = &io;
        ev.checkpoint = (char *)"";
        ev.pid = resp.pid;
        (void)publisher_send(s->pub, "/tasks/create", &ev.base);
        (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
}

static int start_exec(struct shim *s, struct shim_task *t, struct shim_proc *p, char **ret_error)
{
        /* The paths Exec stored; opening fills io afresh (with copies of them). */
        _cleanup_free_ char *in = TAKE_PTR(p->io.stdin_path), *out = TAKE_PTR(p->io.stdout_path),
                            *err = TAKE_PTR(p->io.stderr_path);
        struct process *rp;
        int r;

        r = shim_stdio_open(&p->io, t->id, s->opts->ns, in, out, err, p->io.terminal, ret_error);
        if (r < 0)
                return r;
        r = container_exec(t->ctr, p->exec_id, p->spec, p->io.terminal, p->rows, p->columns, &rp, ret_error);
        if (r < 0)
                return r;
        rp->userdata = p;
        p->proc = rp;
        r = process_relay(rp, p->io.in, p->io.out, p->io.err, -1);
        if (r < 0) {
                (void)container_signal(t->ctr, p->exec_id, SIGKILL, false, NULL);
                return error_set(ret_error, r, "cannot relay the exec's stdio: %s", strerror(-r));
        }
        free(p->spec);
        p->spec = NULL;
        p->state = PROCESS_RUNNING;
        return 0;
}

static void task_start(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__StartRequest *req = (const void *)m;
        Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
        _cleanup_free_ char *error = NULL;
        struct shim_task *t;
        struct shim_proc *p = lookup(s, call, req->id, req->exec_id, &t);
        int r;

        if (!p)
                return;
        if (s->vm_lost) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, "the pod's VM is gone", NULL);
                return;
        }
        if (p->state != PROCESS_CREATED) {
                ttrpc_reply_error(call, TTRPC_FAILED_PRECONDITION, "process %.100s is %s",
                                  *p->exec_id ? p->exec_id : t->id,
                                  p->state == PROCESS_RUNNING ? "already started" : "stopped");
                return;
        }
        if (p == &t->init) {
                r = container_start(t->ctr, &error);
                if (r >= 0)
                        p->state = PROCESS_RUNNING;
        } else if (t->init.state != PROCESS_RUNNING) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, "the container is not running", NULL);
                return;
        } else
                r = start_exec(s, t, p, &error);
        if (r < 0) {
                reply_errno(call, r, "start", error);
                return;
        }
        resp.pid = shim_task_pid(s);
        if (p == &t->init) {
                Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
                _cleanup_free_ char *hook_error = NULL;
                ev.container_id = t->id;
                ev.pid = resp.pid;
                (void)publisher_send(s->pub, "/tasks/start", &ev.base);
                if (shim_task_hooks(s, t, "poststart", "running", &hook_error) < 0)
                        log_warning("poststart hook of %s: %s", t->id, hook_error ? hook_error : "failed");
        } else {
                Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
                ev.container_id = t->id;
                ev.exec_id = p->exec_id;
                ev.pid = resp.pid;
                (void)publisher_send(s->pub, "/tasks/exec-started", &ev.base);
        }
        (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
}

static void task_delete(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__DeleteRequest *req = (const void *)m;
        Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts;
        struct shim_task *t;
        struct shim_proc *p = lookup(s, call, req->id, req->exec_id, &t);

        if (!p)
                return;
        if (p->state == PROCESS_RUNNING && !s->vm_lost) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, "cannot delete a running process", NULL);
                return;
        }
        if (!p->exited_at_ns)
                p->exited_at_ns = realtime_ns();
        shim_timestamp(p->exited_at_ns, &ts);
        resp.pid = shim_task_pid(s);
        resp.exit_status = p->exit_status;
        resp.exited_at = &ts;
        if (p != &t->init) {
                for (struct shim_proc **pp = &t->execs; *pp; pp = &(*pp)->next)
                        if (*pp == p) {
                                *pp = p->next;
                                break;
                        }
                t->n_execs--;
                if (p->proc)
                        container_remove_exec(p->proc);
                shim_proc_done(p);
                free(p);
                (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
                return;
        }
        {
                Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
                char id[HAKO_MAX_ID_LEN + 1];
                snprintf(id, sizeof(id), "%s", t->id);
                ev.container_id = id;
                ev.pid = resp.pid;
                ev.exit_status = resp.exit_status;
                ev.exited_at = &ts;
                ev.id = (char *)"";
                /* Gone before the answer: containerd removes the snapshot under the rootfs next. */
                shim_remove_task(s, t);
                (void)publisher_send(s->pub, "/tasks/delete", &ev.base);
        }
        (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
}

static void task_exec(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__ExecProcessRequest *req = (const void *)m;
        Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
        struct shim_task *t = shim_task_find(s, req->id);
        struct shim_proc *p;
        json_t *spec;

        if (!t) {
                ttrpc_reply_error(call, TTRPC_NOT_FOUND, "task %.100s not found", req->id);
                return;
        }
        if (!ttrpc_valid_id(req->exec_id)) {
                ttrpc_reply(call, TTRPC_INVALID_ARGUMENT,
                            "invalid exec id (1-64 characters of [A-Za-z0-9_.-])", NULL);
                return;
        }
        if (shim_task_proc(t, req->exec_id)) {
                ttrpc_reply_error(call, TTRPC_ALREADY_EXISTS, "id %s: already exists", req->exec_id);
                return;
        }
        if (t->init.state != PROCESS_RUNNING || s->vm_lost) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, "the container is not running", NULL);
                return;
        }
        if (t->n_execs >= SHIM_EXECS_MAX) {
                ttrpc_reply_error(call, TTRPC_RESOURCE_EXHAUSTED, "too many exec processes (%d)",
                                  SHIM_EXECS_MAX);
                return;
        }
        if (!req->spec || req->spec->value.len == 0 || req->spec->value.len > EXEC_SPEC_MAX) {
                ttrpc_reply(call, TTRPC_INVALID_ARGUMENT, "the exec has no process spec", NULL);
                return;
        }
        spec = json_loadb((const char *)req->spec->value.data, req->spec->value.len, JSON_REJECT_DUPLICATES,
                          NULL);
        if (!json_is_object(spec) || !json_array_size(json_object_get(spec, "args"))) {
                json_decref(spec);
                ttrpc_reply(call, TTRPC_INVALID_ARGUMENT,
                            "the exec's process spec is not a process with args", NULL);
                return;
        }
        p = calloc(1, sizeof(*p));
        if (p) {
                snprintf(p->exec_id, sizeof(p->exec_id), "%s", req->exec_id);
                p->task = t;
                p->spec = json_dumps(spec, JSON_COMPACT);
                p->io = (struct shim_stdio){
                    .in = -1, .out = -1, .err = -1, .logger_pidfd = -1, .terminal = req->terminal};
                p->io.stdin_path = strdup(req->stdin);
                p->io.stdout_path = strdup(req->stdout);
                p->io.stderr_path = strdup(req->stderr);
        }
        json_decref(spec);
        if (!p || !p->spec || !p->io.stdin_path || !p->io.stdout_path || !p->io.stderr_path) {
                if (p)
                        shim_proc_done(p);
                free(p);
                ttrpc_reply(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory", NULL);
                return;
        }
        p->next = t->execs;
        t->execs = p;
        t->n_execs++;
        ev.container_id = t->id;
        ev.exec_id = p->exec_id;
        (void)publisher_send(s->pub, "/tasks/exec-added", &ev.base);
        reply_empty(call);
}

static void task_kill(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__KillRequest *req = (const void *)m;
        _cleanup_free_ char *error = NULL;
        struct shim_task *t;
        struct shim_proc *p = lookup(s, call, req->id, req->exec_id, &t);
        int r;

        if (!p)
                return;
        if (req->signal < 1 || req->signal > 64) {
                ttrpc_reply_error(call, TTRPC_INVALID_ARGUMENT, "invalid signal %u", req->signal);
                return;
        }
        /* containerd's wording: a kill after the exit is NotFound, which its callers expect. */
        if (p->state == PROCESS_EXITED || s->vm_lost) {
                ttrpc_reply(call, TTRPC_NOT_FOUND, "process already finished", NULL);
                return;
        }
        if (!p->proc) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, "process not started", NULL);
                return;
        }
        r = container_signal(t->ctr, p->exec_id, (int)req->signal, req->all, &error);
        if (r < 0) {
                reply_errno(call, r, "kill", error);
                return;
        }
        reply_empty(call);
}

static void task_pids(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__PidsRequest *req = (const void *)m;
        Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
        _cleanup_free_ Containerd__V1__Types__ProcessInfo *infos = NULL;
        _cleanup_free_ Containerd__V1__Types__ProcessInfo **pinfos = NULL;
        _cleanup_free_ char *error = NULL;
        _cleanup_free_ uint32_t *pids = NULL;
        struct shim_task *t;
        size_t n = 0;
        int r;

        if (!lookup(s, call, req->id, "", &t))
                return;
        if (t->init.state == PROCESS_EXITED || s->vm_lost) {
                (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
                return;
        }
        r = container_pids(t->ctr, &pids, &n, &error);
        if (r < 0) {
                reply_errno(call, r, "pids", error);
                return;
        }
        infos = calloc(n + 1, sizeof(*infos));
        pinfos = calloc(n + 1, sizeof(*pinfos));
        if (!infos || !pinfos) {
                ttrpc_reply(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory", NULL);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                infos[i] = (Containerd__V1__Types__ProcessInfo)CONTAINERD__V1__TYPES__PROCESS_INFO__INIT;
                infos[i].pid = pids[i];
                pinfos[i] = &infos[i];
        }
        resp.n_processes = n;
        resp.processes = pinfos;
        (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
}

static void pause_resume(struct shim *s, const struct ttrpc_call *call, const char *id, bool pause)
{
        _cleanup_free_ char *error = NULL;
        struct shim_task *t;
        int r;

        if (!lookup(s, call, id, "", &t))
                return;
        if (t->init.state != PROCESS_RUNNING || s->vm_lost) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, "the container is not running", NULL);
                return;
        }
        if (t->ctr->paused == pause) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, pause ? "already paused" : "not paused", NULL);
                return;
        }
        r = container_pause(t->ctr, pause, &error);
        if (r < 0) {
                reply_errno(call, r, pause ? "pause" : "resume", error);
                return;
        }
        if (pause) {
                Containerd__Events__TaskPaused ev = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
                ev.container_id = t->id;
                (void)publisher_send(s->pub, "/tasks/paused", &ev.base);
        } else {
                Containerd__Events__TaskResumed ev = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
                ev.container_id = t->id;
                (void)publisher_send(s->pub, "/tasks/resumed", &ev.base);
        }
        reply_empty(call);
}

static void task_pause(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        pause_resume(userdata, call, ((const Containerd__Task__V2__PauseRequest *)m)->id, true);
}

static void task_resume(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        pause_resume(userdata, call, ((const Containerd__Task__V2__ResumeRequest *)m)->id, false);
}

static void task_checkpoint(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        (void)userdata, (void)m;
        ttrpc_reply(call, TTRPC_UNIMPLEMENTED,
                    "checkpoint is not supported by hako: a container's state lives in its VM's guest kernel",
                    NULL);
}

static void task_resize_pty(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__ResizePtyRequest *req = (const void *)m;
        _cleanup_free_ char *error = NULL;
        struct shim_proc *p = lookup(s, call, req->id, req->exec_id, NULL);
        int r;

        if (!p)
                return;
        if (req->width > 65535 || req->height > 65535) {
                ttrpc_reply(call, TTRPC_INVALID_ARGUMENT, "invalid terminal size", NULL);
                return;
        }
        if (p->io.terminal && p->state == PROCESS_CREATED && !p->proc) {
                p->rows = req->height;
                p->columns = req->width;
                reply_empty(call);
                return;
        }
        if (!p->io.terminal || !p->proc || p->state != PROCESS_RUNNING || s->vm_lost) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, "the process has no terminal to resize", NULL);
                return;
        }
        r = process_resize(p->proc, req->height, req->width, &error);
        if (r < 0) {
                reply_errno(call, r, "resize", error);
                return;
        }
        reply_empty(call);
}

static void task_close_io(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__CloseIORequest *req = (const void *)m;
        struct shim_proc *p = lookup(s, call, req->id, req->exec_id, NULL);

        if (!p)
                return;
        if (req->stdin && p->proc && p->proc->relay)
                relay_close_input(p->proc->relay);
        reply_empty(call);
}

static void task_update(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__UpdateTaskRequest *req = (const void *)m;
        _cleanup_free_ char *error = NULL;
        struct shim_task *t;
        int r;

        if (!lookup(s, call, req->id, "", &t))
                return;
        if (t->init.state == PROCESS_EXITED || s->vm_lost) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, "the container is not running", NULL);
                return;
        }
        if (!req->resources || req->resources->value.len == 0 ||
            req->resources->value.len > HAKO_MAX_RESOURCES_LEN) {
                ttrpc_reply(call, TTRPC_INVALID_ARGUMENT, "no resources to update", NULL);
                return;
        }
        r = shim_update_task(s, t, (const char *)req->resources->value.data, req->resources->value.len,
                             &error);
        if (r < 0) {
                reply_errno(call, r, "update", error);
                return;
        }
        reply_empty(call);
}

static void task_wait(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__WaitRequest *req = (const void *)m;
        Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts;
        struct shim_proc *p = lookup(s, call, req->id, req->exec_id, NULL);

        if (!p)
                return;
        if (p->state == PROCESS_EXITED) {
                shim_timestamp(p->exited_at_ns, &ts);
                resp.exit_status = p->exit_status;
                resp.exited_at = &ts;
                (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
                return;
        }
        if (p->n_waiters >= SHIM_WAITERS_MAX) {
                ttrpc_reply_error(call, TTRPC_RESOURCE_EXHAUSTED, "too many waiters (%d)", SHIM_WAITERS_MAX);
                return;
        }
        p->waiters[p->n_waiters++] = *call;
}

static void task_stats(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__StatsRequest *req = (const void *)m;
        Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        Hako__Agent__V1__StatsContainerResponse *st = NULL;
        _cleanup_free_ char *error = NULL;
        _cleanup_free_ uint8_t *packed = NULL;
        struct shim_task *t;
        struct arena arena;
        int r;

        if (!lookup(s, call, req->id, "", &t))
                return;
        if (s->vm_lost) {
                ttrpc_reply(call, TTRPC_FAILED_PRECONDITION, "the pod's VM is gone", NULL);
                return;
        }
        r = arena_init(&arena, 128 * 1024);
        if (r < 0) {
                reply_errno(call, r, "stats", NULL);
                return;
        }
        r = container_stats(t->ctr, &arena, &st, &error);
        if (r >= 0)
                r = shim_metrics_pack(st, &packed, &any.value.len);
        arena_done(&arena);
        if (r < 0) {
                reply_errno(call, r, "stats", error);
                return;
        }
        any.type_url = (char *)SHIM_METRICS_TYPE_URL;
        any.value.data = packed;
        resp.stats = &any;
        (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
}

static void task_connect(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;

        (void)m;
        resp.shim_pid = (uint32_t)getpid();
        resp.task_pid = shim_task_pid(s);
        resp.version = (char *)SHIM_VERSION;
        (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
}

static void task_shutdown(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__ShutdownRequest *req = (const void *)m;

        /* The pod's other tasks keep it (and the shim) alive. */
        if (s->n_tasks == 0 || req->now)
                s->exiting = true;
        reply_empty(call);
}

static void task_state(void *userdata, const struct ttrpc_call *call, const ProtobufCMessage *m)
{
        struct shim *s = userdata;
        const Containerd__Task__V2__StateRequest *req = (const void *)m;
        Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts;
        struct shim_task *t;
        struct shim_proc *p = lookup(s, call, req->id, req->exec_id, &t);

        if (!p)
                return;
        resp.id = *p->exec_id ? p->exec_id : t->id;
        resp.exec_id = p->exec_id;
        resp.bundle = t->bundle;
        resp.pid = shim_task_pid(s);
        switch (p->state) {
        case PROCESS_CREATED:
                resp.status = CONTAINERD__V1__TYPES__STATUS__CREATED;
                break;
        case PROCESS_RUNNING:
                resp.status = p == &t->init && t->ctr && t->ctr->paused
                                  ? CONTAINERD__V1__TYPES__STATUS__PAUSED
                                  : CONTAINERD__V1__TYPES__STATUS__RUNNING;
                break;
        case PROCESS_EXITED:
                resp.status = CONTAINERD__V1__TYPES__STATUS__STOPPED;
                break;
        }
        resp.stdin = p->io.stdin_path ? p->io.stdin_path : (char *)"";
        resp.stdout = p->io.stdout_path ? p->io.stdout_path : (char *)"";
        resp.stderr = p->io.stderr_path ? p->io.stderr_path : (char *)"";
        resp.terminal = p->io.terminal;
        resp.exit_status = p->exit_status;
        shim_timestamp(p->exited_at_ns, &ts);
        resp.exited_at = &ts;
        (void)ttrpc_reply(call, TTRPC_OK, NULL, &resp.base);
}

#define METHOD(name, type, fn)                                                                               \
        {                                                                                                    \
                SHIM_SERVICE, name, &containerd__task__v2__##type##__descriptor, fn                          \
        }

const struct ttrpc_method shim_methods[] = {
    METHOD("State", state_request, task_state),
    METHOD("Create", create_task_request, task_create),
    METHOD("Start", start_request, task_start),
    METHOD("Delete", delete_request, task_delete),
    METHOD("Pids", pids_request, task_pids),
    METHOD("Pause", pause_request, task_pause),
    METHOD("Resume", resume_request, task_resume),
    METHOD("Checkpoint", checkpoint_task_request, task_checkpoint),
    METHOD("Kill", kill_request, task_kill),
    METHOD("Exec", exec_process_request, task_exec),
    METHOD("ResizePty", resize_pty_request, task_resize_pty),
    METHOD("CloseIO", close_iorequest, task_close_io),
    METHOD("Update", update_task_request, task_update),
    METHOD("Wait", wait_request, task_wait),
    METHOD("Stats", stats_request, task_stats),
    METHOD("Connect", connect_request, task_connect),
    METHOD("Shutdown", shutdown_request, task_shutdown),
};
const size_t shim_n_methods = ELEMENTSOF(shim_methods);
