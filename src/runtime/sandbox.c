/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "assets.h"
#include "container.h"
#include "disk.h"
#include "fileio.h"
#include "jail-id.h"
#include "log.h"
#include "error.h"
#include "macro.h"
#include "mountns.h"
#include "timeutil.h"
#include "vsock.h"
#include "state.h"
#include "template.h"

#define AGENT_CALL_TIMEOUT_MS 30000

/* The VM failed to come up: say why, with the end of what the guest printed. */
static void boot_failure(struct sandbox *sb, const char *what, char **ret_error)
{
        _cleanup_free_ char *tail = NULL, *qerr = NULL, *qerr_path = NULL;
        const char *console = sb->vm ? sb->vm->ops->console(sb->vm) : NULL;

        if (console) {
                read_file_tail(console, 12, &tail);
                if (asprintf(&qerr_path, "%s.qemu-stderr", console) >= 0)
                        read_file_tail(qerr_path, 5, &qerr);
        }
        error_set(ret_error, 0, "%s%s%s%s%s", what, qerr && *qerr ? "\nhypervisor said:\n" : "",
                  qerr && *qerr ? qerr : "", tail && *tail ? "\nlast console lines:\n" : "",
                  tail && *tail ? tail : "");
}

/* HAKO_AGENT_TRANSPORT=serial|vsock|auto (default auto: vsock when /dev/vhost-vsock works). */
static bool use_vsock(void)
{
        const char *t = getenv("HAKO_AGENT_TRANSPORT");

        if (t && !strcmp(t, "serial"))
                return false;
        if (t && !strcmp(t, "vsock"))
                return true;
        return hv_vhost_vsock_usable();
}

/* How the VM comes up: a cold boot of the kernel, a boot that only ends in a saved template
 * (no shares), or a restore of that template. */
enum boot_mode {
        BOOT_COLD,
        BOOT_TEMPLATE_BUILD,
        BOOT_RESTORE,
};

/* The first Health call waits for the guest to boot: QEMU holds our bytes until the agent opens
 * its port, so there is nothing to poll for. */
static int sandbox_health(struct sandbox *sb, int timeout_ms, uint64_t *ret_instance, char **ret_error)
{
        Hako__Agent__V1__HealthRequest hreq = HAKO__AGENT__V1__HEALTH_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        _cleanup_free_ char *rerr = NULL;
        struct arena a;
        int r;

        r = arena_init(&a, (size_t)64 * 1024);
        if (r < 0)
                return r;
        r = agent_call(&sb->agent, "Health", &hreq.base, &hako__agent__v1__health_response__descriptor,
                       timeout_ms, &a, &resp, &rerr);
        if (r == 0) {
                Hako__Agent__V1__HealthResponse *h = (Hako__Agent__V1__HealthResponse *)resp;
                if (ret_instance)
                        *ret_instance = h->exec_instance;
                if (h->protocol != HAKO_AGENT_PROTOCOL) {
                        error_set(ret_error, 0,
                                  "guest agent speaks protocol %u, hako needs %u (rebuild the initrd)",
                                  h->protocol, HAKO_AGENT_PROTOCOL);
                        r = -EPROTO;
                }
        }
        arena_done(&a);
        if (r == -ETIMEDOUT) {
                char what[128];
                snprintf(what, sizeof(what), "the guest agent did not answer within %d s", timeout_ms / 1000);
                boot_failure(sb, what, ret_error);
        } else if (r == -ECHILD || r == -ECONNRESET)
                boot_failure(sb, "the VM exited while booting", ret_error);
        else if (r == -EPROTO && rerr && !(ret_error && *ret_error))
                error_set(ret_error, r, "the guest agent broke the protocol: %s", rerr);
        else if (r < 0 && r != -EPROTO)
                boot_failure(sb, "the guest agent failed its health check", ret_error);
        return r;
}

/* Every restore of a template starts from the same agent process image: the agent executes
 * itself again, so this VM's gets an address-space layout and stack canary of its own. */
