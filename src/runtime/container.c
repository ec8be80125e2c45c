/* SPDX-License-Identifier: Apache-2.0 */
#include "container.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "macro.h"
#include "nested.h"
#include "spec.h"

#define AGENT_TIMEOUT_MS 60000

#define EXIT_HAKO_ERROR  125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND   127

uint64_t realtime_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int container_create_exit_code(int r)
{
        return r == -ENOENT ? EXIT_NOT_FOUND : r == -EACCES ? EXIT_CANNOT_EXEC : EXIT_HAKO_ERROR;
}

static struct process *process_new(struct container *c, const char *exec_id, bool tty)
{
        struct process *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->container = c;
        snprintf(p->exec_id, sizeof(p->exec_id), "%s", exec_id);
        p->tty = tty;
        return p;
}

static struct process *process_free(struct process *p)
{
        if (p) {
                relay_free(p->relay);
                free(p);
        }
        return NULL;
}

static void release_shares(struct sandbox *sb, struct strv *shares)
{
        for (size_t i = 0; i < shares->n; i++)
                sandbox_share_release(sb, shares->v[i]);
        strv_done(shares);
}

/* The spec's net.* sysctls for the request (s and ps: HAKO_MAX_NET_SYSCTLS entries). */
static int put_sysctls(Hako__Agent__V1__CreateContainerRequest *req, json_t *sysctls,
                       Hako__Agent__V1__Sysctl *s, Hako__Agent__V1__Sysctl **ps)
{
        const char *key;
        json_t *v;
        size_t i = 0;

        if (json_object_size(sysctls) > HAKO_MAX_NET_SYSCTLS)
                return -E2BIG;
        json_object_foreach(sysctls, key, v)
        {
                if (!json_is_string(v))
                        return -EINVAL;
                s[i] = (Hako__Agent__V1__Sysctl)HAKO__AGENT__V1__SYSCTL__INIT;
                s[i].key = (char *)key;
                s[i].value = (char *)json_string_value(v);
                ps[i] = &s[i];
                i++;
        }
        req->net_sysctls = ps;
        req->n_net_sysctls = i;
        return 0;
}

int container_create(struct sandbox *sb, const struct container_config *cfg, struct container **ret,
                     char **ret_error)
{
        Hako__Agent__V1__CreateContainerRequest req = HAKO__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
        Hako__Agent__V1__Rootfs rootfs = HAKO__AGENT__V1__ROOTFS__INIT;
        Hako__Agent__V1__CreateContainerResponse *resp = NULL;
        _cleanup_free_ char *json = NULL;
        Hako__Agent__V1__Sysctl sysctls[HAKO_MAX_NET_SYSCTLS], *psysctls[HAKO_MAX_NET_SYSCTLS];
        json_t *net_sysctls = NULL;
        struct nested_plan plan;
        struct container *c;
        struct arena arena;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->sb = sb;
        if (cfg->shares) {
                c->shares = *cfg->shares;
                *cfg->shares = (struct strv){0};
        }
        c->id = strdup(cfg->id);
        c->init = process_new(c, "", cfg->tty);
        r = nested_prepare(cfg->spec, cfg->id, sb->disk_path != NULL, &plan, ret_error);
        if (r < 0)
                goto fail;
        net_sysctls = spec_guest_network(cfg->spec);
        json = json_dumps(cfg->spec, JSON_COMPACT);
        if (!c->id || !c->init || !json) {
                r = -ENOMEM;
                goto fail;
        }
        if (sandbox_find_container(sb, cfg->id)) {
                r = error_set(ret_error, -EEXIST, "container %s exists in the sandbox", cfg->id);
                goto fail;
        }
        r = sandbox_share_sync(sb, ret_error);
        if (r < 0)
                goto fail;
        r = dns_relay_resolv_conf(sb, cfg->spec, &c->resolv_conf);
        if (r < 0)
                goto fail;
        r = sandbox_dns_refresh(sb, c, ret_error);
        if (r < 0)
                goto fail;
        r = arena_init(&arena, 4096);
        if (r < 0)
                goto fail;
        rootfs.source = (char *)cfg->rootfs_guest;
        rootfs.overlay = cfg->overlay;
        rootfs.readonly = cfg->readonly;
        req.container_id = c->id;
        req.oci_spec = json;
        req.rootfs = &rootfs;
        req.terminal = cfg->tty;
        req.rows = cfg->rows;
        req.columns = cfg->columns;
        req.delegate_cgroup = plan.delegate_cgroup;
        req.scratch_dirs = (char **)plan.scratch_dirs;
        req.n_scratch_dirs = plan.n_scratch_dirs;
        r = put_sysctls(&req, net_sysctls, sysctls, psysctls);
        if (r < 0) {
                error_set(ret_error, r, "invalid net.* sysctls in the spec (at most %d, string values)",
                          HAKO_MAX_NET_SYSCTLS);
                arena_done(&arena);
                goto fail;
        }
        r = agent_call(&sb->agent, "CreateContainer", &req.base,
                       &hako__agent__v1__create_container_response__descriptor, AGENT_TIMEOUT_MS, &arena,
                       (ProtobufCMessage **)&resp, ret_error);
        if (r >= 0)
                c->init->guest_pid = resp->pid;
        arena_done(&arena);
        if (r < 0)
                goto fail;
        json_decref(net_sysctls);
        c->next = sb->containers;
        sb->containers = c;
        *ret = c;
        return 0;
fail:
        json_decref(net_sysctls);
        release_shares(sb, &c->shares);
        process_free(c->init);
        free(c->resolv_conf);
        free(c->id);
        free(c);
        return r;
}

