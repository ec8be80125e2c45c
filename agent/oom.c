/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "macro.h"

/* The OOM killer at work in a container's cgroup raises oom_kill in its memory.events, and the
 * kernel signals a modification of that file to inotify. One inotify fd watches every
 * container. */

static struct agent_watch watch = {.fd = -1};
static void (*oom_killed)(struct agent_container *c);

void agent_oom_check(struct agent_container *c)
{
        uint64_t kills;

        if (!*c->cgroup || agent_stats_keyed(c->cgroup, "memory.events", "oom_kill", &kills) < 0)
                return;
        if (kills > c->oom_kills) {
                c->oom_kills = kills;
                log_debug("container %s: OOM kill #%llu", c->id, (unsigned long long)kills);
                oom_killed(c);
        }
}

static void on_inotify(struct agent_watch *w, uint32_t revents)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        (void)revents;
        while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const void *)p;
                        for (struct agent_container *c = agent_container_first(); c; c = c->next)
                                if (c->oom_wd == ev->wd) {
                                        if (ev->mask & IN_IGNORED)
                                                c->oom_wd = -1; /* the cgroup is gone */
                                        else
                                                agent_oom_check(c);
                                        break;
                                }
                        p += sizeof(*ev) + ev->len;
                }
        }
}

int agent_oom_init(void (*fn)(struct agent_container *c))
{
        oom_killed = fn;
        watch.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (watch.fd < 0)
                return negative_errno();
        watch.fn = on_inotify;
        return agent_watch_set(&watch, EPOLLIN);
}

void agent_oom_watch(struct agent_container *c)
{
        char path[300];

        if (!*c->cgroup || c->oom_wd >= 0)
                return;
        snprintf(path, sizeof(path), "%s/memory.events", c->cgroup);
        (void)agent_stats_keyed(c->cgroup, "memory.events", "oom_kill", &c->oom_kills);
        c->oom_wd = inotify_add_watch(watch.fd, path, IN_MODIFY);
        if (c->oom_wd < 0)
                log_debug("container %s: cannot watch %s: %m", c->id, path);
}

void agent_oom_unwatch(struct agent_container *c)
{
        if (c->oom_wd >= 0)
                (void)inotify_rm_watch(watch.fd, c->oom_wd);
        c->oom_wd = -1;
}
