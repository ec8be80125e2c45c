/* SPDX-License-Identifier: Apache-2.0 */
#include "slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "macro.h"
#include "spawn.h"
#include "timeutil.h"

#ifndef SECBIT_KEEP_CAPS
#define SECBIT_KEEP_CAPS (1 << 4)
#endif

/* What slirp4netns says before it is ready, kept for an error message. */
#define STDERR_MAX 2048

/* The fds slirp4netns gets, in this order from 3 on (spawn_opts.pass_fds). */
enum { FD_READY = 3, FD_EXIT, FD_DIR, FD_USERNS, FD_NETNS, FD_LINK0 };

struct child_ctx {
        const struct net_guard *guard;
        pid_t parent;
};

/* In the child, before exec (async-signal-safe only). The guard's cgroup; a private mount
 * namespace with a tun device node the unprivileged user may open (the host's /dev/net/tun is
 * often root-only; the namespace's owner may create taps, the node is all that is missing); then
 * NET_SLIRP_UID with CAP_NET_BIND_SERVICE alone (ambient, so it survives the exec). */
static int child_setup(void *userdata)
{
        const struct child_ctx *c = userdata;
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2] = {{0}};
        const uid_t uid = NET_SLIRP_UID;

        if (net_guard_enter(c->guard) < 0)
                return -EPERM;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=4k,nr_inodes=4") < 0 ||
            mknod("/dev/net/tun", S_IFCHR | 0600, makedev(10, 200)) < 0 ||
            chown("/dev/net/tun", uid, uid) < 0)
                return negative_errno();
        signal(SIGPIPE, SIG_IGN); /* its stderr pipe closes once it is ready */
        for (int cap = 0; cap <= 63; cap++)
                if (cap != CAP_NET_BIND_SERVICE && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
                    errno != EINVAL)
                        return negative_errno();
        if (prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
            setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                return negative_errno();
        data[0].effective = data[0].permitted = data[0].inheritable = 1u << CAP_NET_BIND_SERVICE;
        if (syscall(SYS_capset, &hdr, data) < 0 ||
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) < 0 ||
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();
        /* A new uid cleared the parent-death signal. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return negative_errno();
        return getppid() == c->parent ? 0 : -ESRCH;
}

/* Its stderr so far, one line, without the noise. */
static void last_words(const char *buf, char *ret, size_t size)
{
        size_t n = 0;

        for (const char *p = buf; *p && n + 1 < size; p++)
                ret[n++] = *p == '\n' ? ';' : (*p >= 32 && *p < 127 ? *p : '?');
        while (n > 0 && (ret[n - 1] == ';' || ret[n - 1] == ' '))
                n--;
        ret[n] = 0;
}

/* Until slirp4netns writes to its ready fd; its stderr is collected meanwhile. */
static int wait_ready(struct net_slirp *s, int ready_fd, int err_fd, char **ret_error)
{
        char err[STDERR_MAX + 1] = "", words[STDERR_MAX + 1];
        size_t n = 0;
        long long deadline = mono_ms() + NET_SLIRP_TIMEOUT_MS;
        bool err_open = true;

        for (;;) {
                struct pollfd p[3] = {{.fd = ready_fd, .events = POLLIN},
                                      {.fd = err_open ? err_fd : -1, .events = POLLIN},
                                      {.fd = s->pidfd, .events = POLLIN}};
                long long left = deadline - mono_ms();
                char c;

                if (left <= 0) {
                        last_words(err, words, sizeof(words));
                        return error_set(ret_error, -ETIMEDOUT, "slirp4netns did not get ready in %d s%s%s",
                                         NET_SLIRP_TIMEOUT_MS / 1000, *words ? ": " : "", words);
                }
                if (poll(p, 3, (int)left) < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (p[1].revents) {
                        ssize_t k = read(err_fd, err + n, STDERR_MAX - n);
                        if (k > 0) {
                                n += (size_t)k;
                                err[n] = 0;
                        } else if (k == 0 || (errno != EINTR && errno != EAGAIN))
                                err_open = false;
                        if (n == STDERR_MAX) /* enough for a message; the rest can wait */
                                err_open = false;
                }
                if (p[0].revents & POLLIN && read(ready_fd, &c, 1) == 1)
                        return 0;
                if (p[0].revents & (POLLHUP | POLLERR) || p[2].revents) {
                        /* It exited: what it said is all on the pipe by now. */
                        while (err_open && n < STDERR_MAX) {
                                ssize_t k = read(err_fd, err + n, STDERR_MAX - n);
                                if (k <= 0)
                                        break;
                                n += (size_t)k;
                        }
                        err[n] = 0;
                        last_words(err, words, sizeof(words));
                        return error_set(ret_error, -EIO, "slirp4netns failed%s%s", *words ? ": " : "",
                                         *words ? words : " without a message");
                }
        }
}

int net_slirp_start(const struct net_slirp_config *c, struct net_slirp *ret, char **ret_error)
{
        _cleanup_close_ int ready_r = -1, ready_w = -1, exit_r = -1, exit_w = -1, err_r = -1, err_w = -1;
        struct net_slirp s = {.pidfd = -1, .exit_fd = -1, .dir_fd = c->dir_fd};
        struct child_ctx ctx = {.guard = c->guard, .parent = getpid()};
        char mtu[16], ready[8], exitfd[8], api[64], userns[32], netns[32];
        int fds[FD_LINK0 - 3 + NET_GUARD_LINKS], p[2], r;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        ready_r = p[0], ready_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        exit_r = p[0], exit_w = p[1];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        err_r = p[0], err_w = p[1];
        snprintf(mtu, sizeof(mtu), "%d", NET_SLIRP_MTU);
        snprintf(ready, sizeof(ready), "%d", FD_READY);
        snprintf(exitfd, sizeof(exitfd), "%d", FD_EXIT);
        snprintf(api, sizeof(api), "/proc/self/fd/%d/api.sock", FD_DIR);
        snprintf(userns, sizeof(userns), "/proc/self/fd/%d", FD_USERNS);
        snprintf(netns, sizeof(netns), "/proc/self/fd/%d", FD_NETNS);
        const char *argv[] = {c->binary ? c->binary : "slirp4netns",
                              "--configure",
                              "--mtu",
                              mtu,
                              "--disable-host-loopback",
                              "--enable-seccomp",
                              "--ready-fd",
                              ready,
                              "--exit-fd",
                              exitfd,
                              "--api-socket",
                              api,
                              "--userns-path",
                              userns,
                              "--netns-type",
                              "path",
                              netns,
                              NET_SLIRP_IFNAME,
                              NULL};
        fds[FD_READY - 3] = ready_w;
        fds[FD_EXIT - 3] = exit_r;
        fds[FD_DIR - 3] = c->dir_fd;
        fds[FD_USERNS - 3] = c->userns_fd;
        fds[FD_NETNS - 3] = c->netns_fd;
        /* It holds the links too: the filter stays on until it is gone, even if we die first. */
        for (size_t i = 0; i < NET_GUARD_LINKS; i++)
                fds[FD_LINK0 - 3 + i] = c->guard->links[i];
        struct spawn_opts o = {
            .argv = argv,
            .pass_fds = fds,
            .n_pass_fds = (int)ELEMENTSOF(fds),
            .stdin_fd = -1,
            .stdout_fd = -1,
            .stderr_fd = err_w,
            .new_session = 1,
            .pre_exec = child_setup,
            .userdata = &ctx,
        };
        r = spawn_process(&o, &s.pid, &s.pidfd);
        if (r < 0)
                return error_set(ret_error, r, "cannot start slirp4netns: %s%s", strerror(-r),
                                 r == -ENOENT ? " (apt-get install slirp4netns)" : "");
        ready_w = safe_close(ready_w);
        exit_r = safe_close(exit_r);
        err_w = safe_close(err_w);
        s.exit_fd = TAKE_FD(exit_w);
        r = wait_ready(&s, ready_r, err_r, ret_error);
        if (r < 0) {
                s.dir_fd = -1;
                net_slirp_stop(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* One request on a connection of its own, the answer read to EOF (at most 4 KiB). */
static int api_call(const struct net_slirp *s, const char *req, char *answer, size_t size)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;
        size_t n = 0;
        int r = -ENOENT;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/api.sock", s->dir_fd);
        /* Ready means the tap is up; the API socket comes a moment later. */
        for (int attempt = 0; attempt < 300; attempt++) {
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return negative_errno();
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                        r = 0;
                        break;
                }
                r = negative_errno();
                fd = safe_close(fd);
                if (r != -ENOENT && r != -ECONNREFUSED)
                        return r;
                nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
        }
        if (r < 0)
                return r;
        struct timeval tv = {.tv_sec = 5};
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) || shutdown(fd, SHUT_WR) < 0)
                return negative_errno();
        while (n + 1 < size) {
                ssize_t k = recv(fd, answer + n, size - 1 - n, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        answer[n] = 0;
        return 0;
}

int net_slirp_forward(const struct net_slirp *s, const struct net_publish *p, char **ret_error)
{
        char addr[INET6_ADDRSTRLEN] = "0.0.0.0", req[256], answer[4096], desc[256] = "";
        const char *d;
        int r;

        if (p->family == AF_INET6)
                return error_set(ret_error, -EAFNOSUPPORT,
                                 "cannot publish on an IPv6 address: the user network forwards IPv4 only");
        if (p->family == AF_INET)
                inet_ntop(AF_INET, p->addr, addr, sizeof(addr));
        snprintf(req, sizeof(req),
                 "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"%s\",\"host_addr\":\"%s\","
                 "\"host_port\":%u,\"guest_addr\":\"" NET_SLIRP_GUEST "\",\"guest_port\":%u}}",
                 p->udp ? "udp" : "tcp", addr, p->host_port, p->container_port);
        r = api_call(s, req, answer, sizeof(answer));
        if (r < 0)
                return error_set(ret_error, r, "cannot reach slirp4netns to publish port %u: %s",
                                 p->host_port, strerror(-r));
        if (strstr(answer, "\"return\""))
                return 0;
        d = strstr(answer, "\"desc\":\"");
        if (d)
                sscanf(d + 8, "%255[^\"]", desc);
        return error_set(ret_error, -EADDRINUSE, "cannot publish %s:%u/%s (in use?): %s", addr, p->host_port,
                         p->udp ? "udp" : "tcp", *desc ? desc : "refused");
}

void net_slirp_stop(struct net_slirp *s)
{
        /* Closing its exit fd ends it; a kill if it does not go in time. */
        s->exit_fd = safe_close(s->exit_fd);
        if (s->pid > 0) {
                struct pollfd p = {.fd = s->pidfd, .events = POLLIN};
                if (s->pidfd < 0 || poll(&p, 1, 2000) <= 0)
                        kill(s->pid, SIGKILL);
                while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                s->pid = 0;
        }
        s->pidfd = safe_close(s->pidfd);
}
