/* SPDX-License-Identifier: Apache-2.0 */
#include "usernet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "macro.h"
#include "ownerns.h"

#define RESOLV_CONF "/etc/resolv.conf"

void net_user_init(struct net_user *u)
{
        *u = (struct net_user){.slirp = {.pidfd = -1, .exit_fd = -1, .dir_fd = -1},
                               .guard = {.links = {-1, -1, -1, -1}}};
}

/* The host's resolvers may be on the host itself (systemd-resolved's 127.0.0.53, a local
 * dnsmasq): slirp4netns forwards the guest's DNS to them, so the guard lets port 53 of each
 * through, nothing else of theirs. */
static size_t resolvers(const char *conf, struct net_guard_allow *ret, size_t max)
{
        size_t n = 0;

        for (const char *l = conf; l && *l && n < max; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                char addr[64];
                if (sscanf(l, "nameserver %63s", addr) != 1)
                        continue;
                ret[n] = (struct net_guard_allow){.family = AF_INET, .port = 53};
                if (inet_pton(AF_INET, addr, ret[n].addr) == 1)
                        n++;
                else if ((ret[n].family = AF_INET6, inet_pton(AF_INET6, addr, ret[n].addr) == 1))
                        n++;
        }
        return n;
}

/* The container's resolv.conf: slirp4netns's forwarder, the host's search list and options. */
static int write_resolv_conf(const char *path, const char *host_conf)
{
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        if (!f)
                return -ENOMEM;
        fputs("nameserver " NET_SLIRP_DNS "\n", f);
        for (const char *l = host_conf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                size_t n = strcspn(l, "\n");
                if (!strncmp(l, "search ", 7) || !strncmp(l, "domain ", 7) || !strncmp(l, "options ", 8))
                        fprintf(f, "%.*s\n", (int)n, l);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        return write_file_atomic(path, out, len, 0644);
}

int net_user_start(const struct net_user_config *c, struct net_user *ret, char **ret_error)
{
        struct net_user u;
        struct net_guard_allow allow[3];
        _cleanup_free_ char *host_conf = NULL;
        _cleanup_close_ int userns = -1, netns = -1;
        size_t n_allow;
        int r;

        net_user_init(&u);
        (void)read_full_file(RESOLV_CONF, 64 * 1024, &host_conf, NULL);
        n_allow = resolvers(host_conf, allow, ELEMENTSOF(allow));

        r = mkdir_p(c->state_root, 0711);
        if (r < 0)
                return error_set(ret_error, r, "cannot create %s: %s", c->state_root, strerror(-r));
        if (asprintf(&u.dir, "%s/.net-%d", c->state_root, (int)getpid()) < 0 ||
            asprintf(&u.resolv_conf, "%s/resolv.conf", u.dir) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        (void)rm_rf(u.dir);
        /* slirp4netns makes its API socket here, as its user. */
        if (mkdir(u.dir, 0700) < 0 || chown(u.dir, NET_SLIRP_UID, NET_SLIRP_UID) < 0 ||
            (u.slirp.dir_fd = open(u.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                r = negative_errno();
                error_set(ret_error, r, "cannot create %s: %s", u.dir, strerror(-r));
                goto fail;
        }
        r = write_resolv_conf(u.resolv_conf, host_conf);
        if (r < 0) {
                error_set(ret_error, r, "cannot write %s: %s", u.resolv_conf, strerror(-r));
                goto fail;
        }
        r = net_guard_open(allow, n_allow, &u.guard, ret_error);
        if (r < 0)
                goto fail;
        r = net_ownerns_make(NET_SLIRP_UID, NET_SLIRP_UID, &userns, &netns);
        if (r < 0) {
                error_set(ret_error, r, "cannot create the network namespace: %s", strerror(-r));
                goto fail;
        }
        struct net_slirp_config sc = {
            .binary = c->slirp_binary,
            .userns_fd = userns,
            .netns_fd = netns,
            .dir_fd = u.slirp.dir_fd,
            .guard = &u.guard,
        };
        int dir_fd = u.slirp.dir_fd;
        r = net_slirp_start(&sc, &u.slirp, ret_error);
        if (r < 0) {
                u.slirp.dir_fd = dir_fd;
                goto fail;
        }
        for (size_t i = 0; i < c->n_publish; i++) {
                r = net_slirp_forward(&u.slirp, &c->publish[i], ret_error);
                if (r < 0)
                        goto fail;
        }
        if (setns(netns, CLONE_NEWNET) < 0) {
                r = negative_errno();
                error_set(ret_error, r, "cannot enter the network namespace: %s", strerror(-r));
                goto fail;
        }
        *ret = u;
        return 0;
fail:
        net_user_stop(&u);
        return r;
}

void net_user_stop(struct net_user *u)
{
        net_slirp_stop(&u->slirp);
        net_guard_close(&u->guard);
        u->slirp.dir_fd = safe_close(u->slirp.dir_fd);
        if (u->dir)
                (void)rm_rf(u->dir);
        free(u->dir);
        free(u->resolv_conf);
        u->dir = u->resolv_conf = NULL;
}
