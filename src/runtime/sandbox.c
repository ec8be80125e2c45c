/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "assets.h"
#include "fileio.h"
#include "log.h"
#include "error.h"
#include "macro.h"
#include "timeutil.h"
#include "vsock.h"
#include "state.h"

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

int sandbox_create(const struct sandbox_config *cfg, struct sandbox **ret, char **ret_error)
{
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *console = NULL;
        struct sandbox *sb;
        const struct hv_ops *ops;
        int sp[2], r;

        ops = hv_find(cfg->hypervisor);
        if (!ops) {
                error_set(ret_error, 0, "unknown hypervisor '%s'", cfg->hypervisor);
                return -EINVAL;
        }
        r = assets_find(&kernel, &initrd, ret_error);
        if (r < 0)
                return r;

        sb = calloc(1, sizeof(*sb));
        if (!sb)
                return -ENOMEM;
        sb->lock_fd = sb->agent_fd = -1;
        sb->vfsd.pidfd = -1;
        sb->t_start = mono_ms();
        sb->id = strdup(cfg->id);
        if (!sb->id) {
                free(sb);
                return -ENOMEM;
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
                free(sb->id);
                free(sb);
                return r;
        }
        state_write(sb->state_dir, "status", "creating");
        char pid[32];
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        state_write(sb->state_dir, "owner", pid);

        /* Always: the container rootfs itself comes over virtio-fs. */
        r = virtiofsd_start(sb->state_dir, cfg->shares, cfg->n_shares, &sb->vfsd);
        if (r < 0) {
                error_set(ret_error, 0, "cannot start virtiofsd (%s): %s", virtiofsd_binary(), strerror(-r));
                goto fail;
        }

        /* The agent channel: vsock where the host has vhost-vsock, else a virtio-serial port whose
         * host end is one side of a socketpair handed to QEMU. */
        bool vsock = use_vsock();
        uint32_t cid = vsock ? vsock_pick_cid() : 0;
        sp[0] = sp[1] = -1;
        if (!vsock) {
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
                        r = negative_errno();
                        goto fail;
                }
                sb->agent_fd = sp[0];
                /* Non-blocking: a guest that stops reading makes writes time out, not hang. */
                fd_set_nonblock(sb->agent_fd, 1);
        }
        if (asprintf(&console, "%s/console.log", sb->state_dir) < 0) {
                safe_close(sp[1]);
                r = -ENOMEM;
                goto fail;
        }
        struct hv_config hc = {
            .id = cfg->id,
            .state_dir = sb->state_dir,
            .kernel = kernel,
            .initrd = initrd,
            .cmdline_extra = cfg->debug ? "hako.debug=1" : NULL,
            .machine = cfg->machine,
            .accel = cfg->accel,
            .vcpus = cfg->vcpus,
            .memory_mib = cfg->memory_mib,
            .agent_fd = sp[1],
            .vsock_cid = cid,
            .virtiofs_fd = sb->vfsd.qemu_fd,
            .virtiofs_tag = HAKO_SHARED_TAG,
            .console_log = console,
        };
        r = ops->create(&hc, &sb->vm);
        safe_close(sp[1]);
        /* The VM has its copy: virtiofsd must see the connection close when QEMU dies. */
        sb->vfsd.qemu_fd = safe_close(sb->vfsd.qemu_fd);
        if (r < 0) {
                error_set(ret_error, 0, "invalid VM configuration: %s", strerror(-r));
                goto fail;
        }
        r = sb->vm->ops->start(sb->vm);
        if (r < 0) {
                if (r == -ENOENT)
                        error_set(ret_error, 0, "QEMU not found (apt-get install qemu-system-x86)");
                else
                        boot_failure(sb, "cannot start the VM", ret_error);
                goto fail;
        }
        sb->t_vm_spawned = mono_ms();

        if (vsock) {
                r = vsock_connect_wait(cid, HAKO_AGENT_VSOCK_PORT, sb->vm->pidfd, cfg->boot_timeout_ms);
                if (r < 0) {
                        boot_failure(sb,
                                     r == -ETIMEDOUT ? "the guest agent did not listen on vsock in time"
                                                     : "cannot connect to the guest agent over vsock",
                                     ret_error);
                        goto fail;
                }
                sb->agent_fd = r;
        }

        r = agent_client_init(&sb->agent, sb->agent_fd, sb->vm->pidfd);
        if (r < 0)
                goto fail;
        sb->agent_ready = true;

        /* The first Health call waits for the guest to boot: QEMU holds our bytes until the
         * agent opens its port, so there is nothing to poll for. */
        {
                struct arena a;
                Hako__Agent__V1__HealthRequest hreq = HAKO__AGENT__V1__HEALTH_REQUEST__INIT;
                ProtobufCMessage *resp = NULL;
                _cleanup_free_ char *rerr = NULL;
                r = arena_init(&a, (size_t)64 * 1024);
                if (r < 0)
                        goto fail;
                r = agent_call(&sb->agent, "Health", &hreq.base,
                               &hako__agent__v1__health_response__descriptor, cfg->boot_timeout_ms, &a, &resp,
                               &rerr);
                if (r == 0) {
                        Hako__Agent__V1__HealthResponse *h = (Hako__Agent__V1__HealthResponse *)resp;
                        if (h->protocol != HAKO_AGENT_PROTOCOL) {
                                error_set(
                                    ret_error, 0,
                                    "guest agent speaks protocol %u, hako needs %u (rebuild the initrd)",
                                    h->protocol, HAKO_AGENT_PROTOCOL);
                                r = -EPROTO;
                        }
                }
                arena_done(&a);
                if (r == -ETIMEDOUT) {
                        char what[128];
                        snprintf(what, sizeof(what), "the guest agent did not answer within %d s",
                                 cfg->boot_timeout_ms / 1000);
                        boot_failure(sb, what, ret_error);
                        goto fail;
                }
                if (r == -ECHILD || r == -ECONNRESET) {
                        boot_failure(sb, "the VM exited while booting", ret_error);
                        goto fail;
                }
                if (r < 0) {
                        boot_failure(sb, "the guest agent failed its health check", ret_error);
                        goto fail;
                }
        }
        sb->t_agent_ready = mono_ms();

        {
                Hako__Agent__V1__CreateSandboxRequest req = HAKO__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
                Hako__Agent__V1__Storage st = HAKO__AGENT__V1__STORAGE__INIT;
                Hako__Agent__V1__Storage *sts[1] = {&st};
                struct timespec now;
                _cleanup_free_ char *rerr = NULL;

                clock_gettime(CLOCK_REALTIME, &now);
                st.driver = (char *)"virtiofs";
                st.source = (char *)HAKO_SHARED_TAG;
                st.mount_point = (char *)HAKO_GUEST_SHARED_DIR;
                req.sandbox_id = sb->id;
                req.hostname = (char *)"hako";
                req.n_storages = 1;
                req.storages = sts;
                req.realtime_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
                r = agent_call(&sb->agent, "CreateSandbox", &req.base, NULL, AGENT_CALL_TIMEOUT_MS, NULL,
                               NULL, &rerr);
                if (r < 0) {
                        error_set(ret_error, 0, "the guest could not set up the sandbox: %s",
                                  rerr ? rerr : strerror(-r));
                        goto fail;
                }
        }
        sb->t_sandbox_ready = mono_ms();
        state_write(sb->state_dir, "status", "running");
        *ret = sb;
        return 0;

fail:
        sandbox_destroy(sb, false);
        return r < 0 ? r : -EIO;
}

static void remove_except_record(const char *dir)
{
        static const char *const drop[] = {"virtiofsd.sock", "shared", "lock"};

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
        if (sb->vm) {
                sb->vm->ops->stop(sb->vm);
                sb->vm = hv_vm_free(sb->vm);
        }
        virtiofsd_stop(&sb->vfsd);
        if (sb->agent_ready)
                agent_client_done(&sb->agent);
        safe_close(sb->agent_fd);
        if (sb->state_dir) {
                if (keep_record) {
                        state_write(sb->state_dir, "status", "exited");
                        remove_except_record(sb->state_dir);
                } else {
                        rm_rf(sb->state_dir);
                }
        }
        safe_close(sb->lock_fd);
        free(sb->state_dir);
        free(sb->id);
        free(sb);
}
