/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent.pb-c.h"
#include "arena.h"
#include "log.h"
#include "macro.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"

/* ttRPC over the host connection: framing, dispatch, and requests parked until a process makes
 * progress. */

enum pending_kind {
        PENDING_WAIT,
        PENDING_READ_OUT,
        PENDING_READ_ERR,
        PENDING_WRITE,
        PENDING_OOM,
        PENDING_DNS
};

struct pending {
        struct agent_process *process; /* NULL for PENDING_OOM, PENDING_DNS */
        uint8_t *data;                 /* writes: a copy, the request's arena is reused */
        size_t data_len;
        uint32_t stream_id;
        uint32_t len; /* reads: most bytes to return */
        enum pending_kind kind;
        bool used;
};

static struct pending pending[HAKO_MAX_PENDING];
static struct ttrpc_reader reader;
static struct arena arena;
static uint8_t stream_buf[HAKO_MAX_STREAM_CHUNK];
static struct agent_watch conn = {.fd = -1}, listener = {.fd = -1}, timer = {.fd = -1};
static bool conn_serial;
/* OOM kills not asked for yet (GetOOMEvent), oldest first. */
static char oom_queue[HAKO_MAX_OOM_EVENTS][HAKO_MAX_ID_LEN + 1];
static unsigned oom_head, oom_len;
static uint64_t skip_bytes; /* rest of an oversized frame still to be dropped */

static void reply(uint32_t sid, int code, const char *message, const ProtobufCMessage *payload)
{
        int r;

        if (conn.fd < 0)
                return;
        r = ttrpc_send_response(conn.fd, sid, code, message, payload);
        if (r < 0)
                log_debug_errno(r, "sending response on stream %u: %m", sid);
}

static void reply_errno(uint32_t sid, int r, const char *what)
{
        char msg[256];
        int code;

        switch (r) {
        case -ENOENT:
        case -ESRCH:
                code = TTRPC_NOT_FOUND;
                break;
        case -EEXIST:
                code = TTRPC_ALREADY_EXISTS;
                break;
        case -EINVAL:
        case -EPROTONOSUPPORT:
        case -ENAMETOOLONG:
                code = TTRPC_INVALID_ARGUMENT;
                break;
        case -ENOSPC:
                code = TTRPC_RESOURCE_EXHAUSTED;
                break;
        case -EACCES:
        case -EPERM:
                code = TTRPC_PERMISSION_DENIED;
                break;
        default:
                code = TTRPC_INTERNAL;
        }
        snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-r));
        log_debug("stream %u: %s", sid, msg);
        reply(sid, code, msg, NULL);
}

static void pending_free(struct pending *pd)
{
        free(pd->data);
        *pd = (struct pending){0};
}

static void pending_update_watches(struct agent_process *p)
{
        bool out = false, err = false, in = false;

        if (!p)
                return;
        for (size_t i = 0; i < HAKO_MAX_PENDING; i++) {
                if (!pending[i].used || pending[i].process != p)
                        continue;
                out |= pending[i].kind == PENDING_READ_OUT;
                err |= pending[i].kind == PENDING_READ_ERR;
                in |= pending[i].kind == PENDING_WRITE;
        }
        agent_process_update_watches(p, out, err, in);
}

static void reply_oom(uint32_t sid)
{
        Hako__Agent__V1__GetOOMEventResponse resp = HAKO__AGENT__V1__GET_OOMEVENT_RESPONSE__INIT;

        resp.container_id = oom_queue[oom_head];
        reply(sid, TTRPC_OK, NULL, &resp.base);
        oom_head = (oom_head + 1) % HAKO_MAX_OOM_EVENTS;
        oom_len--;
}

