/* SPDX-License-Identifier: Apache-2.0 */
#include "publish.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containerd.pb-c.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"
#include "timeutil.h"

/* A shim that cannot publish (containerd gone) must not grow without bound. */
#define QUEUE_MAX     4096
#define ATTEMPTS      3
#define RETRY_MS      300
#define PUBLISH_LIMIT 10000 /* ms one publish may take */

struct event {
        char topic[64];
        uint8_t *data; /* the packed Any */
        size_t len;
        unsigned attempts;
};

struct publisher {
        char *binary, *address, *ns;
        struct event *queue;
        size_t head, len;
        pid_t pid;
        int pidfd;
        long long started_at, retry_at;
};

int publisher_new(const char *binary, const char *address, const char *ns, struct publisher **ret)
{
        struct publisher *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        p->binary = strdup(binary);
        p->address = strdup(address);
        p->ns = strdup(ns);
        p->queue = calloc(QUEUE_MAX, sizeof(*p->queue));
        p->pidfd = -1;
        if (!p->binary || !p->address || !p->ns || !p->queue) {
                publisher_free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

struct publisher *publisher_free(struct publisher *p)
{
        if (!p)
                return NULL;
        if (p->pid > 0) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, NULL, 0);
        }
        safe_close(p->pidfd);
        for (size_t i = 0; i < p->len; i++)
                free(p->queue[(p->head + i) % QUEUE_MAX].data);
        free(p->queue);
        free(p->binary);
        free(p->address);
        free(p->ns);
        free(p);
        return NULL;
}

int publisher_send(struct publisher *p, const char *topic, const ProtobufCMessage *event)
{
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        _cleanup_free_ uint8_t *value = NULL;
        char type_url[128];
        struct event *e;

        if (p->len == QUEUE_MAX) {
                log_error("event queue full, dropping %s", topic);
                return -ENOSPC;
        }
        /* containerd's typeurl for its events: the proto message's full name. */
        snprintf(type_url, sizeof(type_url), "%s", event->descriptor->name);
        value = malloc(protobuf_c_message_get_packed_size(event) + 1);
        if (!value)
                return -ENOMEM;
        any.type_url = type_url;
        any.value.len = protobuf_c_message_pack(event, value);
        any.value.data = value;
        e = &p->queue[(p->head + p->len) % QUEUE_MAX];
        *e = (struct event){0};
        snprintf(e->topic, sizeof(e->topic), "%s", topic);
        e->data = malloc(protobuf_c_message_get_packed_size(&any.base) + 1);
        if (!e->data)
                return -ENOMEM;
        e->len = protobuf_c_message_pack(&any.base, e->data);
        p->len++;
        return 0;
}

bool publisher_busy(const struct publisher *p)
{
        return p->len > 0;
}

/* Starts publishing the head of the queue. */
static void publish_head(struct publisher *p)
{
        struct event *e = &p->queue[p->head];
        int in[2];
        int r;

        if (pipe2(in, O_CLOEXEC) < 0) {
                p->retry_at = mono_ms() + RETRY_MS;
                return;
        }
        const char *argv[] = {p->binary, "--address",   p->address, "publish", "--topic",
                              e->topic,  "--namespace", p->ns,      NULL};
        struct spawn_opts o = {.argv = argv, .stdin_fd = in[0], .stdout_fd = -1, .stderr_fd = -1};
        e->attempts++;
        r = spawn_process(&o, &p->pid, &p->pidfd);
        safe_close(in[0]);
        if (r < 0) {
                log_error_errno(r, "cannot run %s to publish %s: %m", p->binary, e->topic);
                safe_close(in[1]);
                p->pid = 0;
                p->retry_at = mono_ms() + RETRY_MS;
                return;
        }
        /* An event is a few hundred bytes: it fits in the pipe, the write does not block. */
        if (write(in[1], e->data, e->len) != (ssize_t)e->len)
                log_warning("publishing %s: short write to %s", e->topic, p->binary);
        safe_close(in[1]);
        p->started_at = mono_ms();
}

static void pop(struct publisher *p)
{
        free(p->queue[p->head].data);
        p->queue[p->head].data = NULL;
        p->head = (p->head + 1) % QUEUE_MAX;
        p->len--;
}

static void on_publish_exit(void *userdata, short revents)
{
        struct publisher *p = userdata;
        struct event *e = &p->queue[p->head];
        int status = 0;

        (void)revents;
        if (waitpid(p->pid, &status, WNOHANG) <= 0)
                return;
        p->pid = 0;
        p->pidfd = safe_close(p->pidfd);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                pop(p);
                return;
        }
        if (e->attempts >= ATTEMPTS) {
                log_error("publishing %s failed %u times (status %d), dropped", e->topic, e->attempts,
                          status);
                pop(p);
                return;
        }
        p->retry_at = mono_ms() + RETRY_MS;
}

void publisher_poll_add(struct publisher *p, struct pollset *ps)
{
        long long now = mono_ms();

        if (p->pid > 0) {
                if (now - p->started_at > PUBLISH_LIMIT) {
                        log_warning("publishing %s takes over %d ms, giving up on it",
                                    p->queue[p->head].topic, PUBLISH_LIMIT);
                        kill(p->pid, SIGKILL);
                }
                (void)pollset_add(ps, p->pidfd, POLLIN, on_publish_exit, p);
                pollset_timeout(ps, p->started_at + PUBLISH_LIMIT + 10 - now);
                return;
        }
        if (p->len == 0)
                return;
        if (now < p->retry_at) {
                pollset_timeout(ps, p->retry_at - now);
                return;
        }
        publish_head(p);
        if (p->pid > 0)
                (void)pollset_add(ps, p->pidfd, POLLIN, on_publish_exit, p);
        else
                pollset_timeout(ps, RETRY_MS);
}