static int sandbox_reexec_agent(struct sandbox *sb, int timeout_ms, char **ret_error)
{
        Hako__Agent__V1__ReexecRequest req = HAKO__AGENT__V1__REEXEC_REQUEST__INIT;
        _cleanup_free_ char *rerr = NULL;
        uint64_t before = sb->agent_instance;
        uint8_t seed[64];
        int r;

        if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
                return error_set(ret_error, -EIO, "%s", "cannot read host randomness for the guest");
        req.entropy.data = seed;
        req.entropy.len = sizeof(seed);
        r = agent_call(&sb->agent, "Reexec", &req.base, NULL, AGENT_CALL_TIMEOUT_MS, NULL, NULL, &rerr);
        explicit_bzero(seed, sizeof(seed));
        if (r < 0)
                return error_set(ret_error, r, "the restored guest's agent could not re-execute itself: %s",
                                 rerr ? rerr : strerror(-r));
        r = sandbox_health(sb, timeout_ms, &sb->agent_instance, ret_error);
        if (r < 0)
                return r;
        if (sb->agent_instance == before)
                return error_set(ret_error, -EPROTO, "%s", "the restored guest's agent did not re-execute");
        log_debug("sandbox %s: agent re-executed after the restore (instance %016llx, template's %016llx)",
                  sb->id, (unsigned long long)sb->agent_instance, (unsigned long long)before);
        return 0;
}

/* Ends what sandbox_boot() started, so a failed restore can fall back to a cold boot. */
static void sandbox_stop_vm(struct sandbox *sb)
{
        if (sb->vm) {
                sb->vm->ops->stop(sb->vm);
                sb->vm = hv_vm_free(sb->vm);
        }
        virtiofsd_stop(&sb->vfsd);
        if (sb->agent_ready)
                agent_client_done(&sb->agent);
        sb->agent_ready = false;
        sb->agent_fd = safe_close(sb->agent_fd);
}

/* What the guest's command line gets beyond the backend's own: the configured parameters, and
 * the agent's debug switch. NULL: nothing. */
static char *sandbox_cmdline(const struct sandbox_config *cfg)
{
        char *s = NULL;
        const char *params = cfg->kernel_params && *cfg->kernel_params ? cfg->kernel_params : NULL;

        if (!params && !cfg->debug)
                return NULL;
        if (asprintf(&s, "%s%s%s", params ? params : "", params && cfg->debug ? " " : "",
                     cfg->debug ? "hako.debug=1" : "") < 0)
                return NULL;
        return s;
}