static void reply_wait(uint32_t sid, struct agent_process *p)
{
        Hako__Agent__V1__WaitProcessResponse resp = HAKO__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;

        /* An init killed by the OOM killer: the OOM event goes out first, as the host reports
         * it before the exit. */
        if (!*p->exec_id)
                agent_oom_check(p->container);

        resp.exit_code = p->exit_signal ? 0 : p->exit_code;
        resp.signal = p->exit_signal;
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void reply_data(uint32_t sid, const void *data, size_t len)
{
        Hako__Agent__V1__ReadStreamResponse resp = HAKO__AGENT__V1__READ_STREAM_RESPONSE__INIT;

        resp.data.data = (uint8_t *)data;
        resp.data.len = len;
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void reply_written(uint32_t sid, size_t len)
{
        Hako__Agent__V1__WriteStreamResponse resp = HAKO__AGENT__V1__WRITE_STREAM_RESPONSE__INIT;

        resp.len = (uint32_t)len;
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

/* Returns true when the request was answered. */
static bool try_read(uint32_t sid, struct agent_process *p, bool err, uint32_t len)
{
        ssize_t n = agent_process_read(p, err, stream_buf, len);

        if (n == -EAGAIN)
                return false;
        reply_data(sid, stream_buf, n > 0 ? (size_t)n : 0);
        return true;
}

static bool try_write(uint32_t sid, struct agent_process *p, const void *data, size_t len)
{
        ssize_t n;

        if (len == 0) {
                reply_written(sid, 0);
                return true;
        }
        n = agent_process_write(p, data, len);
        if (n == -EAGAIN && !p->exited)
                return false;
        if (n < 0) {
                reply(sid, TTRPC_FAILED_PRECONDITION, n == -EAGAIN ? "process exited" : "stdin is closed",
                      NULL);
                return true;
        }
        reply_written(sid, (size_t)n);
        return true;
}

static bool reply_dns_query(uint32_t sid)
{
        Hako__Agent__V1__NextDNSQueryResponse resp = HAKO__AGENT__V1__NEXT_DNSQUERY_RESPONSE__INIT;
        const uint8_t *server, *data;
        size_t server_len, len;

        if (!agent_dns_next(&resp.id, &server, &server_len, &data, &len))
                return false;
        resp.nameserver.data = (uint8_t *)server;
        resp.nameserver.len = server_len;
        resp.query.data = (uint8_t *)data;
        resp.query.len = len;
        reply(sid, TTRPC_OK, NULL, &resp.base);
        return true;
}

static bool pending_try(struct pending *pd)
{
        switch (pd->kind) {
        case PENDING_WAIT:
                if (!pd->process->exited)
                        return false;
                reply_wait(pd->stream_id, pd->process);
                return true;
        case PENDING_READ_OUT:
        case PENDING_READ_ERR:
                return try_read(pd->stream_id, pd->process, pd->kind == PENDING_READ_ERR, pd->len);
        case PENDING_WRITE:
                return try_write(pd->stream_id, pd->process, pd->data, pd->data_len);
        case PENDING_OOM:
                if (!oom_len)
                        return false;
                reply_oom(pd->stream_id);
                return true;
        case PENDING_DNS:
                return reply_dns_query(pd->stream_id);
        }
        return true;
}

/* What process.c reports: data, room or an exit for p. */
static void on_process_changed(struct agent_process *p)
{
        for (size_t i = 0; i < HAKO_MAX_PENDING; i++)
                if (pending[i].used && pending[i].process == p && pending_try(&pending[i]))
                        pending_free(&pending[i]);
        pending_update_watches(p);
}

/* What oom.c reports: an OOM kill in c. */
static void on_oom(struct agent_container *c)
{
        if (oom_len == HAKO_MAX_OOM_EVENTS) {
                /* Nobody asks: keep the newest. */
                oom_head = (oom_head + 1) % HAKO_MAX_OOM_EVENTS;
                oom_len--;
        }
        snprintf(oom_queue[(oom_head + oom_len) % HAKO_MAX_OOM_EVENTS], HAKO_MAX_ID_LEN + 1, "%s", c->id);
        oom_len++;
        for (size_t i = 0; i < HAKO_MAX_PENDING && oom_len; i++)
                if (pending[i].used && pending[i].kind == PENDING_OOM) {
                        reply_oom(pending[i].stream_id);
                        pending_free(&pending[i]);
                }
}

/* Answers every request parked on p (or on every process of c when p is NULL). */
static void drop_parked(struct agent_container *c, struct agent_process *p)
{
        for (size_t i = 0; i < HAKO_MAX_PENDING; i++) {
                struct pending *pd = &pending[i];
                if (!pd->used || !pd->process || pd->process->container != c || (p && pd->process != p))
                        continue;
                if (pd->kind == PENDING_WAIT && pd->process->exited)
                        reply_wait(pd->stream_id, pd->process);
                else if (pd->kind == PENDING_READ_OUT || pd->kind == PENDING_READ_ERR)
                        reply_data(pd->stream_id, NULL, 0);
                else
                        reply(pd->stream_id, TTRPC_NOT_FOUND, p ? "process removed" : "container removed",
                              NULL);
                pending_free(pd);
        }
}

/* c goes away: what waits on it is answered first. */
static void remove_container(struct agent_container *c)
{
        drop_parked(c, NULL);
        for (struct agent_process *p = c->processes; p; p = p->next)
                agent_process_update_watches(p, false, false, false);
        agent_container_remove(c);
}

static bool stream_parked(uint32_t sid)
{
        for (size_t i = 0; i < HAKO_MAX_PENDING; i++)
                if (pending[i].used && pending[i].stream_id == sid)
                        return true;
        return false;
}

static struct pending *park(uint32_t sid, enum pending_kind kind, struct agent_process *p)
{
        for (size_t i = 0; i < HAKO_MAX_PENDING; i++) {
                if (pending[i].used)
                        continue;
                pending[i] = (struct pending){.used = true, .stream_id = sid, .kind = kind, .process = p};
                return &pending[i];
        }
        reply(sid, TTRPC_RESOURCE_EXHAUSTED, "too many pending requests", NULL);
        return NULL;
}

/* Looks up container_id/exec_id, answering the request itself when they are bad. */
static struct agent_process *lookup_process(uint32_t sid, const char *container_id, const char *exec_id)
{
        struct agent_container *c;
        struct agent_process *p;

        if (!ttrpc_valid_id(container_id) || (exec_id && *exec_id && !ttrpc_valid_id(exec_id))) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "invalid id", NULL);
                return NULL;
        }
        c = agent_container_find(container_id);
        p = agent_process_find(c, exec_id ? exec_id : "");
        if (!p) {
                reply(sid, TTRPC_NOT_FOUND, c ? "no such process" : "no such container", NULL);
                return NULL;
        }
        return p;
}

static struct agent_container *lookup_container(uint32_t sid, const char *container_id)
{
        struct agent_container *c;

        if (!ttrpc_valid_id(container_id)) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "invalid container id", NULL);
                return NULL;
        }
        c = agent_container_find(container_id);
        if (!c)
                reply(sid, TTRPC_NOT_FOUND, "no such container", NULL);
        return c;
}

