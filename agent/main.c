/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "macro.h"

/* hako-agent: PID 1 of the guest. Sets the system up, then serves the host over ttRPC. */

int agent_epoll_fd = -1;

/* Tags are the kind in the low bits of the (16-byte aligned) process pointer. */
int agent_epoll_set(int fd, enum agent_event_kind kind, void *ptr, uint32_t events, bool on)
{
        struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)(uintptr_t)ptr | (uint64_t)kind};

        if (!on)
                return epoll_ctl(agent_epoll_fd, EPOLL_CTL_DEL, fd, NULL) < 0 ? negative_errno() : 0;
        if (epoll_ctl(agent_epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                if (errno != EEXIST || epoll_ctl(agent_epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0)
                        return negative_errno();
        }
        return 0;
}

/* Events of one epoll batch can name a process an earlier event of the batch removed. */
static bool process_alive(struct agent_process *p)
{
        for (struct agent_container *c = agent_container_first(); c; c = c->next)
                for (struct agent_process *q = c->processes; q; q = q->next)
                        if (q == p)
                                return true;
        return false;
}

static _noreturn_ void die(void)
{
        /* PID 1 must not exit (the kernel would panic with a less useful message). A reboot ends
         * the VM at once under QEMU's -no-reboot, so the host notices; power-off can hang without
         * ACPI. */
        sync();
        reboot(RB_AUTOBOOT);
        for (;;)
                pause();
}

int main(void)
{
        struct agent_config cfg;
        sigset_t mask;
        int sfd, fd, r;

        log_set_prefix("hako-agent");
        if (getpid() == 1) {
                r = agent_init_system();
                if (r < 0) {
                        log_error_errno(r, "early setup failed: %m");
                        die();
                }
        }
        agent_init_parse_cmdline(&cfg);
        log_set_level(cfg.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
        setvbuf(stderr, NULL, _IOLBF, 0);

        /* A host gone mid-write must give us EPIPE, not kill PID 1. */
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        agent_epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (agent_epoll_fd < 0) {
                log_error_errno(negative_errno(), "epoll: %m");
                die();
        }
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0 || agent_epoll_set(sfd, AGENT_EV_SIGNAL, NULL, EPOLLIN, true) < 0) {
                log_error_errno(negative_errno(), "signalfd: %m");
                die();
        }
        r = agent_server_init();
        if (r < 0) {
                log_error_errno(r, "server setup: %m");
                die();
        }
        if (cfg.vsock) {
                r = agent_transport_listen_vsock(&fd);
                if (r >= 0)
                        agent_server_set_listener(fd);
        } else {
                r = agent_transport_open_serial(&fd);
                if (r >= 0)
                        agent_server_attach(fd, true);
        }
        if (r < 0) {
                log_error_errno(r, "opening the host channel: %m");
                die();
        }
        log_debug("ready");

        for (;;) {
                struct epoll_event evs[16];
                int n = epoll_wait(agent_epoll_fd, evs, ELEMENTSOF(evs), -1);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error_errno(negative_errno(), "epoll_wait: %m");
                        die();
                }
                for (int i = 0; i < n; i++) {
                        enum agent_event_kind kind = (enum agent_event_kind)(evs[i].data.u64 & 0xf);
                        struct agent_process *p = (void *)(uintptr_t)(evs[i].data.u64 & ~(uint64_t)0xf);

                        switch (kind) {
                        case AGENT_EV_TRANSPORT:
                                agent_server_on_transport(evs[i].events);
                                break;
                        case AGENT_EV_LISTEN:
                                agent_server_on_listen();
                                break;
                        case AGENT_EV_SIGNAL: {
                                struct signalfd_siginfo si;
                                while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                        ;
                                agent_process_reap();
                                break;
                        }
                        case AGENT_EV_TIMER:
                                agent_server_on_timer();
                                break;
                        case AGENT_EV_STDOUT:
                        case AGENT_EV_STDERR:
                        case AGENT_EV_STDIN:
                                if (process_alive(p))
                                        agent_server_on_process(p);
                                break;
                        }
                }
        }
}