struct container *sandbox_containers(struct sandbox *sb)
{
        return sb->containers;
}

struct container *sandbox_find_container(struct sandbox *sb, const char *id)
{
        for (struct container *c = sb->containers; c; c = c->next)
                if (!strcmp(c->id, id))
                        return c;
        return NULL;
}

struct process *container_find_process(struct container *c, const char *exec_id)
{
        if (!exec_id || !*exec_id)
                return c->init;
        for (struct process *p = c->execs; p; p = p->next)
                if (!strcmp(p->exec_id, exec_id))
                        return p;
        return NULL;
}

int container_start(struct container *c, char **ret_error)
{
        Hako__Agent__V1__StartContainerRequest req = HAKO__AGENT__V1__START_CONTAINER_REQUEST__INIT;
        int r;

        req.container_id = c->id;
        r = agent_call(&c->sb->agent, "StartContainer", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL,
                       ret_error);
        if (r < 0)
                return r;
        c->started = true;
        if (c->init->state == PROCESS_CREATED)
                c->init->state = PROCESS_RUNNING;
        return 0;
}

int container_signal(struct container *c, const char *exec_id, int sig, bool all, char **ret_error)
{
        Hako__Agent__V1__SignalProcessRequest req = HAKO__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;

        req.container_id = c->id;
        req.exec_id = (char *)(exec_id ? exec_id : "");
        req.signal = (uint32_t)sig;
        req.all = all;
        return agent_call(&c->sb->agent, "SignalProcess", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL,
                          ret_error);
}

int container_pause(struct container *c, bool pause, char **ret_error)
{
        Hako__Agent__V1__PauseContainerRequest req = HAKO__AGENT__V1__PAUSE_CONTAINER_REQUEST__INIT;
        int r;

        req.container_id = c->id;
        req.pause = pause;
        r = agent_call(&c->sb->agent, "PauseContainer", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL,
                       ret_error);
        if (r >= 0)
                c->paused = pause;
        return r;
}

int container_update(struct container *c, const char *resources_json, char **ret_error)
{
        Hako__Agent__V1__UpdateContainerRequest req = HAKO__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;

        req.container_id = c->id;
        req.resources = (char *)resources_json;
        return agent_call(&c->sb->agent, "UpdateContainer", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL,
                          ret_error);
}

int container_stats(struct container *c, struct arena *arena, Hako__Agent__V1__StatsContainerResponse **ret,
                    char **ret_error)
{
        Hako__Agent__V1__StatsContainerRequest req = HAKO__AGENT__V1__STATS_CONTAINER_REQUEST__INIT;

        req.container_id = c->id;
        return agent_call(&c->sb->agent, "StatsContainer", &req.base,
                          &hako__agent__v1__stats_container_response__descriptor, AGENT_TIMEOUT_MS, arena,
                          (ProtobufCMessage **)ret, ret_error);
}