static void handle_health(uint32_t sid, const ProtobufCMessage *m)
{
        Hako__Agent__V1__HealthResponse resp = HAKO__AGENT__V1__HEALTH_RESPONSE__INIT;
        struct utsname u;
        struct timespec ts;

        (void)m;
        uname(&u);
        clock_gettime(CLOCK_BOOTTIME, &ts);
        resp.agent_version = (char *)HAKO_VERSION;
        resp.protocol = HAKO_AGENT_PROTOCOL;
        resp.kernel_release = u.release;
        resp.boot_time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        {
                const uint8_t *rnd = (const uint8_t *)getauxval(AT_RANDOM);
                uint64_t a = 0, b = 0;
                if (rnd) {
                        memcpy(&a, rnd, 8);
                        memcpy(&b, rnd + 8, 8);
                }
                /* Mixed, not the canary itself. */
                resp.exec_instance = (a ^ (b * 0x9e3779b97f4a7c15ull)) | 1;
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_create_sandbox(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__CreateSandboxRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        int r;

        if (req->n_storages > 16 || strlen(req->hostname) > 64) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "too many storages or hostname too long", NULL);
                return;
        }
        if (req->realtime_ns) {
                struct timespec ts = {.tv_sec = (time_t)(req->realtime_ns / 1000000000ull),
                                      .tv_nsec = (long)(req->realtime_ns % 1000000000ull)};
                if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
                        reply_errno(sid, negative_errno(), "setting the clock");
                        return;
                }
        }
        if (req->entropy.len) {
                r = agent_sandbox_add_entropy(req->entropy.data, req->entropy.len);
                if (r < 0) {
                        reply_errno(sid, r, "reseeding the random number generator");
                        return;
                }
        }
        if (req->rescan_pci) {
                r = agent_sandbox_rescan_pci();
                if (r < 0) {
                        reply_errno(sid, r, "rescanning the PCI bus");
                        return;
                }
        }
        if (*req->hostname && sethostname(req->hostname, strlen(req->hostname)) < 0) {
                reply_errno(sid, negative_errno(), "setting the hostname");
                return;
        }
        for (size_t i = 0; i < req->n_storages; i++) {
                const Hako__Agent__V1__Storage *s = req->storages[i];
                char what[300];

                if (s->n_options > 16) {
                        reply(sid, TTRPC_INVALID_ARGUMENT, "too many storage options", NULL);
                        return;
                }
                r = agent_sandbox_mount_storage(s->driver, s->source, s->mount_point, s->options,
                                                s->n_options);
                if (r < 0) {
                        snprintf(what, sizeof(what), "mounting %.64s on %.200s", s->source, s->mount_point);
                        {
                                reply_errno(sid, r, what);
                                return;
                        }
                }
        }

        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_destroy_sandbox(uint32_t sid, const ProtobufCMessage *m)
{
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;

        (void)m;
        while (agent_container_first())
                remove_container(agent_container_first());
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_create_container(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__CreateContainerRequest *req = (const void *)m;
        Hako__Agent__V1__CreateContainerResponse resp = HAKO__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
        struct agent_crun_error err = {0};
        struct agent_container *c;

        if (!ttrpc_valid_id(req->container_id) || !*req->oci_spec || !req->rootfs || !*req->rootfs->source ||
            req->rows > 65535 || req->columns > 65535) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "invalid CreateContainer request", NULL);
                return;
        }
        if (req->n_net_sysctls > HAKO_MAX_NET_SYSCTLS) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "too many sysctls", NULL);
                return;
        }
        for (size_t i = 0; i < req->n_net_sysctls; i++) {
                int r = agent_network_sysctl(req->net_sysctls[i]->key, req->net_sysctls[i]->value);
                if (r < 0) {
                        char what[96];
                        snprintf(what, sizeof(what), "sysctl %.64s", req->net_sysctls[i]->key);
                        reply_errno(sid, r, what);
                        return;
                }
        }
        struct agent_container_opts o = {
            .rootfs_source = req->rootfs->source,
            .overlay = req->rootfs->overlay,
            .readonly = req->rootfs->readonly,
            .terminal = req->terminal,
            .rows = req->rows,
            .columns = req->columns,
            .delegate_cgroup = req->delegate_cgroup,
            .scratch_dirs = req->scratch_dirs,
            .n_scratch_dirs = req->n_scratch_dirs,
        };
        if (agent_container_create(req->container_id, req->oci_spec, &o, &err, &c) < 0) {
                log_debug("CreateContainer %s: %s", req->container_id, err.message);
                reply(sid, err.code, err.message, NULL);
                return;
        }
        agent_oom_watch(c);
        resp.pid = (uint32_t)agent_process_find(c, "")->pid;
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_start_container(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__StartContainerRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        struct agent_crun_error err = {0};
        struct agent_container *c = lookup_container(sid, req->container_id);

        if (!c)
                return;
        if (agent_container_start(c, &err) < 0) {
                log_debug("StartContainer %s: %s", req->container_id, err.message);
                reply(sid, err.code, err.message, NULL);
                return;
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_remove_container(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__RemoveContainerRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        struct agent_container *c = lookup_container(sid, req->container_id);

        if (!c)
                return;
        remove_container(c);
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_exec_process(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__ExecProcessRequest *req = (const void *)m;
        Hako__Agent__V1__ExecProcessResponse resp = HAKO__AGENT__V1__EXEC_PROCESS_RESPONSE__INIT;
        struct agent_crun_error err = {0};
        struct agent_container *c;
        struct agent_process *p;

        if (!ttrpc_valid_id(req->exec_id) || !*req->process || req->rows > 65535 || req->columns > 65535) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "invalid ExecProcess request", NULL);
                return;
        }
        c = lookup_container(sid, req->container_id);
        if (!c)
                return;
        if (agent_container_exec(c, req->exec_id, req->process, req->terminal, req->rows, req->columns, &err,
                                 &p) < 0) {
                log_debug("ExecProcess %s/%s: %s", req->container_id, req->exec_id, err.message);
                reply(sid, err.code, err.message, NULL);
                return;
        }
        resp.pid = (uint32_t)p->pid;
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_remove_process(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__RemoveProcessRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        struct agent_process *p;

        if (!*req->exec_id) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "the init process goes with its container", NULL);
                return;
        }
        p = lookup_process(sid, req->container_id, req->exec_id);
        if (!p)
                return;
        if (!p->exited) {
                reply(sid, TTRPC_FAILED_PRECONDITION, "process is running", NULL);
                return;
        }
        drop_parked(p->container, p);
        agent_process_forget(p);
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_signal_process(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__SignalProcessRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        struct agent_process *p;

        if (req->signal < 1 || req->signal > 64) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "invalid signal", NULL);
                return;
        }
        p = lookup_process(sid, req->container_id, req->exec_id);
        if (!p)
                return;
        if (req->all)
                agent_process_kill_all(p->container, (int)req->signal);
        /* An exited pid may already belong to someone else. */
        else if (!p->exited && kill(p->pid, (int)req->signal) < 0 && errno != ESRCH) {
                reply_errno(sid, negative_errno(), "kill");
                return;
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_wait_process(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__WaitProcessRequest *req = (const void *)m;
        struct agent_process *p = lookup_process(sid, req->container_id, req->exec_id);

        if (!p)
                return;
        if (p->exited)
                reply_wait(sid, p);
        else
                park(sid, PENDING_WAIT, p);
}

static void handle_write_stdin(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__WriteStreamRequest *req = (const void *)m;
        struct agent_process *p;
        struct pending *pd;

        if (req->data.len > HAKO_MAX_STREAM_CHUNK) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "chunk too large", NULL);
                return;
        }
        p = lookup_process(sid, req->container_id, req->exec_id);
        if (!p || try_write(sid, p, req->data.data, req->data.len))
                return;
        pd = park(sid, PENDING_WRITE, p);
        if (!pd)
                return;
        pd->data = malloc(req->data.len);
        if (!pd->data) {
                pending_free(pd);
                reply(sid, TTRPC_RESOURCE_EXHAUSTED, "out of memory", NULL);
                return;
        }
        memcpy(pd->data, req->data.data, req->data.len);
        pd->data_len = req->data.len;
        pending_update_watches(p);
}

