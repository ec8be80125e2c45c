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
#include "error.h"
#include "fileio.h"
#include "harden.h"
#include "image.h"
#include "log.h"
#include "macro.h"
#include "netns.h"
#include "pollset.h"
#include "relay.h"
#include "rootfs.h"
#include "run-options.h"
#include "run.h"
#include "sandbox.h"
#include "state.h"
#include "terminal.h"
#include "timeutil.h"
#include "usernet.h"

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
 * a one-line error and nothing is left behind. The mode (--net-mode, the configuration's) was
 * chosen by the caller. */
static int setup_network(const struct global_options *g, struct run_options *o, struct net_user *user,
                         char **ret_error)
{
        _cleanup_free_ char *error = NULL;
        int r;

        if (o->network == RUN_NET_NONE)
                return 0;
        if (o->network == RUN_NET_NS) {
                r = netns_enter(o->netns_path, false);
                if (r < 0)
                        return error_set(ret_error, r, "cannot join the network namespace %s: %s",
                                         o->netns_path, strerror(-r));
                return r;
        }
        struct net_user_config uc = {
            .state_root = state_root(g->root),
            .publish = o->publish,
            .n_publish = o->n_publish,
            .slirp_binary = getenv("HAKO_SLIRP4NETNS"),
        };
        r = net_user_start(&uc, user, &error);
        if (r < 0)
                return error_set(ret_error, r, "cannot set up the user network: %s",
                                 error ? error : strerror(-r));
        r = add_resolv_conf(o, user->resolv_conf);
        if (r < 0)
                return error_set(ret_error, r, "Out of memory");
        return r;
}

void run_warn_no_kvm(const struct global_options *g)
{
        char why[160];

        if (g->accel != HV_ACCEL_KVM && isatty(STDERR_FILENO) &&
            (g->accel == HV_ACCEL_TCG || !hv_kvm_usable(why, sizeof(why))))
                log_warning("no hardware virtualization here, using TCG software emulation (slow)");
}

int run_prepare_guest(struct run_ctx *c, char **ret_error)
{
        int r = setup_network(c->g, &c->o, &c->user, ret_error);

        if (r < 0)
                return r;
        /* The image is shared read-only when an overlay takes the writes: the guest cannot touch it. */
        r = spec_share_rootfs(&c->shares, c->rootfs_host, c->overlay || c->rootfs_ro, NULL, &c->rootfs_guest);
        if (r < 0)
                return error_set(ret_error, r, "cannot share the rootfs: %s", strerror(-r));
        r = spec_prepare(c->spec, c->id, &c->o.c, &c->shares, NULL, ret_error);
        if (r < 0)
                return r;
        /* After spec_prepare: the user is final, the --init bind is the guest's own file. */
        return spec_apply_security(c->spec, &c->o.sec, ret_error);
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

/* What every run does before anything is started: options, image, spec, id. Logs the error. */
static int run_load(struct run_ctx *c, int argc, char **argv)
{
        _cleanup_free_ char *error = NULL;
        int r;

        r = run_options_parse(argc, argv, &c->o, &error);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                return r;
        }
        if (c->o.debug)
                log_set_level(LOG_LEVEL_DEBUG);

        r = image_resolve(c->o.image, &c->img, &error);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                return r;
        }
        if (c->img.kind == IMAGE_BUNDLE) {
                r = spec_load_bundle(c->img.bundle_dir, &c->spec, &c->rootfs_host, &c->rootfs_ro, &error);
                if (r >= 0)
                        r = rootfs_make_mountpoints(c->rootfs_host, c->spec, &error);
                if (r < 0) {
                        log_error("bad bundle %s: %s", c->img.bundle_dir, error ? error : strerror(-r));
                        return r;
                }
                c->overlay = false; /* like runc: the bundle's rootfs is the container's, writes land there */
                /* A bundle's config says what its process gets; flags only change what they name. */
                if (c->o.sec.seccomp == SPEC_SECCOMP_DEFAULT)
                        c->o.sec.seccomp = SPEC_SECCOMP_KEEP;
                c->o.sec.docker_caps = false;
        } else {
                c->spec = spec_default();
                c->rootfs_host = strdup(c->img.rootfs);
                if (!c->spec || !c->rootfs_host)
                        return log_error_errno(-ENOMEM, "Out of memory");
                /* An image stays pristine: writes go to an overlay on the guest's tmpfs. */
                c->overlay = true;
        }

        if (c->o.name)
                c->id = c->o.name;
        else {
                if (state_new_id(c->idbuf) < 0) {
                        log_error("cannot generate a container id");
                        return -EIO;
                }
                c->id = c->idbuf;
        }
        c->net_mode = NET_MODE_NONE;
        if (c->o.network != RUN_NET_NONE && cli_net_mode(c->g, &c->net_mode) != 0)
                return -EINVAL;
        if (cli_tuning(&c->tuning) != 0)
                return -EINVAL;
        if (c->o.disk_size_set) {
                c->tuning.disk_size = c->o.disk_size;
                c->tuning.no_disk = c->o.disk_size == 0;
        }
        return 0;
}

