/* SPDX-License-Identifier: Apache-2.0 */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "guard.h"
#include "macro.h"
#include "netconf.h"
#include "ownerns.h"
#include "slirp.h"

#define REASON_MAX 400

static int try_mode(struct net_config *c, enum net_mode mode, char *reason, size_t size)
{
        _cleanup_free_ char *err = NULL;
        _cleanup_close_ int tun = -1;
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
        struct net_attachment a;
        char scratch[] = "/tmp/hako-probe-XXXXXX";
        int r;

        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                r = negative_errno();
                snprintf(reason, size, "cannot make a throwaway namespace: %s", strerror(-r));
                return r;
        }
        tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "probe0");
        if (tun < 0 || ioctl(tun, TUNSETIFF, &ifr) < 0) {
                r = negative_errno();
                snprintf(reason, size, "cannot create a tap (/dev/net/tun): %s", strerror(-r));
                return r;
        }
        r = net_scan(c);
        if (r < 0 || c->n_ifaces != 1) {
                snprintf(reason, size, "cannot read the namespace: %s", strerror(r < 0 ? -r : ENODEV));
                return r < 0 ? r : -ENODEV;
        }
        if (!mkdtemp(scratch)) {
                r = negative_errno();
                snprintf(reason, size, "cannot create %s: %s", scratch, strerror(-r));
                return r;
        }
        r = net_attach(&c->ifaces[0], mode, scratch, &a, &err);
        if (r >= 0)
                net_detach(&a);
        else
                snprintf(reason, size, "%s", err ? err : strerror(-r));
        rmdir(scratch);
        return r;
}

int net_probe_mode(enum net_mode mode, char **ret_reason)
{
        int p[2], r = 0;
        char reason[REASON_MAX] = "";
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        if (pid == 0) {
                safe_close(p[0]);
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                struct net_config *c = calloc(1, sizeof(*c));
                r = c ? try_mode(c, mode, reason, sizeof(reason)) : -ENOMEM;
                if (write(p[1], &r, sizeof(r)) == sizeof(r))
                        (void)!write(p[1], reason, strlen(reason));
                _exit(0);
        }
        safe_close(p[1]);
        if (read(p[0], &r, sizeof(r)) != sizeof(r))
                r = -EIO;
        else {
                ssize_t n = read(p[0], reason, sizeof(reason) - 1);
                reason[n > 0 ? n : 0] = 0;
        }
        safe_close(p[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return error_set(ret_reason, r, "%s", *reason ? reason : strerror(-r));
        return 0;
}

static bool in_path(const char *name)
{
        const char *path = getenv("PATH");
        char copy[4096];

        if (strchr(name, '/'))
                return access(name, X_OK) == 0;
        snprintf(copy, sizeof(copy), "%s", path ? path : "/usr/bin:/bin");
        for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char full[4096];
                snprintf(full, sizeof(full), "%s/%s", d, name);
                if (access(full, X_OK) == 0)
                        return true;
        }
        return false;
}

int net_probe_user(const char *slirp_binary, char **ret_reason)
{
        const char *slirp = slirp_binary ? slirp_binary : "slirp4netns";
        int userns = -1, netns = -1, r;

        if (!in_path(slirp))
                return error_set(ret_reason, -ENOENT, "%s not found (apt-get install slirp4netns)", slirp);
        r = net_ownerns_make(NET_SLIRP_UID, NET_SLIRP_UID, &userns, &netns);
        if (r < 0)
                return error_set(ret_reason, r, "cannot make a network namespace owned by uid %d: %s",
                                 NET_SLIRP_UID, strerror(-r));
        safe_close(userns);
        safe_close(netns);
        return net_guard_probe(ret_reason);
}