static void handle_close_stdin(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__CloseStdinRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        struct agent_process *p = lookup_process(sid, req->container_id, req->exec_id);

        if (!p)
                return;
        for (size_t i = 0; i < HAKO_MAX_PENDING; i++)
                if (pending[i].used && pending[i].process == p && pending[i].kind == PENDING_WRITE) {
                        reply(pending[i].stream_id, TTRPC_FAILED_PRECONDITION, "stdin closed", NULL);
                        pending_free(&pending[i]);
                }
        agent_process_close_stdin(p);
        pending_update_watches(p);
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_read(uint32_t sid, const ProtobufCMessage *m, bool err)
{
        const Hako__Agent__V1__ReadStreamRequest *req = (const void *)m;
        struct agent_process *p = lookup_process(sid, req->container_id, req->exec_id);
        uint32_t len = req->len == 0 || req->len > HAKO_MAX_STREAM_CHUNK ? HAKO_MAX_STREAM_CHUNK : req->len;
        struct pending *pd;

        if (!p || try_read(sid, p, err, len))
                return;
        pd = park(sid, err ? PENDING_READ_ERR : PENDING_READ_OUT, p);
        if (!pd)
                return;
        pd->len = len;
        pending_update_watches(p);
}

static void handle_read_stdout(uint32_t sid, const ProtobufCMessage *m)
{
        handle_read(sid, m, false);
}

static void handle_read_stderr(uint32_t sid, const ProtobufCMessage *m)
{
        handle_read(sid, m, true);
}

static void handle_tty_win_resize(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__TtyWinResizeRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        struct agent_process *p = lookup_process(sid, req->container_id, req->exec_id);
        int r;

        if (!p)
                return;
        if (req->rows > 65535 || req->columns > 65535) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "invalid window size", NULL);
                return;
        }
        r = agent_container_resize(p, req->rows, req->columns);
        if (r == -ENOTTY) {
                reply(sid, TTRPC_FAILED_PRECONDITION, "process has no terminal", NULL);
                return;
        }
        if (r < 0) {
                reply_errno(sid, r, "resizing the terminal");
                return;
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_update_container(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__UpdateContainerRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        struct agent_crun_error err = {0};
        struct agent_container *c;

        if (!*req->resources || strlen(req->resources) > HAKO_MAX_RESOURCES_LEN) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "invalid UpdateContainer request", NULL);
                return;
        }
        c = lookup_container(sid, req->container_id);
        if (!c)
                return;
        if (agent_container_update(c, req->resources, &err) < 0) {
                reply(sid, err.code, err.message, NULL);
                return;
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_stats_container(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__StatsContainerRequest *req = (const void *)m;
        Hako__Agent__V1__StatsContainerResponse resp = HAKO__AGENT__V1__STATS_CONTAINER_RESPONSE__INIT;
        Hako__Agent__V1__StatKey keys[HAKO_MAX_STAT_KEYS + 8], *pkeys[HAKO_MAX_STAT_KEYS + 8];
        Hako__Agent__V1__IoStat io[HAKO_MAX_IO_DEVICES], *pio[HAKO_MAX_IO_DEVICES];
        struct agent_container *c = lookup_container(sid, req->container_id);
        static struct agent_stats st;
        char dir[300];
        size_t k = 0;
        int r;

        if (!c)
                return;
        r = agent_process_cgroup_dir(c, dir, sizeof(dir));
        if (r >= 0)
                r = agent_stats_read(dir, &st);
        if (r < 0) {
                reply_errno(sid, r, "reading cgroup statistics");
                return;
        }
        resp.cpu_usage_usec = st.cpu_usage_usec;
        resp.cpu_user_usec = st.cpu_user_usec;
        resp.cpu_system_usec = st.cpu_system_usec;
        resp.cpu_nr_periods = st.cpu_nr_periods;
        resp.cpu_nr_throttled = st.cpu_nr_throttled;
        resp.cpu_throttled_usec = st.cpu_throttled_usec;
        resp.memory_current = st.memory_current;
        resp.memory_max = st.memory_max;
        resp.swap_current = st.swap_current;
        resp.swap_max = st.swap_max;
        resp.pids_current = st.pids_current;
        resp.pids_max = st.pids_max;
        resp.memory_stat = pkeys;
        for (size_t i = 0; i < st.n_memory_stat; i++, k++) {
                keys[k] = (Hako__Agent__V1__StatKey)HAKO__AGENT__V1__STAT_KEY__INIT;
                keys[k].key = st.memory_stat[i].key;
                keys[k].value = st.memory_stat[i].value;
                pkeys[k] = &keys[k];
        }
        resp.n_memory_stat = k;
        resp.memory_events = pkeys + k;
        for (size_t i = 0; i < st.n_memory_events; i++, k++) {
                keys[k] = (Hako__Agent__V1__StatKey)HAKO__AGENT__V1__STAT_KEY__INIT;
                keys[k].key = st.memory_events[i].key;
                keys[k].value = st.memory_events[i].value;
                pkeys[k] = &keys[k];
        }
        resp.n_memory_events = st.n_memory_events;
        for (size_t i = 0; i < st.n_io; i++) {
                io[i] = (Hako__Agent__V1__IoStat)HAKO__AGENT__V1__IO_STAT__INIT;
                io[i].major = st.io[i].major;
                io[i].minor = st.io[i].minor;
                io[i].rbytes = st.io[i].rbytes;
                io[i].wbytes = st.io[i].wbytes;
                io[i].rios = st.io[i].rios;
                io[i].wios = st.io[i].wios;
                pio[i] = &io[i];
        }
        resp.io = pio;
        resp.n_io = st.n_io;
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_list_processes(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__ListProcessesRequest *req = (const void *)m;
        Hako__Agent__V1__ListProcessesResponse resp = HAKO__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
        struct agent_container *c = lookup_container(sid, req->container_id);
        static uint32_t pids[HAKO_MAX_LIST_PIDS];
        size_t n = 0;

        if (!c)
                return;
        /* A container whose processes are all gone (its cgroup too) has none. */
        if (agent_process_list(c, pids, ELEMENTSOF(pids), &n) < 0)
                n = 0;
        resp.pids = pids;
        resp.n_pids = n;
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_pause_container(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__PauseContainerRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        struct agent_container *c = lookup_container(sid, req->container_id);
        struct agent_crun_error err = {0};

        if (!c)
                return;
        if (agent_container_pause(c, req->pause, &err) < 0) {
                reply(sid, err.code, err.message, NULL);
                return;
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_online_resources(uint32_t sid, const ProtobufCMessage *m)
{
        Hako__Agent__V1__OnlineResourcesResponse resp = HAKO__AGENT__V1__ONLINE_RESOURCES_RESPONSE__INIT;
        int r;

        (void)m;
        r = agent_sandbox_online(&resp.cpus, &resp.memory_mib);
        if (r < 0) {
                reply_errno(sid, r, "onlining CPUs and memory");
                return;
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_configure_interface(uint32_t sid, const ProtobufCMessage *m)
{
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        char err[256];
        int r = agent_network_configure((const void *)m, err, sizeof(err));

        if (r < 0) {
                log_debug("ConfigureInterface: %s", err);
                reply(sid,
                      r == -EINVAL   ? TTRPC_INVALID_ARGUMENT
                      : r == -ENODEV ? TTRPC_NOT_FOUND
                                     : TTRPC_INTERNAL,
                      err, NULL);
                return;
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_get_oom_event(uint32_t sid, const ProtobufCMessage *m)
{
        (void)m;
        if (oom_len)
                reply_oom(sid);
        else
                park(sid, PENDING_OOM, NULL);
}

/* dns.c has queries: they go to the host's waiting NextDNSQuery calls. */
static void on_dns_queued(void)
{
        for (size_t i = 0; i < HAKO_MAX_PENDING; i++)
                if (pending[i].used && pending[i].kind == PENDING_DNS && pending_try(&pending[i]))
                        pending_free(&pending[i]);
}

static void handle_start_dns_relay(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__StartDNSRelayRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;

        if (req->n_nameservers > HAKO_MAX_DNS_SERVERS) {
                reply(sid, TTRPC_INVALID_ARGUMENT, "too many nameservers", NULL);
                return;
        }
        for (size_t i = 0; i < req->n_nameservers; i++) {
                int r = agent_dns_listen(req->nameservers[i].data, req->nameservers[i].len);
                if (r < 0) {
                        reply_errno(sid, r, "listening for DNS queries");
                        return;
                }
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

static void handle_next_dns_query(uint32_t sid, const ProtobufCMessage *m)
{
        (void)m;
        if (!reply_dns_query(sid))
                park(sid, PENDING_DNS, NULL);
}

static void handle_answer_dns_query(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__AnswerDNSQueryRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        int r = agent_dns_answer(req->id, req->answer.data, req->answer.len);

        /* A late answer (the query was dropped) is not the host's error. */
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r, "DNS answer %u: %m", req->id);
        reply(sid, TTRPC_OK, NULL, &resp.base);
}

/* After the answer is out: the channel survives exec (its CLOEXEC cleared), the new image
 * attaches to it (main's --reexec). If exec fails, this image goes on serving. */
static void handle_reexec(uint32_t sid, const ProtobufCMessage *m)
{
        const Hako__Agent__V1__ReexecRequest *req = (const void *)m;
        Hako__Agent__V1__Empty resp = HAKO__AGENT__V1__EMPTY__INIT;
        char fdarg[16];
        int r;

        if (agent_container_first() || !conn_serial || conn.fd < 0 || getpid() != 1) {
                reply(sid, TTRPC_FAILED_PRECONDITION, "re-exec only before any container, on virtio-serial",
                      NULL);
                return;
        }
        /* Without fresh entropy the new image's randomness would repeat in every restore. */
        r = agent_sandbox_add_entropy(req->entropy.data, req->entropy.len);
        if (r < 0) {
                reply_errno(sid, r, "reseeding the random number generator");
                return;
        }
        if (fcntl(conn.fd, F_SETFD, 0) < 0) {
                reply_errno(sid, negative_errno(), "keeping the channel across exec");
                return;
        }
        reply(sid, TTRPC_OK, NULL, &resp.base);
        snprintf(fdarg, sizeof(fdarg), "%d", conn.fd);
        execv("/proc/self/exe", (char *[]){(char *)"hako-agent", (char *)"--reexec", fdarg, NULL});
        log_error_errno(negative_errno(), "re-exec: %m");
        (void)fcntl(conn.fd, F_SETFD, FD_CLOEXEC);
}

static const struct {
        const char *name;
        const ProtobufCMessageDescriptor *request;
        void (*handler)(uint32_t sid, const ProtobufCMessage *m);
} methods[] = {
    {"Health", &hako__agent__v1__health_request__descriptor, handle_health},
    {"Reexec", &hako__agent__v1__reexec_request__descriptor, handle_reexec},
    {"CreateSandbox", &hako__agent__v1__create_sandbox_request__descriptor, handle_create_sandbox},
    {"DestroySandbox", &hako__agent__v1__destroy_sandbox_request__descriptor, handle_destroy_sandbox},
    {"CreateContainer", &hako__agent__v1__create_container_request__descriptor, handle_create_container},
    {"StartContainer", &hako__agent__v1__start_container_request__descriptor, handle_start_container},
    {"RemoveContainer", &hako__agent__v1__remove_container_request__descriptor, handle_remove_container},
    {"ExecProcess", &hako__agent__v1__exec_process_request__descriptor, handle_exec_process},
    {"RemoveProcess", &hako__agent__v1__remove_process_request__descriptor, handle_remove_process},
    {"SignalProcess", &hako__agent__v1__signal_process_request__descriptor, handle_signal_process},
    {"WaitProcess", &hako__agent__v1__wait_process_request__descriptor, handle_wait_process},
    {"WriteStdin", &hako__agent__v1__write_stream_request__descriptor, handle_write_stdin},
    {"CloseStdin", &hako__agent__v1__close_stdin_request__descriptor, handle_close_stdin},
    {"ReadStdout", &hako__agent__v1__read_stream_request__descriptor, handle_read_stdout},
    {"ReadStderr", &hako__agent__v1__read_stream_request__descriptor, handle_read_stderr},
    {"TtyWinResize", &hako__agent__v1__tty_win_resize_request__descriptor, handle_tty_win_resize},
    {"StatsContainer", &hako__agent__v1__stats_container_request__descriptor, handle_stats_container},
    {"UpdateContainer", &hako__agent__v1__update_container_request__descriptor, handle_update_container},
    {"ListProcesses", &hako__agent__v1__list_processes_request__descriptor, handle_list_processes},
    {"PauseContainer", &hako__agent__v1__pause_container_request__descriptor, handle_pause_container},
    {"GetOOMEvent", &hako__agent__v1__get_oomevent_request__descriptor, handle_get_oom_event},
    {"OnlineResources", &hako__agent__v1__online_resources_request__descriptor, handle_online_resources},
    {"ConfigureInterface", &hako__agent__v1__configure_interface_request__descriptor,
     handle_configure_interface},
    {"StartDNSRelay", &hako__agent__v1__start_dnsrelay_request__descriptor, handle_start_dns_relay},
    {"NextDNSQuery", &hako__agent__v1__next_dnsquery_request__descriptor, handle_next_dns_query},
    {"AnswerDNSQuery", &hako__agent__v1__answer_dnsquery_request__descriptor, handle_answer_dns_query},
};

static void handle_frame(const struct ttrpc_frame *f)
{
        Hako__Ttrpc__Request *req;
        ProtobufCMessage *payload;

        if (f->type != TTRPC_TYPE_REQUEST) {
                log_debug("ignoring frame of type %u on stream %u", f->type, f->stream_id);
                return;
        }
        if (stream_parked(f->stream_id)) {
                reply(f->stream_id, TTRPC_INVALID_ARGUMENT, "stream id is in use", NULL);
                return;
        }
        arena_reset(&arena);
        req = hako__ttrpc__request__unpack(&arena.allocator, f->length, f->data);
        if (!req) {
                reply(f->stream_id, TTRPC_INVALID_ARGUMENT, "undecodable request", NULL);
                return;
        }
        if (strcmp(req->service, HAKO_AGENT_SERVICE) != 0) {
                reply(f->stream_id, TTRPC_UNIMPLEMENTED, "unknown service", NULL);
                return;
        }
        if (!agent_policy_allows(req->method)) {
                log_debug("stream %u: %.64s refused by the agent policy", f->stream_id, req->method);
                reply(f->stream_id, TTRPC_PERMISSION_DENIED, "the method is not allowed by the agent policy",
                      NULL);
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
                if (strcmp(req->method, methods[i].name) != 0)
                        continue;
                payload = protobuf_c_message_unpack(methods[i].request, &arena.allocator, req->payload.len,
                                                    req->payload.data);
                if (!payload) {
                        reply(f->stream_id, TTRPC_INVALID_ARGUMENT, "undecodable payload", NULL);
                        return;
                }
                log_debug("stream %u: %s", f->stream_id, methods[i].name);
                methods[i].handler(f->stream_id, payload);
                return;
        }
        reply(f->stream_id, TTRPC_UNIMPLEMENTED, "unknown method", NULL);
}

/* Drops whatever the host sent so far and every parked request: a new connection (or a peer that
 * came back) starts from a clean state and cannot get answers meant for the old one. */
static void connection_reset(void)
{
        for (size_t i = 0; i < HAKO_MAX_PENDING; i++) {
                struct agent_process *p = pending[i].process;
                if (!pending[i].used)
                        continue;
                pending_free(&pending[i]);
                pending_update_watches(p);
        }
        reader.len = reader.consumed = 0;
        skip_bytes = 0;
}

static void drop_skipped(void)
{
        size_t n = (size_t)MIN(skip_bytes, (uint64_t)(reader.len - reader.consumed));

        reader.consumed += n;
        skip_bytes -= n;
}

static void process_frames(void)
{
        struct ttrpc_frame f;
        int r;

        for (;;) {
                if (skip_bytes)
                        drop_skipped();
                if (skip_bytes)
                        return;
                r = ttrpc_reader_next(&reader, &f);
                if (r == 0)
                        return;
                if (r == -EMSGSIZE) {
                        /* The length is known, so skipping the body keeps the stream in sync. */
                        ttrpc_header_unpack(reader.buf + reader.consumed, &f);
                        log_error("stream %u: frame of %u bytes is over the limit", f.stream_id, f.length);
                        reply(f.stream_id, TTRPC_RESOURCE_EXHAUSTED, "frame too large", NULL);
                        reader.consumed += TTRPC_HEADER_SIZE;
                        skip_bytes = f.length;
                        continue;
                }
                handle_frame(&f);
        }
}

static void on_transport(struct agent_watch *w, uint32_t events);

static void transport_detach(bool retry)
{
        (void)agent_watch_set(&conn, 0);
        connection_reset();
        if (conn_serial && retry) {
                /* A disconnected port keeps reporting HUP: look again later instead of spinning. */
                struct itimerspec its = {.it_value.tv_nsec = 50L * 1000 * 1000};
                timerfd_settime(timer.fd, 0, &its, NULL);
                return;
        }
        conn.fd = safe_close(conn.fd);
}

static void on_transport(struct agent_watch *w, uint32_t events)
{
        bool got = false;

        if (w->fd < 0)
                return;
        if (events & EPOLLIN) {
                for (int i = 0; i < 64; i++) {
                        int r = ttrpc_reader_fill(&reader, w->fd);
                        if (r == -EAGAIN)
                                break;
                        if (r <= 0) {
                                if (r < 0)
                                        log_debug_errno(r, "reading from host: %m");
                                transport_detach(true);
                                return;
                        }
                        got = true;
                        process_frames();
                        if (w->fd < 0)
                                return;
                }
        }
        if ((events & (EPOLLHUP | EPOLLERR)) && !got)
                transport_detach(true);
}

static void on_timer(struct agent_watch *w, uint32_t events)
{
        uint64_t v;

        (void)events;
        (void)!read(w->fd, &v, sizeof(v));
        if (conn.fd >= 0 && conn_serial)
                (void)agent_watch_set(&conn, EPOLLIN);
}

static void on_listen(struct agent_watch *w, uint32_t events)
{
        int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        (void)events;
        if (fd < 0)
                return;
        /* One host connection at a time: a new one means the host restarted its side. */
        if (conn.fd >= 0)
                transport_detach(false);
        agent_server_attach(fd, false);
}

void agent_server_attach(int fd, bool serial)
{
        conn = (struct agent_watch){.fd = fd, .fn = on_transport};
        conn_serial = serial;
        connection_reset();
        (void)agent_watch_set(&conn, EPOLLIN);
}

void agent_server_set_listener(int fd)
{
        listener = (struct agent_watch){.fd = fd, .fn = on_listen};
        (void)agent_watch_set(&listener, EPOLLIN);
}

int agent_server_init(void)
{
        int r;

        r = ttrpc_reader_init(&reader, HAKO_TTRPC_MAX_FRAME);
        if (r < 0)
                return r;
        r = arena_init(&arena, HAKO_TTRPC_ARENA);
        if (r < 0)
                return r;
        r = agent_process_init(on_process_changed);
        if (r < 0)
                return r;
        agent_dns_init(on_dns_queued);
        r = agent_oom_init(on_oom);
        if (r < 0)
                return r;
        timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (timer.fd < 0)
                return negative_errno();
        timer.fn = on_timer;
        return agent_watch_set(&timer, EPOLLIN);
}