static void run_ctx_done(struct run_ctx *c)
{
        /* After the VM: slirp4netns goes with the namespace's last user. */
        net_user_stop(&c->user);
        json_decref(c->spec);
        share_table_done(&c->shares);
        image_done(&c->img);
        run_options_done(&c->o);
        free(c->rootfs_host);
        free(c->rootfs_guest);
}

static int run_attached(struct run_ctx *c)
{
        _cleanup_free_ char *error = NULL;
        const struct global_options *g = c->g;
        struct run_options *o = &c->o;
        struct sandbox *sb = NULL;
        struct container *ctr = NULL;
        const char *id = c->id;
        int exit_code = EXIT_HAKO_ERROR, r, sfd = -1;
        sigset_t oldmask;
        long long t0 = mono_ms(), t_prepared = 0, t_started = 0, t_exited = 0;

        r = run_prepare_guest(c, &error);
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                return EXIT_HAKO_ERROR;
        }

        sfd = relay_signalfd(&oldmask);
        if (sfd < 0) {
                log_error_errno(sfd, "Failed to set up signal handling: %m");
                return EXIT_HAKO_ERROR;
        }

        state_gc(state_root(g->root));
        run_warn_no_kvm(g);
        t_prepared = mono_ms();
        struct sandbox_config sc = {
            .id = id,
            .state_root = g->root,
            .machine = o->machine,
            .accel = g->accel,
            .vcpus = o->vcpus,
            .memory_mib = o->vm_memory_mib,
            .shares = &c->shares,
            .net_mode = c->net_mode,
            .tuning = c->tuning,
            .boot_timeout_ms = g->boot_timeout_ms,
            .debug = o->debug,
        };
        r = sandbox_create(&sc, &sb, &error);
        if (r < 0) {
                log_error("cannot start container '%s': %s", id, error ? error : strerror(-r));
                goto out;
        }
        agent_client_set_interrupt_fd(&sb->agent, sfd);
        free(error);
        error = NULL;

        r = create_container(sb, id, c->spec, c->rootfs_guest, c->overlay, c->rootfs_ro, o, &ctr, &exit_code,
                             &error);
        if (r < 0) {
                if (r == -EINTR)
                        exit_code = 130;
                log_error("cannot start container '%s': %s", id, error ? error : strerror(-r));
                goto out;
        }
        r = harden_host_process();
        if (r < 0) {
                log_error_errno(r, "Failed to give up the host process's privileges: %m");
                goto out;
        }
        t_started = mono_ms();

        if (o->tty && o->interactive && isatty(STDIN_FILENO))
                term_raw(STDIN_FILENO);
        r = process_relay(ctr->init, o->interactive ? STDIN_FILENO : -1, STDOUT_FILENO, STDERR_FILENO,
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
                } else if (agent_client_error(&sb->agent))
                        log_error("Lost the container '%s': %s", id, agent_client_error(&sb->agent));
                else
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
                sandbox_destroy(sb, !o->rm);
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
        safe_close(sfd);
        return exit_code;
}

int cmd_run(int argc, char **argv, const struct global_options *g)
{
        struct run_ctx c = {.g = g};
        int code;

        net_user_init(&c.user);
        if (run_load(&c, argc, argv) < 0)
                code = EXIT_HAKO_ERROR;
        else
                code = c.o.detach ? run_detached(&c) : run_attached(&c);
        run_ctx_done(&c);
        return code;
}