int container_pids(struct container *c, uint32_t **ret_pids, size_t *ret_n, char **ret_error)
{
        Hako__Agent__V1__ListProcessesRequest req = HAKO__AGENT__V1__LIST_PROCESSES_REQUEST__INIT;
        Hako__Agent__V1__ListProcessesResponse *resp = NULL;
        struct arena arena;
        int r;

        r = arena_init(&arena, 64 * 1024);
        if (r < 0)
                return r;
        req.container_id = c->id;
        r = agent_call(&c->sb->agent, "ListProcesses", &req.base,
                       &hako__agent__v1__list_processes_response__descriptor, AGENT_TIMEOUT_MS, &arena,
                       (ProtobufCMessage **)&resp, ret_error);
        if (r >= 0) {
                size_t n = MIN(resp->n_pids, (size_t)HAKO_MAX_LIST_PIDS);
                uint32_t *v = malloc((n + 1) * sizeof(*v));
                if (!v)
                        r = -ENOMEM;
                else {
                        memcpy(v, resp->pids, n * sizeof(*v));
                        *ret_pids = v;
                        *ret_n = n;
                }
        }
        arena_done(&arena);
        return r;
}

static void unlink_container(struct container *c)
{
        for (struct container **pp = &c->sb->containers; *pp; pp = &(*pp)->next)
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
}

void container_forget(struct container *c)
{
        if (!c)
                return;
        unlink_container(c);
        while (c->execs) {
                struct process *p = c->execs;
                c->execs = p->next;
                process_free(p);
        }
        process_free(c->init);
        release_shares(c->sb, &c->shares);
        free(c->resolv_conf);
        free(c->id);
        free(c);
}

int container_remove(struct container *c, char **ret_error)
{
        Hako__Agent__V1__RemoveContainerRequest req = HAKO__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;
        int r;

        /* The relays first: their requests are answered (ended) by the removal. */
        for (struct process *p = c->execs; p; p = p->next)
                p->relay = relay_free(p->relay);
        c->init->relay = relay_free(c->init->relay);
        req.container_id = c->id;
        r = agent_call(&c->sb->agent, "RemoveContainer", &req.base, NULL, AGENT_TIMEOUT_MS, NULL, NULL,
                       ret_error);
        container_forget(c);
        return r;
}

int container_exec(struct container *c, const char *exec_id, const char *process_json, bool tty,
                   unsigned rows, unsigned columns, struct process **ret, char **ret_error)
{
        Hako__Agent__V1__ExecProcessRequest req = HAKO__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
        Hako__Agent__V1__ExecProcessResponse *resp = NULL;
        struct process *p;
        struct arena arena;
        int r;

        if (container_find_process(c, exec_id) && *exec_id)
                return error_set(ret_error, -EEXIST, "exec %s exists", exec_id);
        p = process_new(c, exec_id, tty);
        if (!p)
                return -ENOMEM;
        r = arena_init(&arena, 4096);
        if (r < 0) {
                free(p);
                return r;
        }
        req.container_id = c->id;
        req.exec_id = p->exec_id;
        req.process = (char *)process_json;
        req.terminal = tty;
        req.rows = rows;
        req.columns = columns;
        r = agent_call(&c->sb->agent, "ExecProcess", &req.base,
                       &hako__agent__v1__exec_process_response__descriptor, AGENT_TIMEOUT_MS, &arena,
                       (ProtobufCMessage **)&resp, ret_error);
        if (r >= 0)
                p->guest_pid = resp->pid;
        arena_done(&arena);
        if (r < 0) {
                free(p);
                return r;
        }
        p->state = PROCESS_RUNNING;
        p->next = c->execs;
        c->execs = p;
        c->n_execs++;
        *ret = p;
        return 0;
}

static void on_removed(void *ud, int code, const char *msg, const ProtobufCMessage *resp)
{
        (void)ud, (void)resp;
        if (code != TTRPC_OK)
                log_debug("removing an exec: %s", msg);
}

