/* SPDX-License-Identifier: Apache-2.0 */
/* hako run: one container in a fresh microVM, attached to the caller's terminal. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "container.h"
#include "fileio.h"
#include "image.h"
#include "log.h"
#include "macro.h"
#include "netns.h"
#include "pollset.h"
#include "relay.h"
#include "rootfs.h"
#include "run-options.h"
#include "sandbox.h"
#include "state.h"
#include "terminal.h"
#include "timeutil.h"
#include "usernet.h"

/* Docker's exit codes for failures that are not the container's own. */
#define EXIT_HAKO_ERROR  125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND   127

static int create_container(struct sandbox *sb, const char *id, json_t *spec, const char *rootfs_guest,
                            bool overlay, bool ro, const struct run_options *o, struct container **ret,
                            int *ret_exit, char **ret_error)
{
        struct winsize ws = {0};
        int r;

        if (o->tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
        struct container_config cc = {
            .id = id,
            .spec = spec,
            .rootfs_guest = rootfs_guest,
            .overlay = overlay,
            .readonly = ro,
            .tty = o->tty,
            .rows = ws.ws_row,
            .columns = ws.ws_col,
        };
        r = container_create(sb, &cc, ret, ret_error);
        if (r >= 0)
                r = container_start(*ret, ret_error);
        *ret_exit = container_create_exit_code(r);
        return r;
}

/* The container's /etc/resolv.conf from the user network, unless a volume gives one. */
static int add_resolv_conf(struct run_options *o, const char *host_path)
{
        struct volume *v;

        for (size_t i = 0; i < o->c.n_volumes; i++)
                if (!strcmp(o->c.volumes[i].container, "/etc/resolv.conf") ||
                    !strcmp(o->c.volumes[i].container, "/etc"))
                        return 0;
        v = realloc(o->c.volumes, (o->c.n_volumes + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        o->c.volumes = v;
        v = &v[o->c.n_volumes];
        *v = (struct volume){
            .host = strdup(host_path), .container = strdup("/etc/resolv.conf"), .readonly = true};
        if (!v->host || !v->container) {
                free(v->host);
                free(v->container);
                return -ENOMEM;
        }
        o->c.n_volumes++;
        return 0;
}

/* The network namespace the sandbox starts in (netns.h), before any VM exists: a failure here is
 * a one-line error and nothing is left behind. */
static int setup_network(const struct global_options *g, struct run_options *o, struct net_user *user,
                         enum net_mode *ret_mode)
{
        _cleanup_free_ char *error = NULL;
        int r;

        *ret_mode = NET_MODE_NONE;
        if (o->network == RUN_NET_NONE)
                return 0;
        if (cli_net_mode(g, ret_mode) != 0)
                return -EINVAL;
        if (o->network == RUN_NET_NS) {
                r = netns_enter(o->netns_path, false);
                if (r < 0)
                        log_error("cannot join the network namespace %s: %s", o->netns_path, strerror(-r));
                return r;
        }
        struct net_user_config uc = {
            .state_root = state_root(g->root),
            .publish = o->publish,
            .n_publish = o->n_publish,
            .slirp_binary = getenv("HAKO_SLIRP4NETNS"),
        };
        r = net_user_start(&uc, user, &error);
        if (r < 0) {
                log_error("cannot set up the user network: %s", error ? error : strerror(-r));
                return r;
        }
        r = add_resolv_conf(o, user->resolv_conf);
        if (r < 0)
                log_error_errno(r, "Out of memory");
        return r;
}

struct run_loop {
        struct container *c;
        int signal_fd;
        bool vm_gone, done;
};

static void on_exit_of(void *userdata, struct process *p)
{
        struct run_loop *l = userdata;
        l->done = l->done || p == l->c->init;
}

static void on_signal(void *userdata, short revents)
{
        struct run_loop *l = userdata;
        (void)revents;
        relay_forward_signals(l->c->init->relay, l->signal_fd);
}

static void on_vm_exit(void *userdata, short revents)
{
        (void)revents;
        ((struct run_loop *)userdata)->vm_gone = true;
}

/* The container's init until it is done, forwarding what signal_fd delivers (SIGWINCH resizes).
 * Returns 0 with its exit code, -ECHILD when the VM died, or -errno. */
static int run_until_exit(struct container *c, int signal_fd, int *ret_exit_code)
{
        struct run_loop l = {.c = c, .signal_fd = signal_fd};
        _cleanup_free_ struct pollset *ps = malloc(sizeof(*ps));
        int r;

        if (!ps)
                return -ENOMEM;
        for (;;) {
                pollset_reset(ps);
                r = sandbox_reap(c->sb, ps, on_exit_of, &l);
                if (r < 0)
                        return r;
                if (l.done) {
                        *ret_exit_code = c->init->exit_code;
                        return 0;
                }
                if (l.vm_gone)
                        return -ECHILD;
                sandbox_poll_add(c->sb, ps);
                (void)pollset_add(ps, signal_fd, POLLIN, on_signal, &l);
                (void)pollset_add(ps, c->sb->vm->pidfd, POLLIN, on_vm_exit, &l);
                r = pollset_wait(ps);
                if (r < 0)
                        return r;
        }
}

int cmd_run(int argc, char **argv, const struct global_options *g)
{
        _cleanup_free_ char *error = NULL, *rootfs_host = NULL;
        struct run_options o;
        struct image img = {0};
        struct sandbox *sb = NULL;
        struct container *ctr = NULL;
        json_t *spec = NULL;
        struct share_table shares = {0};
        struct net_user user;
        enum net_mode net_mode = NET_MODE_NONE;
        _cleanup_free_ char *rootfs_guest = NULL;
        char idbuf[13];
        const char *id;
        bool rootfs_ro = false, overlay;
        int exit_code = EXIT_HAKO_ERROR, r, sfd = -1;
        sigset_t oldmask;
        long long t0 = mono_ms(), t_prepared = 0, t_started = 0, t_exited = 0;

        net_user_init(&user);
        r = run_options_parse(argc, argv, &o, &error);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                return EXIT_HAKO_ERROR;
        }
        if (o.debug)
                log_set_level(LOG_LEVEL_DEBUG);

        r = image_resolve(o.image, &img, &error);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                goto out;
        }
        if (img.kind == IMAGE_BUNDLE) {
                r = spec_load_bundle(img.bundle_dir, &spec, &rootfs_host, &rootfs_ro, &error);
                if (r < 0) {
                        log_error("bad bundle %s: %s", img.bundle_dir, error ? error : strerror(-r));
                        goto out;
                }
                r = rootfs_make_mountpoints(rootfs_host, spec, &error);
                if (r < 0) {
                        log_error("bad bundle %s: %s", img.bundle_dir, error ? error : strerror(-r));
                        goto out;
                }
                overlay = false; /* like runc: the bundle's rootfs is the container's, writes land there */
        } else {
                spec = spec_default();
                rootfs_host = strdup(img.rootfs);
                if (!spec || !rootfs_host) {
                        log_error_errno(-ENOMEM, "Out of memory");
                        goto out;
                }
                /* An image stays pristine: writes go to an overlay on the guest's tmpfs. */
                overlay = true;
        }

        if (o.name)
                id = o.name;
        else {
                if (state_new_id(idbuf) < 0) {
                        log_error("cannot generate a container id");
                        goto out;
                }
                id = idbuf;
        }

        if (setup_network(g, &o, &user, &net_mode) < 0)
                goto out;

        /* The image is shared read-only when an overlay takes the writes: the guest cannot touch it. */
        r = spec_share_rootfs(&shares, rootfs_host, overlay || rootfs_ro, NULL, &rootfs_guest);
        if (r < 0) {
                log_error_errno(r, "Failed to share the rootfs: %m");
                goto out;
        }
        r = spec_prepare(spec, id, &o.c, &shares, NULL, &error);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                goto out;
        }

        sfd = relay_signalfd(&oldmask);
        if (sfd < 0) {
                log_error_errno(sfd, "Failed to set up signal handling: %m");
                goto out;
        }

        state_gc(state_root(g->root));
        if (g->accel != HV_ACCEL_KVM && isatty(STDERR_FILENO)) {
                char why[160];
                if (g->accel == HV_ACCEL_TCG || !hv_kvm_usable(why, sizeof(why)))
                        log_warning("no hardware virtualization here, using TCG software emulation (slow)");
        }
        t_prepared = mono_ms();
        struct sandbox_config sc = {
            .id = id,
            .state_root = g->root,
            .machine = o.machine,
            .accel = g->accel,
            .vcpus = o.vcpus,
            .memory_mib = o.vm_memory_mib,
            .shares = &shares,
            .net_mode = net_mode,
            .boot_timeout_ms = g->boot_timeout_ms,
            .debug = o.debug,
        };
        r = sandbox_create(&sc, &sb, &error);
        if (r < 0) {
                log_error("cannot start container '%s': %s", id, error ? error : strerror(-r));
                goto out;
        }
        agent_client_set_interrupt_fd(&sb->agent, sfd);
        free(error);
        error = NULL;

        r = create_container(sb, id, spec, rootfs_guest, overlay, rootfs_ro, &o, &ctr, &exit_code, &error);
        if (r < 0) {
                if (r == -EINTR)
                        exit_code = 130;
                log_error("cannot start container '%s': %s", id, error ? error : strerror(-r));
                goto out;
        }
        t_started = mono_ms();

        if (o.tty && o.interactive && isatty(STDIN_FILENO))
                term_raw(STDIN_FILENO);
        r = process_relay(ctr->init, o.interactive ? STDIN_FILENO : -1, STDOUT_FILENO, STDERR_FILENO,
                          isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO);
        if (r >= 0)
                r = run_until_exit(ctr, sfd, &exit_code);
        term_restore();
        t_exited = mono_ms();
        if (r < 0) {
                exit_code = EXIT_HAKO_ERROR;
                if (r == -ECHILD || r == -ECONNRESET) {
                        _cleanup_free_ char *tail = NULL;
                        read_file_tail(sb->vm->ops->console(sb->vm), 8, &tail);
                        log_error("the VM of container '%s' exited unexpectedly%s%s", id,
                                  tail ? "; last console lines:\n" : "", tail ? tail : "");
                } else
                        log_error_errno(r, "Lost the container '%s': %m", id);
        }
out:
        if (sb) {
                char code[16];
                long long t_vm = sb->t_vm_spawned, t_agent = sb->t_agent_ready, t_sb = sb->t_sandbox_ready;
                bool restored = sb->restored;
                long long t_teardown = mono_ms();
                snprintf(code, sizeof(code), "%d", exit_code);
                state_write(sb->state_dir, "exit_code", code);
                sandbox_destroy(sb, !o.rm);
                sb = NULL;
                if (getenv("HAKO_TIMING") && t_started)
                        fprintf(stderr,
                                "hako-timing: total_ms=%lld prepare_ms=%lld vm_spawn_ms=%lld "
                                "boot_to_agent_ms=%lld "
                                "sandbox_setup_ms=%lld container_create_start_ms=%lld run_ms=%lld "
                                "teardown_ms=%lld boot=%s\n",
                                mono_ms() - t0, t_prepared - t0, t_vm - t_prepared, t_agent - t_vm,
                                t_sb - t_agent, t_started - t_sb, t_exited - t_started,
                                mono_ms() - t_teardown, restored ? "template" : "cold");
        }
        /* After the VM: slirp4netns goes with the namespace's last user. */
        net_user_stop(&user);
        if (spec)
                json_decref(spec);
        share_table_done(&shares);
        image_done(&img);
        run_options_done(&o);
        safe_close(sfd);
        return exit_code;
}