/* Starts virtiofsd (unless building a template) and the VM, and waits for the agent's answer. */
static int sandbox_boot(struct sandbox *sb, const struct sandbox_config *cfg, const char *kernel,
                        const char *initrd, enum boot_mode mode, int restore_fd, int ram_fd, char **ret_error)
{
        _cleanup_free_ char *console = NULL, *cmdline = NULL;
        const struct hv_ops *ops = hv_find(cfg->hypervisor);
        bool shares = mode != BOOT_TEMPLATE_BUILD;
        int sp[2] = {-1, -1}, r;

        if (shares) {
                /* The container rootfs itself comes over virtio-fs. */
                _cleanup_free_ struct virtiofsd_share *v = calloc(sb->shares.n + 1, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                for (size_t i = 0; i < sb->shares.n; i++)
                        v[i] = (struct virtiofsd_share){sb->shares.v[i].host, sb->shares.v[i].name,
                                                        sb->shares.v[i].readonly};
                r = virtiofsd_start(sb->state_dir, v, sb->shares.n, &sb->vfsd);
                if (r < 0) {
                        error_set(ret_error, 0, "cannot start virtiofsd (%s): %s", virtiofsd_binary(),
                                  strerror(-r));
                        return r;
                }
                for (size_t i = 0; i < sb->shares.n; i++)
                        sb->shares.v[i].mounted = true;
        }

        /* The agent channel: vsock where the host has vhost-vsock, else a virtio-serial port whose
         * host end is one side of a socketpair handed to QEMU. Templates are serial-only. */
        bool vsock = mode == BOOT_COLD && use_vsock();
        uint32_t cid = vsock ? vsock_pick_cid() : 0;
        if (!vsock) {
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                        return negative_errno();
                sb->agent_fd = sp[0];
                /* Non-blocking: a guest that stops reading makes writes time out, not hang. */
                fd_set_nonblock(sb->agent_fd, 1);
        }
        if (asprintf(&console, "%s/console.log", sb->state_dir) < 0) {
                safe_close(sp[1]);
                return -ENOMEM;
        }
        cmdline = sandbox_cmdline(cfg);
        struct hv_config hc = {
            .binary = cfg->binary,
            .id = cfg->id,
            .state_dir = sb->state_dir,
            .kernel = kernel,
            .initrd = initrd,
            .cmdline_extra = cmdline,
            .machine = mode == BOOT_COLD ? cfg->machine : "pc",
            .accel = cfg->accel,
            .vcpus = cfg->vcpus,
            .memory_mib = cfg->memory_mib,
            .max_vcpus = cfg->max_vcpus,
            .max_memory_mib = cfg->max_memory_mib,
            .agent_fd = sp[1],
            .vsock_cid = cid,
            .virtiofs_fd = shares ? sb->vfsd.qemu_fd : -1,
            .virtiofs_tag = shares ? HAKO_SHARED_TAG : NULL,
            .console_log = console,
            .restore = mode == BOOT_RESTORE,
            .restore_fd = restore_fd,
            .file_ram = ram_fd >= 0,
            .ram_fd = ram_fd,
            .disk_fd = shares ? sb->disk_fd : -1,
            .jail_uid = sb->jail_uid,
            .jail_gid = (gid_t)sb->jail_uid,
            .nics = shares ? sb->net.nics : NULL,
            .n_nics = shares ? sb->net.n : 0,
        };
        r = ops->create(&hc, &sb->vm);
        safe_close(sp[1]);
        /* The VM has its copy: virtiofsd must see the connection close when QEMU dies. */
        if (shares)
                sb->vfsd.qemu_fd = safe_close(sb->vfsd.qemu_fd);
        if (r < 0) {
                error_set(ret_error, 0, "invalid VM configuration: %s", strerror(-r));
                return r;
        }
        r = sb->vm->ops->start(sb->vm);
        if (r < 0) {
                if (r == -ENOENT && !sb->vm->pid)
                        error_set(ret_error, 0, "QEMU not found (apt-get install qemu-system-x86)");
                else
                        boot_failure(sb,
                                     mode == BOOT_RESTORE ? "cannot restore the VM template"
                                                          : "cannot start the VM",
                                     ret_error);
                return r;
        }
        sb->t_vm_spawned = mono_ms();

        if (vsock) {
                r = vsock_connect_wait(cid, HAKO_AGENT_VSOCK_PORT, sb->vm->pidfd, cfg->boot_timeout_ms);
                if (r < 0) {
                        boot_failure(sb,
                                     r == -ETIMEDOUT ? "the guest agent did not listen on vsock in time"
                                                     : "cannot connect to the guest agent over vsock",
                                     ret_error);
                        return r;
                }
                sb->agent_fd = r;
        }

        r = agent_client_init(&sb->agent, sb->agent_fd, sb->vm->pidfd);
        if (r < 0)
                return r;
        sb->agent_ready = true;
        r = sandbox_health(sb, cfg->boot_timeout_ms, &sb->agent_instance, ret_error);
        if (r < 0)
                return r;
        sb->t_agent_ready = mono_ms();
        return 0;
}

/* A uid of its own for the sandbox's jailed VMM (none with no_jail). */
static int sandbox_jail(struct sandbox *sb, const struct sandbox_config *cfg, char **ret_error)
{
        uint32_t base = cfg->tuning.jail_uid_base ? cfg->tuning.jail_uid_base : JAIL_UID_BASE_DEFAULT;
        uint32_t count = cfg->tuning.jail_uid_count ? cfg->tuning.jail_uid_count : JAIL_UID_COUNT_DEFAULT;
        int r;

        if (cfg->tuning.no_jail)
                return 0;
        r = jail_id_acquire(base, count, &sb->jail_uid, &sb->jail_lock_fd);
        if (r < 0)
                return error_set(ret_error, r, "cannot allocate a uid for the VMM's jail in %u..%u: %s", base,
                                 base + count - 1, r == -EAGAIN ? "all in use" : strerror(-r));
        return 0;
}

/* Boots a VM without shares, waits for its agent and saves it as the template `key`. The caller
 * holds the key's lock. */
static int template_build(const struct sandbox_config *cfg, const char *kernel, const char *initrd,
                          const char *key, char **ret_error)
{
        _cleanup_free_ char *tmp = NULL, *tmp_ram = NULL, *dir = NULL;
        _cleanup_close_ int ram = -1;
        struct sandbox t = {.lock_fd = -1,
                            .agent_fd = -1,
                            .disk_fd = -1,
                            .disk_mkfs = {.pidfd = -1},
                            .jail_lock_fd = -1,
                            .vfsd = {.pidfd = -1, .qemu_fd = -1, .dir_fd = -1}};
        int r;

        r = template_build_paths(key, &tmp, &tmp_ram, &dir);
        if (r < 0) {
                error_set(ret_error, 0, "cannot prepare the template directory: %s", strerror(-r));
                return r;
        }
        ram = open(tmp_ram, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (ram < 0 || ftruncate(ram, (off_t)cfg->memory_mib << 20) < 0) {
                r = negative_errno();
                error_set(ret_error, 0, "cannot create the template's RAM file: %s", strerror(-r));
                unlink(tmp_ram);
                return r;
        }
        t.id = (char *)cfg->id;
        t.state_dir = dir;
        r = sandbox_jail(&t, cfg, ret_error);
        /* The jailed QEMU reopens the RAM file through /proc: it has to be the jail's for now. */
        if (r == 0 && t.jail_uid && fchown(ram, t.jail_uid, t.jail_uid) < 0)
                r = error_set(ret_error, negative_errno(),
                              "cannot hand the template's RAM file to the VMM: %m");
        if (r == 0)
                r = sandbox_boot(&t, cfg, kernel, initrd, BOOT_TEMPLATE_BUILD, -1, ram, ret_error);
        if (r == 0) {
                r = t.vm->ops->save(t.vm, tmp);
                if (r < 0)
                        error_set(ret_error, 0, "cannot save the VM template: %s", strerror(-r));
        }
        sandbox_stop_vm(&t);
        safe_close(t.jail_lock_fd);
        if (r == 0 && fchown(ram, 0, 0) < 0)
                r = negative_errno();
        if (r == 0)
                r = template_commit(key, tmp, tmp_ram);
        if (r < 0) {
                unlink(tmp);
                unlink(tmp_ram);
        }
        return r;
}

/* The saved template for this sandbox's shape, built first if there is none yet. -ETIME: the
 * build's guest did not answer in time (*ret_error says so) and the sandbox fails; any other
 * -errno: the sandbox boots cold instead (templates off, a shape or transport they do not cover,
 * another build's lock not released in time (-ETIMEDOUT, hence -ETIME for ours), or a build that
 * failed: then the reason is logged at debug level). */
static int template_for(const struct sandbox_config *cfg, const char *kernel, const char *initrd,
                        char ret_key[TEMPLATE_KEY_LEN + 1], int *ret_fd, int *ret_ram_fd, char **ret_error)
{
        _cleanup_close_ int lock = -1;
        _cleanup_free_ char *err = NULL;
        char reason[160];
        int r;

        /* Templates are pc machines: another machine type boots cold. */
        if (!template_enabled() || cfg->no_templates || (cfg->machine && strcmp(cfg->machine, "pc") != 0) ||
            cfg->debug || use_vsock())
                return -EOPNOTSUPP;
        struct template_shape shape = {
            .qemu = cfg->binary,
            .kernel = kernel,
            .initrd = initrd,
            .cmdline = cfg->kernel_params && *cfg->kernel_params ? cfg->kernel_params : NULL,
            .vcpus = cfg->vcpus,
            .memory_mib = cfg->memory_mib,
            .max_vcpus = cfg->max_vcpus,
            .max_memory_mib = cfg->max_memory_mib,
            .kvm = cfg->accel == HV_ACCEL_KVM ||
                   (cfg->accel == HV_ACCEL_AUTO && hv_kvm_usable(reason, sizeof(reason))),
        };
        r = template_key(&shape, ret_key);
        if (r < 0)
                return r;
        if (template_open(ret_key, ret_fd, ret_ram_fd) == 0)
                return 0;
        if (template_is_broken(ret_key))
                return -ENOEXEC;
        r = template_lock(ret_key, cfg->boot_timeout_ms, &lock);
        if (r < 0)
                return r;
        /* Someone else may have built it while we waited for the lock. */
        if (template_open(ret_key, ret_fd, ret_ram_fd) == 0)
                return 0;
        r = template_build(cfg, kernel, initrd, ret_key, &err);
        if (r == -ETIMEDOUT) {
                /* A guest that does not answer in time would not on a cold boot either: report it
                 * rather than make the caller wait out the timeout twice. */
                if (ret_error)
                        *ret_error = TAKE_PTR(err);
                return -ETIME;
        }
        if (r < 0) {
                log_debug("cannot build the VM template %s (booting cold): %s", ret_key,
                          err ? err : strerror(-r));
                template_mark_broken(ret_key, err ? err : strerror(-r));
                return r;
        }
        return template_open(ret_key, ret_fd, ret_ram_fd);
}

int sandbox_create(const struct sandbox_config *cfg, struct sandbox **ret, char **ret_error)
{
        _cleanup_free_ char *kernel = NULL, *initrd = NULL;
        _cleanup_close_ int restore_fd = -1, template_ram = -1, ram = -1;
        char key[TEMPLATE_KEY_LEN + 1] = "";
        struct sandbox *sb;
        int r;

        if (!hv_find(cfg->hypervisor)) {
                error_set(ret_error, 0, "unknown hypervisor '%s'", cfg->hypervisor);
                return -EINVAL;
        }
        if (cfg->kernel && cfg->initrd) {
                kernel = strdup(cfg->kernel);
                initrd = strdup(cfg->initrd);
                if (!kernel || !initrd)
                        return -ENOMEM;
        } else {
                r = assets_find(&kernel, &initrd, ret_error);
                if (r < 0)
                        return r;
                if (cfg->kernel || cfg->initrd) {
                        char **which = cfg->kernel ? &kernel : &initrd;
                        free(*which);
                        *which = strdup(cfg->kernel ? cfg->kernel : cfg->initrd);
                        if (!*which)
                                return -ENOMEM;
                }
        }

        sb = calloc(1, sizeof(*sb));
        if (!sb)
                return -ENOMEM;
        sb->lock_fd = sb->agent_fd = sb->disk_fd = sb->jail_lock_fd = sb->disk_mkfs.pidfd = -1;
        sb->vfsd.pidfd = sb->vfsd.qemu_fd = sb->vfsd.dir_fd = -1;
        if (cfg->shares) {
                sb->shares = *cfg->shares;
                *cfg->shares = (struct share_table){0};
        }
        sb->t_start = mono_ms();
        sb->vcpus = cfg->vcpus;
        sb->memory_mib = cfg->memory_mib;
        sb->id = strdup(cfg->id);
        if (!sb->id) {
                share_table_done(&sb->shares);
                free(sb);
                return -ENOMEM;
        }
        r = mountns_make_private();
        if (r < 0) {
                error_set(ret_error, r, "cannot make a mount namespace for the sandbox: %s", strerror(-r));
                share_table_done(&sb->shares);
                free(sb->id);
                free(sb);
                return r;
        }
        r = state_create(state_root(cfg->state_root), cfg->id, &sb->state_dir, &sb->lock_fd);
        if (r < 0) {
                if (r == -EEXIST)
                        error_set(ret_error, 0,
                                  "the name '%s' is already in use (a running container, or an exited one: "
                                  "'hako rm %s')",
                                  cfg->id, cfg->id);
                else
                        error_set(ret_error, 0, "cannot create state directory under %s: %s",
                                  state_root(cfg->state_root), strerror(-r));
                share_table_done(&sb->shares);
                free(sb->id);
                free(sb);
                return r;
        }
        state_write(sb->state_dir, "status", "creating");
        char pid[32];
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        state_write(sb->state_dir, "owner", pid);

        /* The interfaces first: one that cannot be attached fails before a VM exists. */
        r = sandbox_net_prepare(&sb->net, cfg->net_mode, cfg->host_network, sb->state_dir, ret_error);
        if (r < 0)
                goto fail;
        r = sandbox_jail(sb, cfg, ret_error);
        if (r < 0)
                goto fail;
        if (!cfg->tuning.no_disk) {
                const char *dir = cfg->tuning.disk_dir ? cfg->tuning.disk_dir : DISK_DIR_DEFAULT;
                r = disk_create(dir, sb->id,
                                cfg->tuning.disk_size ? cfg->tuning.disk_size : DISK_SIZE_DEFAULT,
                                &sb->disk_path, &sb->disk_fd, &sb->disk_mkfs);
                if (r < 0) {
                        error_set(ret_error, r, "cannot create the sandbox's disk in %s: %s", dir,
                                  r == -ENOENT ? "mkfs.ext4 not found (apt-get install e2fsprogs)"
                                               : strerror(-r));
                        goto fail;
                }
                /* Named in the record, so that a sandbox killed before it ends has it collected. */
                state_write(sb->state_dir, "disk", sb->disk_path);
                /* The jailed QEMU reopens it through /proc/self/fd as its own uid. */
                if (sb->jail_uid && fchown(sb->disk_fd, sb->jail_uid, sb->jail_uid) < 0) {
                        r = error_set(ret_error, negative_errno(), "cannot hand the disk to the VMM: %m");
                        goto fail;
                }
        }
        r = template_for(cfg, kernel, initrd, key, &restore_fd, &template_ram, ret_error);
        if (r == -ETIME) {
                r = -ETIMEDOUT;
                goto fail;
        }
        if (r == 0) {
                _cleanup_free_ char *err = NULL;
                r = template_ram_copy(template_ram, &ram);
                if (r == 0)
                        r = sandbox_boot(sb, cfg, kernel, initrd, BOOT_RESTORE, restore_fd, ram, &err);
                if (r == 0)
                        r = sandbox_reexec_agent(sb, cfg->boot_timeout_ms, &err);
                if (r == 0)
                        sb->restored = true;
                else {
                        /* A template this QEMU or host cannot load (or a damaged one): the next
                         * sandbox builds a new one; this one boots cold. */
                        log_debug("restoring VM template %s failed (booting cold): %s", key,
                                  err ? err : strerror(-r));
                        template_discard(key);
                        sandbox_stop_vm(sb);
                }
        }
        if (!sb->restored) {
                r = sandbox_boot(sb, cfg, kernel, initrd, BOOT_COLD, -1, -1, ret_error);
                if (r < 0)
                        goto fail;
        }

        {
                Hako__Agent__V1__CreateSandboxRequest req = HAKO__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
                Hako__Agent__V1__Storage st = HAKO__AGENT__V1__STORAGE__INIT;
                Hako__Agent__V1__Storage disk = HAKO__AGENT__V1__STORAGE__INIT;
                Hako__Agent__V1__Storage *sts[2] = {&st, &disk};
                char *disk_opts[] = {(char *)"discard"};
                uint8_t seed[64];
                struct timespec now;
                _cleanup_free_ char *rerr = NULL;

                /* Always fresh randomness from the host: a restored VM shares its CRNG state with
                 * every other restore of its template. */
                if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
                        r = -EIO;
                        error_set(ret_error, 0, "cannot read host randomness for the guest");
                        goto fail;
                }
                clock_gettime(CLOCK_REALTIME, &now);
                st.driver = (char *)"virtiofs";
                st.source = (char *)HAKO_SHARED_TAG;
                st.mount_point = (char *)HAKO_GUEST_SHARED_DIR;
                req.sandbox_id = sb->id;
                req.hostname = (char *)"hako";
                req.n_storages = 1;
                req.storages = sts;
                if (sb->disk_path) {
                        disk.driver = (char *)"ext4";
                        disk.source = (char *)HV_DISK_SERIAL;
                        disk.mount_point = (char *)HAKO_GUEST_DISK_DIR;
                        disk.options = disk_opts;
                        disk.n_options = 1;
                        req.n_storages = 2;
                }
                req.realtime_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
                req.entropy.data = seed;
                req.entropy.len = sizeof(seed);
                req.rescan_pci = sb->restored;
                /* The guest mounts the disk now: its file system must be there. */
                r = disk_ready(&sb->disk_mkfs);
                if (r < 0) {
                        error_set(ret_error, r, "%s", "cannot make the sandbox's disk: mkfs.ext4 failed");
                        goto fail;
                }
                r = agent_call(&sb->agent, "CreateSandbox", &req.base, NULL, AGENT_CALL_TIMEOUT_MS, NULL,
                               NULL, &rerr);
                explicit_bzero(seed, sizeof(seed));
                if (r < 0) {
                        error_set(ret_error, 0, "the guest could not set up the sandbox: %s",
                                  rerr ? rerr : strerror(-r));
                        goto fail;
                }
        }
        long long t_net = mono_ms();
        r = sandbox_net_configure(sb, ret_error);
        if (r < 0)
                goto fail;
        sb->t_sandbox_ready = mono_ms();
        /* Booted: the guest's console stops growing a host file (hv.h); --debug keeps it whole. */
        if (!cfg->debug && (r = sb->vm->ops->cap_console(sb->vm)) < 0)
                log_debug("sandbox %s: the console stays a file: %s", sb->id, strerror(-r));
        log_debug("sandbox %s: VM spawned after %lld ms, agent after %lld, sandbox set up after %lld, "
                  "network after %lld (%zu interfaces, %lld ms)",
                  sb->id, sb->t_vm_spawned - sb->t_start, sb->t_agent_ready - sb->t_start,
                  t_net - sb->t_start, sb->t_sandbox_ready - sb->t_start, sb->net.n,
                  sb->t_sandbox_ready - t_net);
        state_write(sb->state_dir, "status", "running");
        *ret = sb;
        return 0;

fail:
        sandbox_destroy(sb, false);
        return r < 0 ? r : -EIO;
}

static void remove_except_record(const char *dir)
{
        static const char *const drop[] = {"virtiofsd.sock", "shared", "lock", "disk", "jail"};

        for (size_t i = 0; i < ELEMENTSOF(drop); i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", dir, drop[i]) >= 0)
                        rm_rf(p);
        }
}

void sandbox_destroy(struct sandbox *sb, bool keep_record)
{
        if (!sb)
                return;
        while (sb->containers)
                container_forget(sb->containers);
        sandbox_dns_done(sb);
        sandbox_stop_vm(sb);
        sandbox_net_done(&sb->net);
        disk_mkfs_abort(&sb->disk_mkfs);
        disk_remove(sb->disk_path);
        safe_close(sb->disk_fd);
        safe_close(sb->jail_lock_fd);
        if (sb->state_dir) {
                if (keep_record) {
                        state_write(sb->state_dir, "status", "exited");
                        remove_except_record(sb->state_dir);
                } else {
                        rm_rf(sb->state_dir);
                }
        }
        safe_close(sb->lock_fd);
        share_table_done(&sb->shares);
        free(sb->disk_path);
        free(sb->state_dir);
        free(sb->id);
        free(sb);
}

int sandbox_share_sync(struct sandbox *sb, char **ret_error)
{
        for (size_t i = 0; i < sb->shares.n; i++) {
                struct share *s = &sb->shares.v[i];
                struct virtiofsd_share v = {s->host, s->name, s->readonly};
                int r;

                if (s->mounted)
                        continue;
                r = virtiofsd_share_add(&sb->vfsd, &v);
                if (r < 0)
                        return error_set(ret_error, r, "cannot share %s with the guest: %s", s->host,
                                         strerror(-r));
                s->mounted = true;
        }
        return 0;
}

void sandbox_share_release(struct sandbox *sb, const char *name)
{
        struct share *s = share_table_find(&sb->shares, name);
        _cleanup_free_ char *copy = strdup(name); /* name may be the entry's own */
        bool mounted = s && s->mounted;

        if (copy && share_table_put(&sb->shares, copy) && mounted)
                (void)virtiofsd_share_remove(&sb->vfsd, copy);
}

/* The guest's memory is onlined in blocks of this size (x86-64 below 64 GiB). */
#define GUEST_MEMORY_BLOCK_MIB 128
#define GROW_ONLINE_TIMEOUT_MS 10000

int sandbox_grow(struct sandbox *sb, uint32_t vcpus, uint64_t memory_mib, char **ret_error)
{
        Hako__Agent__V1__OnlineResourcesRequest req = HAKO__AGENT__V1__ONLINE_RESOURCES_REQUEST__INIT;
        long long deadline = mono_ms() + GROW_ONLINE_TIMEOUT_MS;
        uint64_t add_mib = 0;
        int r;

        if (memory_mib > sb->memory_mib)
                add_mib = (memory_mib - sb->memory_mib + GUEST_MEMORY_BLOCK_MIB - 1) /
                          GUEST_MEMORY_BLOCK_MIB * GUEST_MEMORY_BLOCK_MIB;
        if (vcpus <= sb->vcpus && add_mib == 0)
                return 0;
        if (vcpus > sb->vcpus) {
                r = sb->vm->ops->add_vcpus(sb->vm, vcpus);
                if (r < 0)
                        return error_set(ret_error, r, "cannot grow the VM to %u vCPUs (it has %u): %s",
                                         vcpus, sb->vcpus, r == -EOPNOTSUPP ? "no room left" : strerror(-r));
                sb->vcpus = vcpus;
        }
        if (add_mib) {
                r = sb->vm->ops->add_memory(sb->vm, add_mib);
                if (r < 0)
                        return error_set(ret_error, r, "cannot add %llu MiB to the VM: %s",
                                         (unsigned long long)add_mib,
                                         r == -EOPNOTSUPP ? "no room left" : strerror(-r));
                sb->memory_mib += add_mib;
        }
        /* ACPI tells the guest asynchronously: ask until it has them. */
        for (;;) {
                Hako__Agent__V1__OnlineResourcesResponse *resp = NULL;
                _cleanup_free_ char *err = NULL;
                struct arena a;
                bool done;

                r = arena_init(&a, 4096);
                if (r < 0)
                        return r;
                r = agent_call(&sb->agent, "OnlineResources", &req.base,
                               &hako__agent__v1__online_resources_response__descriptor, AGENT_CALL_TIMEOUT_MS,
                               &a, (ProtobufCMessage **)&resp, &err);
                done = r >= 0 && resp->cpus >= sb->vcpus;
                arena_done(&a);
                if (r < 0)
                        return error_set(ret_error, r,
                                         "the guest did not bring the new CPUs and memory online: %s",
                                         err ? err : strerror(-r));
                if (done)
                        return 0;
                if (mono_ms() > deadline)
                        return error_set(ret_error, -ETIMEDOUT,
                                         "the guest did not bring %u CPUs online in time", sb->vcpus);
                nanosleep(&(struct timespec){.tv_nsec = 20L * 1000 * 1000}, NULL);
        }
}
