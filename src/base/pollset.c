/* SPDX-License-Identifier: Apache-2.0 */
#include "pollset.h"

#include <errno.h>
#include <limits.h>

#include "macro.h"

void pollset_reset(struct pollset *ps)
{
        ps->n = 0;
        ps->timeout_ms = -1;
}

int pollset_add(struct pollset *ps, int fd, short events, pollset_fn fn, void *userdata)
{
        if (fd < 0)
                return 0;
        if (ps->n >= POLLSET_MAX)
                return -ENOSPC;
        ps->fds[ps->n] = (struct pollfd){.fd = fd, .events = events};
        ps->cb[ps->n].fn = fn;
        ps->cb[ps->n].userdata = userdata;
        ps->n++;
        return 0;
}

void pollset_timeout(struct pollset *ps, long long ms)
{
        if (ms < 0)
                ms = 0;
        if (ms > INT_MAX)
                ms = INT_MAX;
        if (ps->timeout_ms < 0 || ms < ps->timeout_ms)
                ps->timeout_ms = (int)ms;
}

int pollset_wait(struct pollset *ps)
{
        int k = poll(ps->fds, (nfds_t)ps->n, ps->timeout_ms);

        if (k < 0)
                return errno == EINTR ? 0 : negative_errno();
        for (size_t i = 0; i < ps->n && k > 0; i++) {
                if (!ps->fds[i].revents)
                        continue;
                k--;
                ps->cb[i].fn(ps->cb[i].userdata, ps->fds[i].revents);
        }
        return 0;
}
