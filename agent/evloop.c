/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <sys/epoll.h>

#include "agent.h"
#include "log.h"
#include "macro.h"

/* The agent's one event loop: epoll, level-triggered. Each part (the host connection, the
 * processes' stdio, the child reaper, the OOM watch) registers its fds with a callback and
 * reports what happens to whoever registered with it: nothing here knows what an fd is for. */

static int epoll_fd = -1;
/* A callback removed a watch: later events of the same batch may name it (or memory that went
 * with it), so the batch stops there and the next epoll_wait reports what is still pending. */
static bool batch_stale;

int agent_evloop_init(void)
{
        epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        return epoll_fd < 0 ? negative_errno() : 0;
}

int agent_watch_set(struct agent_watch *w, uint32_t events)
{
        struct epoll_event ev = {.events = events, .data.ptr = w};
        int op;

        if (events == w->events)
                return 0;
        if (events == 0) {
                batch_stale = true;
                w->events = 0;
                return epoll_ctl(epoll_fd, EPOLL_CTL_DEL, w->fd, NULL) < 0 ? negative_errno() : 0;
        }
        op = w->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(epoll_fd, op, w->fd, &ev) < 0)
                return negative_errno();
        w->events = events;
        return 0;
}

int agent_evloop_run(void)
{
        for (;;) {
                struct epoll_event evs[16];
                int n = epoll_wait(epoll_fd, evs, ELEMENTSOF(evs), -1);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                batch_stale = false;
                for (int i = 0; i < n && !batch_stale; i++) {
                        struct agent_watch *w = evs[i].data.ptr;
                        w->fn(w, evs[i].events);
                }
        }
}