void container_remove_exec(struct process *p)
{
        Hako__Agent__V1__RemoveProcessRequest req = HAKO__AGENT__V1__REMOVE_PROCESS_REQUEST__INIT;
        struct container *c = p->container;

        if (p == c->init)
                return;
        for (struct process **pp = &c->execs; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        c->n_execs--;
        if (p->state != PROCESS_CREATED) {
                req.container_id = c->id;
                req.exec_id = p->exec_id;
                (void)agent_call_async(&c->sb->agent, "RemoveProcess", &req.base, NULL, on_removed, NULL);
        }
        process_free(p);
}

int process_relay(struct process *p, int in_fd, int out_fd, int err_fd, int winsize_fd)
{
        struct relay_opts ro = {
            .agent = &p->container->sb->agent,
            .container_id = p->container->id,
            .exec_id = p->exec_id,
            .in_fd = in_fd,
            .out_fd = out_fd,
            .err_fd = err_fd,
            .tty = p->tty,
            .winsize_fd = winsize_fd,
        };

        if (p->relay)
                return -EBUSY;
        return relay_new(&ro, &p->relay);
}

int process_resize(struct process *p, unsigned rows, unsigned columns, char **ret_error)
{
        Hako__Agent__V1__TtyWinResizeRequest req = HAKO__AGENT__V1__TTY_WIN_RESIZE_REQUEST__INIT;

        req.container_id = p->container->id;
        req.exec_id = p->exec_id;
        req.rows = rows;
        req.columns = columns;
        return agent_call(&p->container->sb->agent, "TtyWinResize", &req.base, NULL, AGENT_TIMEOUT_MS, NULL,
                          NULL, ret_error);
}

static void on_agent(void *ud, short revents)
{
        struct sandbox *sb = ud;
        int r;

        (void)revents;
        if (sb->agent_error)
                return;
        r = agent_client_dispatch(&sb->agent);
        if (r < 0)
                sb->agent_error = r;
}

static void on_relay_in(void *ud, short revents)
{
        (void)revents;
        relay_on_input(((struct process *)ud)->relay);
}

static void on_relay_out(void *ud, short revents)
{
        (void)revents;
        relay_on_output(((struct process *)ud)->relay, false);
}

static void on_relay_err(void *ud, short revents)
{
        (void)revents;
        relay_on_output(((struct process *)ud)->relay, true);
}

static void poll_process(struct process *p, struct pollset *ps)
{
        if (!p->relay)
                return;
        (void)pollset_add(ps, relay_input_fd(p->relay), POLLIN, on_relay_in, p);
        (void)pollset_add(ps, relay_output_fd(p->relay, false), POLLOUT, on_relay_out, p);
        (void)pollset_add(ps, relay_output_fd(p->relay, true), POLLOUT, on_relay_err, p);
}

void sandbox_poll_add(struct sandbox *sb, struct pollset *ps)
{
        if (!sb->agent_error)
                (void)pollset_add(ps, sb->agent.fd, POLLIN, on_agent, sb);
        sandbox_dns_poll_add(sb, ps);
        for (struct container *c = sb->containers; c; c = c->next) {
                poll_process(c->init, ps);
                for (struct process *p = c->execs; p; p = p->next)
                        poll_process(p, ps);
        }
}

static int reap_one(struct process *p, struct pollset *ps, void (*fn)(void *, struct process *), void *ud)
{
        int timeout = -1, code, r;

        if (!p->relay)
                return 0;
        r = relay_check(p->relay, &timeout, &code);
        if (timeout >= 0)
                pollset_timeout(ps, timeout);
        if (r == 0)
                return 0;
        p->relay = relay_free(p->relay);
        p->state = PROCESS_EXITED;
        p->exit_code = r > 0 ? code : EXIT_HAKO_ERROR;
        p->exited_at_ns = realtime_ns();
        fn(ud, p);
        return 1;
}

int sandbox_reap(struct sandbox *sb, struct pollset *ps, void (*fn)(void *userdata, struct process *p),
                 void *userdata)
{
        if (sb->agent_error)
                return sb->agent_error;
        /* fn may remove what it is told about: start over after each. */
again:
        for (struct container *c = sb->containers; c; c = c->next) {
                if (reap_one(c->init, ps, fn, userdata))
                        goto again;
                for (struct process *p = c->execs; p; p = p->next)
                        if (reap_one(p, ps, fn, userdata))
                                goto again;
        }
        return 0;
}

static bool lose_one(struct process *p, int code, void (*fn)(void *, struct process *), void *ud)
{
        if (p->state == PROCESS_EXITED)
                return false;
        p->relay = relay_free(p->relay);
        p->state = PROCESS_EXITED;
        p->exit_code = code;
        p->exited_at_ns = realtime_ns();
        fn(ud, p);
        return true;
}

void sandbox_lost(struct sandbox *sb, int code, void (*fn)(void *userdata, struct process *p), void *userdata)
{
again:
        for (struct container *c = sb->containers; c; c = c->next) {
                if (lose_one(c->init, code, fn, userdata))
                        goto again;
                for (struct process *p = c->execs; p; p = p->next)
                        if (lose_one(p, code, fn, userdata))
                                goto again;
        }
}
