/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU backend: -M microvm (or pc), direct PVH boot of vmlinux, guest RAM from a shared memfd
 * (virtio-fs needs it), QMP over a socketpair, the console captured to a file. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "macro.h"
#include "jail.h"
#include "parse.h"
#include "qmp.h"
#include "spawn.h"
#include "strv.h"
#include "timeutil.h"

#define QEMU_BINARY "qemu-system-x86_64"
/* DIMMs a VM can take (each growth of a pod is one). */
#define QEMU_DIMM_SLOTS    16
#define QEMU_MAX_BOOT_NICS 8
#define QEMU_DISK_FD       (8 + QEMU_MAX_BOOT_NICS)
#define QEMU_DISK_SERIAL   HV_DISK_SERIAL
/* detect-zeroes=unmap and discard=unmap: what the guest frees (it mounts with discard) becomes
 * a hole in the host file again. */
#define QEMU_DISK_BLOCKDEV_ARGS                                                                              \
        "driver=file,node-name=hakodisk,filename=/proc/self/fd/16,discard=unmap,detect-zeroes=unmap"
_Static_assert(QEMU_DISK_FD == 16, "QEMU_DISK_BLOCKDEV_ARGS names fd 16");

struct qemu_vm {
        struct hv_vm base; /* first: a struct hv_vm * is a struct qemu_vm * */
        struct strv argv;
        int agent_fd;                    /* handed to QEMU as fd 3 */
        int vfs_fd;                      /* handed to QEMU as fd 5: connected to virtiofsd */
        int qmp_peer_fd;                 /* handed to QEMU as fd 4 */
        int restore_fd;                  /* handed to QEMU as fd 6: the saved state to load */
        int ram_fd;                      /* handed to QEMU as fd 7: the guest RAM file */
        int nic_fds[QEMU_MAX_BOOT_NICS]; /* handed to QEMU as fds 8...: boot-time NICs' taps */
        struct hv_nic nics[QEMU_MAX_BOOT_NICS];
        char nic_ids[QEMU_MAX_BOOT_NICS][16];
        size_t n_nics;
        int disk_fd; /* handed to QEMU as fd QEMU_DISK_FD: the scratch disk's image */
        bool has_disk;
        char *virtiofs_tag;
        int qmp_fd; /* our end */
        struct qmp qmp;
        char *console_log;
        struct jail jail; /* uid 0: not jailed */
        char *jail_dir, *kernel, *initrd;
        bool pc;
        uint32_t vcpus, max_vcpus;
        uint64_t memory_mib, max_memory_mib;
        unsigned dimms;
        bool ram_fd_used; /* guest RAM is a shared file: saved states leave it out */
        bool stopped;
};

static struct qemu_vm *to_qemu(struct hv_vm *vm)
{
        return (struct qemu_vm *)vm;
}

static const char *qemu_binary(void)
{
        const char *b = getenv("HAKO_QEMU");
        return b && *b ? b : QEMU_BINARY;
}

static int qemu_capabilities(struct hv_caps *ret)
{
        _cleanup_free_ char *cmd = NULL;
        char line[256] = "";

        *ret = (struct hv_caps){0};
        ret->kvm = hv_kvm_usable(ret->kvm_reason, sizeof(ret->kvm_reason));
        ret->vhost_vsock = hv_vhost_vsock_usable();
        snprintf(ret->binary, sizeof(ret->binary), "%s", qemu_binary());

        if (asprintf(&cmd, "%s --version 2>/dev/null", qemu_binary()) < 0)
                return -ENOMEM;
        FILE *f = popen(cmd, "re");
        if (!f)
                return negative_errno();
        if (!fgets(line, sizeof(line), f))
                line[0] = 0;
        int st = pclose(f);
        if (st != 0 || strncmp(line, "QEMU emulator version ", 22) != 0)
                return -ENOENT;
        const char *v = line + 22;
        size_t n = MIN(strcspn(v, " \n"), sizeof(ret->version) - 1);
        memcpy(ret->version, v, n);
        ret->version[n] = 0;
        return 0;
}

static void qemu_free(struct hv_vm *vm)
{
        struct qemu_vm *q = to_qemu(vm);

        if (!q)
                return;
        if (vm->pid > 0 && !q->stopped)
                vm->ops->stop(vm);
        strv_done(&q->argv);
        safe_close(q->agent_fd);
        safe_close(q->vfs_fd);
        safe_close(q->qmp_peer_fd);
        safe_close(q->qmp_fd);
        safe_close(q->restore_fd);
        safe_close(q->ram_fd);
        safe_close(q->disk_fd);
        for (size_t i = 0; i < q->n_nics; i++)
                safe_close(q->nic_fds[i]);
        safe_close(vm->pidfd);
        free(q->console_log);
        free(q->jail_dir);
        free(q->kernel);
        free(q->initrd);
        free(q->virtiofs_tag);
        free(q);
}

