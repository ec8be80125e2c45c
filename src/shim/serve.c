/* SPDX-License-Identifier: Apache-2.0 */
/* The long-lived shim: one loop over containerd's connections, the pod's VM and the events. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "create.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "mountns.h"
#include "task.h"
#include "timeutil.h"

#define EXIT_VM_LOST     (128 + SIGKILL)
#define DRAIN_EVENTS_MS  5000
#define SHIM_MAX_FRAME   (4u << 20) /* ttrpc's own limit */
#define SHIM_ARENA       (8u << 20)
#define SHIM_CONNECTIONS 256
#define BOOT_TIMEOUT_MS  30000

static void on_process_exit(void *userdata, struct process *p)
{
        if (p->userdata)
                shim_proc_exited(userdata, p->userdata, p->exit_code, p->exited_at_ns);
}

/* The VM, virtiofsd or the agent channel is gone: every process of the pod ends, as if killed,
 * and containerd hears of each. The tasks stay until containerd deletes them. */
static void lose_vm(struct shim *s, const char *why)
{
        if (s->vm_lost || !s->sb)
                return;
        log_error("pod %s: %s; its containers are gone", s->sandbox_task ? s->sandbox_task : "?", why);
        s->vm_lost = true;
        s->sb->vm->ops->stop(s->sb->vm);
        virtiofsd_stop(&s->sb->vfsd);
        sandbox_lost(s->sb, EXIT_VM_LOST, on_process_exit, s);
}

static void on_vm_exit(void *userdata, short revents)
{
        (void)revents;
        lose_vm(userdata, "the VM exited");
}

static void on_virtiofsd_exit(void *userdata, short revents)
{
        (void)revents;
        lose_vm(userdata, "virtiofsd exited");
}

static void on_oom(void *userdata, int code, const char *msg, const ProtobufCMessage *resp)
{
        struct shim *s = userdata;
        const Hako__Agent__V1__GetOOMEventResponse *m = (const void *)resp;

        if (code != TTRPC_OK) {
                log_debug("OOM events: %s", msg);
                return;
        }
        /* The guest names the container: only a task of ours makes an event. */
        if (m->container_id && shim_task_find(s, m->container_id)) {
                Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
                ev.container_id = m->container_id;
                log_info("container %s: OOM kill in the guest", m->container_id);
                (void)publisher_send(s->pub, "/tasks/oom", &ev.base);
        }
        shim_watch_oom(s);
}

void shim_watch_oom(struct shim *s)
{
        Hako__Agent__V1__GetOOMEventRequest req = HAKO__AGENT__V1__GET_OOMEVENT_REQUEST__INIT;

        if (s->sb && !s->vm_lost &&
            agent_call_async(&s->sb->agent, "GetOOMEvent", &req.base,
                             &hako__agent__v1__get_oomevent_response__descriptor, on_oom, s) < 0)
                log_warning("cannot watch for OOM kills in the guest");
}

static void on_signal(void *userdata, short revents)
{
        struct shim *s = userdata;
        struct signalfd_siginfo si;

        (void)revents;
        while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                log_info("signal %u: stopping the pod", si.ssi_signo);
                s->exiting = true;
        }
}

static int setup(struct shim *s, const struct shim_opts *o)
{
        const char *t = getenv("HAKO_BOOT_TIMEOUT");
        sigset_t mask;
        int r;

        s->boot_timeout_ms = t && atoi(t) > 0 ? atoi(t) * 1000 : BOOT_TIMEOUT_MS;
        r = mountns_make_private();
        if (r < 0)
                return log_error_errno(r, "cannot make a mount namespace: %m");
        r = shim_state_root(o->ns, &s->state_root);
        if (r >= 0)
                r = mkdir_p(s->state_root, 0711);
        if (r < 0)
                return log_error_errno(r, "cannot make the state directory: %m");
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (s->signal_fd < 0)
                return log_error_errno(negative_errno(), "signalfd: %m");
        r = publisher_new(o->publish_binary, o->address, o->ns, &s->pub);
        if (r < 0)
                return log_error_errno(r, "cannot set up publishing: %m");
        struct ttrpc_server_config sc = {
            .listen_fd = SHIM_LISTEN_FD,
            .methods = shim_methods,
            .n_methods = shim_n_methods,
            .userdata = s,
            .max_frame = SHIM_MAX_FRAME,
            .arena_size = SHIM_ARENA,
            .max_connections = SHIM_CONNECTIONS,
        };
        fcntl(SHIM_LISTEN_FD, F_SETFD, FD_CLOEXEC);
        r = ttrpc_server_new(&sc, &s->server);
        if (r < 0)
                return log_error_errno(r, "cannot serve: %m");
        return 0;
}

int shim_serve(const struct shim_opts *o)
{
        struct shim s = {.opts = o, .signal_fd = -1};
        struct pollset *ps = malloc(sizeof(*ps));
        long long exiting_since = 0;
        int r;

        /* containerd reads our log from the bundle's "log" fifo (it holds it open read-write). */
        int log_fd = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (log_fd >= 0)
                log_set_output(log_fd, false);
        log_set_level(o->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
        if (!ps || setup(&s, o) < 0) {
                free(ps);
                return 1;
        }
        log_debug("serving pod of %s (pid %d)", o->id, (int)getpid());
        for (;;) {
                pollset_reset(ps);
                if (s.sb && !s.vm_lost) {
                        r = sandbox_reap(s.sb, ps, on_process_exit, &s);
                        if (r < 0)
                                lose_vm(&s, r == -ECONNRESET ? "the guest closed the agent channel"
                                                             : "the guest broke the agent protocol");
                }
                if (s.exiting) {
                        if (!exiting_since) {
                                exiting_since = mono_ms();
                                ttrpc_server_stop_listening(s.server);
                        }
                        /* Events first: containerd waits for the exits and deletes. */
                        if (!publisher_busy(s.pub) || mono_ms() - exiting_since > DRAIN_EVENTS_MS)
                                break;
                        pollset_timeout(ps, 50);
                }
                if (s.sb && !s.vm_lost) {
                        sandbox_poll_add(s.sb, ps);
                        (void)pollset_add(ps, s.sb->vm->pidfd, POLLIN, on_vm_exit, &s);
                        (void)pollset_add(ps, s.sb->vfsd.pidfd, POLLIN, on_virtiofsd_exit, &s);
                }
                publisher_poll_add(s.pub, ps);
                (void)pollset_add(ps, s.signal_fd, POLLIN, on_signal, &s);
                /* Last: a request may remove a task, and with it the processes the entries
                 * above point at. */
                ttrpc_server_poll_add(s.server, ps);
                r = pollset_wait(ps);
                if (r < 0) {
                        log_error_errno(r, "poll: %m");
                        break;
                }
        }
        while (s.tasks) {
                if (s.tasks->ctr && !s.vm_lost)
                        (void)container_remove(s.tasks->ctr, NULL);
                else if (s.tasks->ctr)
                        container_forget(s.tasks->ctr);
                s.tasks->ctr = NULL;
                shim_task_free(&s, s.tasks);
        }
        shim_stop_sandbox(&s);
        s.server = ttrpc_server_free(s.server);
        s.pub = publisher_free(s.pub);
        shim_unlink_socket(o);
        safe_close(s.signal_fd);
        free(s.state_root);
        free(ps);
        log_debug("shim exits");
        return 0;
}