/* HAKO_QEMU_CPU overrides the CPU model TCG emulates. */
static const char *tcg_cpu_model(void)
{
        const char *e = getenv("HAKO_QEMU_CPU");
        return e && *e ? e : "max";
}

static void build_accel(struct qemu_vm *q, const struct hv_config *cfg, struct strv *a)
{
        bool kvm;
        char reason[160];

        switch (cfg->accel) {
        case HV_ACCEL_KVM:
                kvm = true;
                break;
        case HV_ACCEL_TCG:
                kvm = false;
                break;
        default:
                kvm = hv_kvm_usable(reason, sizeof(reason));
                break;
        }
        q->base.tcg = !kvm;
        if (kvm) {
                strv_push(a, "-accel");
                strv_push(a, "kvm");
                strv_push(a, "-cpu");
                strv_push(a, "host");
        } else {
                /* More than one vCPU under TCG needs multi-threaded TCG. A 64 MiB translation
                 * cache keeps an idle VM's footprint small without retranslating hot code. */
                strv_push(a, "-accel");
                strv_push(a, "tcg,thread=multi,tb-size=64");
                strv_push(a, "-cpu");
                strv_push(a, tcg_cpu_model());
        }
}

static int qemu_create(const struct hv_config *cfg, struct hv_vm **ret_vm)
{
        struct qemu_vm *q;
        struct strv *a;
        int sp[2];
        bool pc;

        if (!cfg->kernel || !cfg->initrd || !cfg->console_log)
                return -EINVAL;
        if (cfg->machine && strcmp(cfg->machine, "microvm") != 0 && strcmp(cfg->machine, "pc") != 0)
                return -EOPNOTSUPP;
        if (cfg->vcpus < 1 || cfg->vcpus > 64 || cfg->memory_mib < 64 || cfg->max_vcpus > 64 ||
            (cfg->max_vcpus && cfg->max_vcpus < cfg->vcpus) ||
            (cfg->max_memory_mib && cfg->max_memory_mib < cfg->memory_mib))
                return -ERANGE;
        pc = cfg->machine && !strcmp(cfg->machine, "pc");
        /* Only pc can hot-plug the virtio-fs device a restored VM needs. */
        if (cfg->restore && (!pc || !cfg->virtiofs_tag || cfg->restore_fd < 0))
                return -EOPNOTSUPP;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->base.ops = &hv_qemu_ops;
        q->base.pidfd = -1;
        q->agent_fd = q->qmp_peer_fd = q->qmp_fd = q->vfs_fd = q->restore_fd = q->ram_fd = q->disk_fd = -1;
        q->pc = pc;
        /* Only pc has the ACPI hot-plug a running VM grows with. */
        q->vcpus = cfg->vcpus;
        q->memory_mib = cfg->memory_mib;
        q->max_vcpus = pc ? cfg->max_vcpus : 0;
        q->max_memory_mib = pc ? cfg->max_memory_mib : 0;
        q->console_log = strdup(cfg->console_log);
        if (!q->console_log)
                goto oom;
        if (cfg->jail_uid) {
                uint64_t mib = MAX(cfg->memory_mib, cfg->max_memory_mib);
                if (!cfg->state_dir || asprintf(&q->jail_dir, "%s/jail", cfg->state_dir) < 0 ||
                    !(q->kernel = strdup(cfg->kernel)) || !(q->initrd = strdup(cfg->initrd)))
                        goto oom;
                q->jail = (struct jail){
                    .uid = cfg->jail_uid,
                    .gid = cfg->jail_gid,
                    .dir = q->jail_dir,
                    .kernel = q->kernel,
                    .initrd = q->initrd,
                    .console = q->console_log,
                    .vhost_vsock = cfg->vsock_cid != 0,
                    /* Guest RAM (up to the room to grow), the TCG code cache, thread stacks and
                     * malloc arenas. */
                    .address_space = (mib << 20) + (8ull << 30),
                };
        }
        if (cfg->restore) {
                q->restore_fd = fcntl(cfg->restore_fd, F_DUPFD_CLOEXEC, 3);
                if (q->restore_fd < 0)
                        goto fail_errno;
                q->virtiofs_tag = strdup(cfg->virtiofs_tag);
                if (!q->virtiofs_tag)
                        goto oom;
        }
        if (cfg->file_ram) {
                q->ram_fd = fcntl(cfg->ram_fd, F_DUPFD_CLOEXEC, 3);
                if (q->ram_fd < 0)
                        goto fail_errno;
                q->ram_fd_used = true;
        }
        if (cfg->virtiofs_tag) {
                q->vfs_fd = fcntl(cfg->virtiofs_fd, F_DUPFD_CLOEXEC, 3);
                if (q->vfs_fd < 0)
                        goto fail_errno;
        }
        if (cfg->disk_fd > 0) {
                q->disk_fd = fcntl(cfg->disk_fd, F_DUPFD_CLOEXEC, 3);
                if (q->disk_fd < 0)
                        goto fail_errno;
                q->has_disk = true;
        }
        if (cfg->agent_fd >= 0) {
                q->agent_fd = fcntl(cfg->agent_fd, F_DUPFD_CLOEXEC, 3);
                if (q->agent_fd < 0)
                        goto fail_errno;
        }
        if (cfg->n_nics > QEMU_MAX_BOOT_NICS) {
                qemu_free(&q->base);
                return -E2BIG;
        }
        for (size_t i = 0; i < cfg->n_nics; i++) {
                q->nics[i] = cfg->nics[i];
                snprintf(q->nic_ids[i], sizeof(q->nic_ids[i]), "%s", cfg->nics[i].id);
                q->nics[i].id = q->nic_ids[i];
                q->nic_fds[i] = fcntl(cfg->nics[i].fd, F_DUPFD_CLOEXEC, 3);
                q->n_nics = i + 1;
                if (q->nic_fds[i] < 0)
                        goto fail_errno;
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                goto fail_errno;
        q->qmp_fd = sp[0];
        q->qmp_peer_fd = sp[1];
        qmp_init(&q->qmp, q->qmp_fd);

        a = &q->argv;
        strv_push(a, cfg->binary && *cfg->binary ? cfg->binary : qemu_binary());
        strv_pushf(a, "-name");
        strv_pushf(a, "hako-%s", cfg->id);
        strv_push(a, "-M");
        if (pc)
                strv_push(a, "pc,memory-backend=mem,vmport=off,sata=off,smbus=off,usb=off");
        else
                /* The default microvm devices (PIT, PIC, RTC, ISA serial) are kept: turning them off
                 * slows boot or breaks the guest's clock calibration (see docs/guest.md). */
                strv_push(a, "microvm,x-option-roms=off,memory-backend=mem");
        build_accel(q, cfg, a);
        q->jail.kvm = !q->base.tcg;
        strv_push(a, "-smp");
        if (q->max_vcpus > cfg->vcpus)
                strv_pushf(a, "%u,maxcpus=%u", cfg->vcpus, q->max_vcpus);
        else
                strv_pushf(a, "%u", cfg->vcpus);
        strv_push(a, "-m");
        if (q->max_memory_mib > cfg->memory_mib)
                strv_pushf(a, "%llu,slots=%u,maxmem=%lluM", (unsigned long long)cfg->memory_mib,
                           QEMU_DIMM_SLOTS, (unsigned long long)q->max_memory_mib);
        else
                strv_pushf(a, "%llu", (unsigned long long)cfg->memory_mib);
        strv_push(a, "-object");
        if (cfg->file_ram) {
                strv_pushf(a, "memory-backend-file,id=mem,size=%lluM,mem-path=/proc/self/fd/7,share=on",
                           (unsigned long long)cfg->memory_mib);
        } else
                strv_pushf(a, "memory-backend-memfd,id=mem,size=%lluM,share=on",
                           (unsigned long long)cfg->memory_mib);
        strv_push(a, "-nodefaults");
        strv_push(a, "-no-user-config");
        strv_push(a, "-display");
        strv_push(a, "none");
        strv_push(a, "-no-reboot");
        if (!pc) {
                /* virtiofsd (libvhost-user) refuses legacy virtio, microvm's mmio default. */
                strv_push(a, "-global");
                strv_push(a, "virtio-mmio.force-legacy=false");
        }
        strv_push(a, "-kernel");
        strv_push(a, cfg->jail_uid ? JAIL_KERNEL : cfg->kernel);
        strv_push(a, "-initrd");
        strv_push(a, cfg->jail_uid ? JAIL_INITRD : cfg->initrd);
        if (cfg->jail_uid) {
                /* QEMU's own filter on top of the jail: no obsolete calls, no set*id, no fork or
                 * exec, no scheduler or NUMA policy changes. */
                strv_push(a, "-sandbox");
                strv_push(a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
        }

        uint64_t tsc = hv_host_tsc_khz();
        char tscarg[64] = "";
        /* Without it, microvm guests sometimes spin forever calibrating the TSC against a PIT. */
        if (tsc)
                snprintf(tscarg, sizeof(tscarg), " tsc_early_khz=%llu", (unsigned long long)tsc);
        /* rootfstype=ramfs: on the default tmpfs initramfs, crun sees its binary as an unsealed
         * memfd-like (shmem) file and re-executes from a memfd copy on every call. Those copies
         * are freed and their pages reused as virtio-fs page cache, which virtiofsd fills behind
         * TCG's back: stale translations at the same addresses (crun and busybox are both static
         * at 0x401000) made container processes crash now and then. On ramfs crun runs from the
         * read-only bind the agent makes, with no copy. */
        /* acpi=noirq (pc): PCI interrupts routed without ACPI's _PRT and link devices, whose AML
         * takes ~190 ms per device under TCG (every hot-added virtio device paid it); the SCI,
         * and so ACPI hot-plug of CPUs and memory, still works. Not on microvm: its virtio-mmio
         * devices get their interrupts from ACPI. Bump TEMPLATE_LAYOUT with any change here. */
        strv_push(a, "-append");
        strv_pushf(a,
                   "console=ttyS0 quiet panic=-1 reboot=t nomodule random.trust_cpu=on i8042.noaux "
                   "cryptomgr.notests rootfstype=ramfs%s%s hako.transport=%s%s%s",
                   pc ? " acpi=noirq" : "", tscarg, cfg->vsock_cid ? "vsock" : "serial",
                   cfg->cmdline_extra ? " " : "", cfg->cmdline_extra ? cfg->cmdline_extra : "");

        strv_push(a, "-chardev");
        strv_pushf(a, "file,id=con,path=%s", cfg->console_log);
        strv_push(a, "-serial");
        strv_push(a, "chardev:con");

        strv_push(a, "-device");
        strv_push(a, pc ? "virtio-rng-pci" : "virtio-rng-device");

        if (cfg->vsock_cid) {
                strv_push(a, "-device");
                strv_pushf(a, "%s,guest-cid=%u", pc ? "vhost-vsock-pci" : "vhost-vsock-device",
                           cfg->vsock_cid);
        } else {
                if (q->agent_fd < 0) {
                        qemu_free(&q->base);
                        return -EINVAL;
                }
                strv_push(a, "-device");
                strv_push(a, pc ? "virtio-serial-pci,max_ports=2" : "virtio-serial-device,max_ports=2");
                /* fd 3: the socketpair end; QEMU treats it as an already connected socket. */
                strv_push(a, "-chardev");
                strv_push(a, "socket,id=agent,fd=3");
                strv_push(a, "-device");
                strv_push(a, "virtserialport,chardev=agent,name=hako.agent");
        }
        if (cfg->virtiofs_tag) {
                /* fd 5: connected to virtiofsd, so the socket's path length does not matter. */
                strv_push(a, "-chardev");
                strv_push(a, "socket,id=vfs,fd=5");
        }
        /* A restored VM gets its NICs hot-added, like virtio-fs: the template had none. */
        for (size_t i = 0; i < q->n_nics && !cfg->restore; i++) {
                char mac[18];
                format_mac(q->nics[i].mac, mac);
                strv_push(a, "-netdev");
                strv_pushf(a, "tap,id=%s,fd=%zu,vhost=off", q->nics[i].id, 8 + i);
                strv_push(a, "-device");
                strv_pushf(a, "%s,netdev=%s,id=nic-%s,mac=%s", pc ? "virtio-net-pci" : "virtio-net-device",
                           q->nics[i].id, q->nics[i].id, mac);
        }
        /* The scratch disk: QEMU reopens our fd through /proc, so it never opens a host path of
         * its own choosing. A restored VM gets it hot-added, like its NICs. */
        if (q->has_disk && !cfg->restore) {
                strv_push(a, "-blockdev");
                strv_pushf(a, "%s", QEMU_DISK_BLOCKDEV_ARGS);
                strv_push(a, "-device");
                strv_pushf(a, "%s,drive=hakodisk,id=dev-hakodisk,serial=%s",
                           pc ? "virtio-blk-pci" : "virtio-blk-device", QEMU_DISK_SERIAL);
        }
        if (cfg->restore) {
                /* Stay paused after loading: the virtio-fs device goes in before the guest runs. */
                strv_push(a, "-S");
                strv_push(a, "-incoming");
                strv_push(a, "defer");
        } else if (cfg->virtiofs_tag) {
                strv_push(a, "-device");
                strv_pushf(a, "%s,chardev=vfs,tag=%s,queue-size=1024",
                           pc ? "vhost-user-fs-pci" : "vhost-user-fs-device", cfg->virtiofs_tag);
        }
        strv_push(a, "-chardev");
        strv_push(a, "socket,id=qmp,fd=4");
        strv_push(a, "-mon");
        strv_push(a, "chardev=qmp,mode=control");
        if (strv_status(a) < 0)
                goto oom;
        *ret_vm = &q->base;
        return 0;

oom:
        qemu_free(&q->base);
        return -ENOMEM;
fail_errno : {
        int r = negative_errno();
        qemu_free(&q->base);
        return r;
}
}

static int qemu_qmp(struct qemu_vm *q, const char *cmd, const char *args);
static int qemu_add_nic(struct hv_vm *vm, const struct hv_nic *nic);

#define IGNORE_SHARED_CAP "{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}"

/* Polls a status string until it is one of `done` (0) or `failed` (-EIO), bounded by timeout_ms. */
static int qemu_poll_status(struct qemu_vm *q, const char *query, const char *done, const char *failed,
                            int timeout_ms)
{
        long long deadline = mono_ms() + timeout_ms;

        for (;;) {
                char st[64];
                int r = qmp_query_string(&q->qmp, query, "status", timeout_ms, st, sizeof(st));
                if (r < 0)
                        return r;
                if (strstr(done, st))
                        return 0;
                if (failed && strstr(failed, st))
                        return -EIO;
                if (mono_ms() > deadline)
                        return -ETIMEDOUT;
                nanosleep(&(struct timespec){.tv_nsec = 2L * 1000 * 1000}, NULL);
        }
}

/* The state loads while QEMU starts (-incoming fd:6 -S); then the virtio-fs device is plugged into
 * the paused machine and the guest continues. A failed load makes QEMU exit: the QMP channel
 * closes and the caller reports the console and QEMU's stderr. */
static int qemu_finish_restore(struct qemu_vm *q)
{
        _cleanup_free_ char *args = NULL;
        int r;

        long long t0 = mono_ms();
        /* Shared file RAM is not in the stream: the file already holds it. */
        if (q->ram_fd_used) {
                r = qemu_qmp(q, "migrate-set-capabilities", IGNORE_SHARED_CAP);
                if (r < 0)
                        return r;
        }
        r = qemu_qmp(q, "migrate-incoming", "{\"uri\":\"fd:6\"}");
        if (r < 0)
                return r;
        r = qemu_poll_status(q, "query-status", "paused", NULL, 30000);
        if (r < 0)
                return r;
        long long t_loaded = mono_ms();
        if (asprintf(&args,
                     "{\"driver\":\"vhost-user-fs-pci\",\"id\":\"fs0\",\"chardev\":\"vfs\",\"tag\":"
                     "\"%s\",\"queue-size\":1024}",
                     q->virtiofs_tag) < 0)
                return -ENOMEM;
        r = qemu_qmp(q, "device_add", args);
        if (r < 0)
                return r;
        for (size_t i = 0; i < q->n_nics; i++) {
                q->nics[i].fd = q->nic_fds[i];
                r = qemu_add_nic(&q->base, &q->nics[i]);
                q->nic_fds[i] = safe_close(q->nic_fds[i]);
                if (r < 0)
                        return r;
        }
        q->n_nics = 0;
        if (q->has_disk) {
                r = qemu_qmp(
                    q, "blockdev-add",
                    "{\"driver\":\"file\",\"node-name\":\"hakodisk\",\"filename\":\"/proc/self/fd/16\","
                    "\"discard\":\"unmap\",\"detect-zeroes\":\"unmap\"}");
                if (r < 0)
                        return r;
                r = qemu_qmp(q, "device_add",
                             "{\"driver\":\"virtio-blk-pci\",\"id\":\"dev-hakodisk\",\"drive\":\"hakodisk\","
                             "\"serial\":\"" QEMU_DISK_SERIAL "\"}");
                if (r < 0)
                        return r;
        }
        r = qemu_qmp(q, "cont", NULL);
        log_debug("restored: state loaded in %lld ms, virtio-fs added and running after %lld ms",
                  t_loaded - t0, mono_ms() - t0);
        return r;
}

static int qemu_start(struct hv_vm *vm)
{
        struct qemu_vm *q = to_qemu(vm);
        _cleanup_close_ int log_fd = -1;
        int fds[QEMU_DISK_FD - 2], nfds;
        int r;

        /* QEMU's own stderr (bad option, missing file) goes next to the console log. */
        _cleanup_free_ char *errlog = NULL;
        if (asprintf(&errlog, "%s.qemu-stderr", q->console_log) < 0)
                return -ENOMEM;
        log_fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log_fd < 0)
                return negative_errno();

        fds[0] = q->agent_fd >= 0 ? q->agent_fd : q->qmp_peer_fd; /* placeholder keeps numbering */
        fds[1] = q->qmp_peer_fd;
        fds[2] = q->vfs_fd >= 0 ? q->vfs_fd : q->qmp_peer_fd;
        fds[3] = q->restore_fd >= 0 ? q->restore_fd : q->qmp_peer_fd;
        fds[4] = q->ram_fd >= 0 ? q->ram_fd : q->qmp_peer_fd;
        nfds = q->ram_fd >= 0 ? 5 : q->restore_fd >= 0 ? 4 : q->vfs_fd >= 0 ? 3 : 2;
        /* NICs at 8 and up (a restored VM hot-adds them instead). */
        if (q->n_nics && !q->virtiofs_tag) {
                for (size_t i = 0; i < q->n_nics; i++)
                        fds[5 + i] = q->nic_fds[i];
                nfds = 5 + (int)q->n_nics;
        }
        if (q->has_disk) {
                for (int i = nfds; i < QEMU_DISK_FD - 3; i++)
                        fds[i] = q->qmp_peer_fd; /* placeholders keep the numbering */
                fds[QEMU_DISK_FD - 3] = q->disk_fd;
                nfds = QEMU_DISK_FD - 2;
        }
        if (q->jail.uid) {
                /* The root it gets is mounted on this (empty) directory in its own namespace; the
                 * console log exists before it, owned by the jail's uid. */
                _cleanup_close_ int con = -1;
                if (mkdir(q->jail_dir, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
                con = open(q->console_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (con < 0 || fchown(con, q->jail.uid, q->jail.gid) < 0)
                        return negative_errno();
        }
        struct spawn_opts o = {
            .namespaces = q->jail.uid ? CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET : 0,
            .pre_exec = q->jail.uid ? jail_enter : NULL,
            .userdata = &q->jail,
            .argv = (const char *const *)q->argv.v,
            .pass_fds = fds,
            .n_pass_fds = nfds,
            .stdin_fd = -1,
            .stdout_fd = log_fd,
            .stderr_fd = log_fd,
            .new_session = 1,
        };
        if (log_get_level() >= LOG_LEVEL_DEBUG) {
                for (size_t i = 0; i < q->argv.n; i++)
                        fprintf(stderr, "%s%s", i ? " " : "hako: debug: ", q->argv.v[i]);
                fputc('\n', stderr);
        }
        r = spawn_process(&o, &vm->pid, &vm->pidfd);
        if (r < 0)
                return r;
        /* QEMU holds its own copies now; ours would keep the channels open after it dies. */
        q->agent_fd = safe_close(q->agent_fd);
        q->qmp_peer_fd = safe_close(q->qmp_peer_fd);
        q->vfs_fd = safe_close(q->vfs_fd);
        q->restore_fd = safe_close(q->restore_fd);
        q->ram_fd = safe_close(q->ram_fd);
        q->disk_fd = safe_close(q->disk_fd);
        if (q->virtiofs_tag)
                return qemu_finish_restore(q);
        for (size_t i = 0; i < q->n_nics; i++)
                q->nic_fds[i] = safe_close(q->nic_fds[i]);
        q->n_nics = 0;
        return 0;
}

static int qemu_reap(struct qemu_vm *q, int timeout_ms)
{
        struct pollfd p = {.fd = q->base.pidfd, .events = POLLIN};
        int r;

        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r <= 0)
                return -ETIMEDOUT;
        waitpid(q->base.pid, NULL, 0);
        return 0;
}

static int qemu_stop(struct hv_vm *vm)
{
        struct qemu_vm *q = to_qemu(vm);

        if (q->stopped || vm->pid <= 0)
                return 0;
        /* The guest's shutdown path is slow without ACPI; the host ends the VM instead. */
        kill(vm->pid, SIGKILL);
        qemu_reap(q, -1);
        q->stopped = true;
        return 0;
}

static int qemu_qmp(struct qemu_vm *q, const char *cmd, const char *args)
{
        _cleanup_free_ char *err = NULL;
        int r;

        if (q->stopped || q->base.pid <= 0)
                return -ESRCH;
        r = qmp_execute(&q->qmp, cmd, args, 10000, &err);
        if (r < 0 && err)
                log_debug("QMP %s failed: %s", cmd, err);
        return r;
}

static int qemu_pause(struct hv_vm *vm)
{
        return qemu_qmp(to_qemu(vm), "stop", NULL);
}

static int qemu_resume(struct hv_vm *vm)
{
        return qemu_qmp(to_qemu(vm), "cont", NULL);
}

static int qemu_add_device(struct hv_vm *vm, const struct hv_device *dev)
{
        struct qemu_vm *q = to_qemu(vm);
        _cleanup_free_ char *args = NULL;
        int r;

        /* microvm has no hot-plug bus; only pc can take devices at run time. */
        if (!q->pc)
                return -EOPNOTSUPP;
        switch (dev->type) {
        case HV_DEVICE_VIRTIOFS:
                if (asprintf(&args,
                             "{\"id\":\"%s\",\"backend\":{\"type\":\"socket\",\"data\":{\"addr\":{\"type\":"
                             "\"unix\",\"data\":{\"path\":\"%s\"}}}}}",
                             dev->id, dev->path) < 0)
                        return -ENOMEM;
                r = qemu_qmp(q, "chardev-add", args);
                if (r < 0)
                        return r;
                free(args);
                args = NULL;
                if (asprintf(&args,
                             "{\"driver\":\"vhost-user-fs-pci\",\"id\":\"dev-%s\",\"chardev\":\"%s\",\"tag\":"
                             "\"%s\"}",
                             dev->id, dev->id, dev->tag) < 0)
                        return -ENOMEM;
                return qemu_qmp(q, "device_add", args);
        case HV_DEVICE_BLOCK:
                if (asprintf(
                        &args,
                        "{\"driver\":\"file\",\"node-name\":\"%s\",\"filename\":\"%s\",\"read-only\":%s}",
                        dev->id, dev->path, dev->readonly ? "true" : "false") < 0)
                        return -ENOMEM;
                r = qemu_qmp(q, "blockdev-add", args);
                if (r < 0)
                        return r;
                free(args);
                args = NULL;
                if (asprintf(&args, "{\"driver\":\"virtio-blk-pci\",\"id\":\"dev-%s\",\"drive\":\"%s\"}",
                             dev->id, dev->id) < 0)
                        return -ENOMEM;
                return qemu_qmp(q, "device_add", args);
        }
        return -EINVAL;
}

static int qemu_add_vcpus(struct hv_vm *vm, uint32_t total)
{
        struct qemu_vm *q = to_qemu(vm);
        json_t *cpus = NULL, *c;
        size_t i;
        int r;

        if (total <= q->vcpus)
                return 0;
        if (total > q->max_vcpus)
                return -EOPNOTSUPP;
        r = qmp_execute_json(&q->qmp, "query-hotpluggable-cpus", NULL, 10000, &cpus, NULL);
        if (r < 0)
                return r;
        /* Each free slot names its driver and where it goes (socket, core, thread). */
        json_array_foreach(cpus, i, c)
        {
                _cleanup_free_ char *props = NULL, *args = NULL;
                json_t *p = json_object_get(c, "props");
                const char *type = json_string_value(json_object_get(c, "type"));

                if (q->vcpus >= total)
                        break;
                if (json_object_get(c, "qom-path") || !type || !json_is_object(p))
                        continue;
                if (json_object_size(p) == 0)
                        continue;
                props = json_dumps(p, JSON_COMPACT);
                if (!props || asprintf(&args, "{\"driver\":\"%s\",\"id\":\"hcpu%u\",%s", type, q->vcpus,
                                       props + 1) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = qemu_qmp(q, "device_add", args);
                if (r < 0)
                        break;
                q->vcpus++;
        }
        json_decref(cpus);
        if (r >= 0 && q->vcpus < total)
                r = -ENOSPC;
        return r;
}

static int qemu_add_memory(struct hv_vm *vm, uint64_t mib)
{
        struct qemu_vm *q = to_qemu(vm);
        _cleanup_free_ char *args = NULL;
        int r;

        if (mib == 0)
                return 0;
        if (q->memory_mib + mib > q->max_memory_mib || q->dimms >= QEMU_DIMM_SLOTS)
                return -EOPNOTSUPP;
        /* Shared, like the boot RAM: virtiofsd maps all of the guest's memory. */
        if (asprintf(&args,
                     "{\"qom-type\":\"memory-backend-memfd\",\"id\":\"hmem%u\",\"size\":%llu,\"share\":true}",
                     q->dimms, (unsigned long long)mib << 20) < 0)
                return -ENOMEM;
        r = qemu_qmp(q, "object-add", args);
        if (r < 0)
                return r;
        free(args);
        if (asprintf(&args, "{\"driver\":\"pc-dimm\",\"id\":\"hdimm%u\",\"memdev\":\"hmem%u\"}", q->dimms,
                     q->dimms) < 0)
                return -ENOMEM;
        r = qemu_qmp(q, "device_add", args);
        if (r < 0)
                return r;
        q->dimms++;
        q->memory_mib += mib;
        return 0;
}

static int qemu_add_nic(struct hv_vm *vm, const struct hv_nic *nic)
{
        struct qemu_vm *q = to_qemu(vm);
        _cleanup_free_ char *args = NULL, *err = NULL;
        char fdname[32], mac[18];
        int r;

        if (!q->pc)
                return -EOPNOTSUPP;
        if (strspn(nic->id, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(nic->id) || !*nic->id ||
            strlen(nic->id) > 15)
                return -EINVAL;
        snprintf(fdname, sizeof(fdname), "fd-%s", nic->id);
        r = qmp_getfd(&q->qmp, fdname, nic->fd, 10000, &err);
        if (r < 0) {
                log_debug("QMP getfd failed: %s", err ? err : strerror(-r));
                return r;
        }
        if (asprintf(&args, "{\"type\":\"tap\",\"id\":\"%s\",\"fd\":\"%s\",\"vhost\":false}", nic->id,
                     fdname) < 0)
                return -ENOMEM;
        r = qemu_qmp(q, "netdev_add", args);
        if (r < 0)
                return r;
        free(args);
        format_mac(nic->mac, mac);
        if (asprintf(&args,
                     "{\"driver\":\"virtio-net-pci\",\"id\":\"nic-%s\",\"netdev\":\"%s\",\"mac\":\"%s\"}",
                     nic->id, nic->id, mac) < 0)
                return -ENOMEM;
        return qemu_qmp(q, "device_add", args);
}

static int qemu_cap_console(struct hv_vm *vm)
{
        return qemu_qmp(to_qemu(vm), "chardev-change",
                        "{\"id\":\"con\",\"backend\":{\"type\":\"ringbuf\",\"data\":{\"size\":65536}}}");
}

static int qemu_save(struct hv_vm *vm, const char *path)
{
        struct qemu_vm *q = to_qemu(vm);
        _cleanup_close_ int fd = -1;
        int r;

        r = qemu_qmp(q, "stop", NULL);
        if (r < 0)
                return r;
        if (q->ram_fd_used) {
                r = qemu_qmp(q, "migrate-set-capabilities", IGNORE_SHARED_CAP);
                if (r < 0)
                        return r;
        }
        /* The default bandwidth cap (32 MiB/s) would make a paused VM's save take seconds. */
        r = qemu_qmp(q, "migrate-set-parameters", "{\"max-bandwidth\":17179869184}");
        if (r < 0)
                return r;
        /* Written to an fd handed over QMP: a jailed QEMU can neither open the path nor run a
         * command (spawn=deny). */
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        r = qmp_getfd(&q->qmp, "hakosave", fd, 10000, NULL);
        if (r < 0)
                return r;
        r = qemu_qmp(q, "migrate", "{\"uri\":\"fd:hakosave\"}");
        if (r < 0)
                return r;
        return qemu_poll_status(q, "query-migrate", "completed", "failed cancelled", 60000);
}

static const char *qemu_console(struct hv_vm *vm)
{
        return to_qemu(vm)->console_log;
}

const struct hv_ops hv_qemu_ops = {
    .name = "qemu",
    .capabilities = qemu_capabilities,
    .create = qemu_create,
    .start = qemu_start,
    .stop = qemu_stop,
    .pause = qemu_pause,
    .resume = qemu_resume,
    .add_device = qemu_add_device,
    .cap_console = qemu_cap_console,
    .add_vcpus = qemu_add_vcpus,
    .add_memory = qemu_add_memory,
    .add_nic = qemu_add_nic,
    .save = qemu_save,
    .console = qemu_console,
    .free = qemu_free,
};
