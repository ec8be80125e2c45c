/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agent-protocol.h"
#include "assets.h"
#include "disk.h"
#include "hako-config.h"
#include "template.h"
#include "commands.h"
#include "hv.h"
#include "macro.h"
#include "probe.h"
#include "virtiofsd.h"

static void size_of(const char *path, char *buf, size_t len)
{
        struct stat st;

        if (stat(path, &st) == 0)
                snprintf(buf, len, "%.1f MB", (double)st.st_size / 1e6);
        else
                snprintf(buf, len, "?");
}

/* Informational: a container runs without a network (--network none) when these fail. */
static bool on_path(const char *prog)
{
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");

        for (char *save = NULL, *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
             d = strtok_r(NULL, ":", &save)) {
                char p[512];
                snprintf(p, sizeof(p), "%s/%s", d, prog);
                if (access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

/* Each sandbox's scratch disk: how large it may grow and what the host has for it. */
static bool check_storage(void)
{
        struct hako_config cfg;
        _cleanup_free_ char *err = NULL, *dir = NULL;
        struct statvfs vfs;
        uint64_t size;

        if (hako_config_load(getenv("HAKO_CONFIG"), &cfg, &err) < 0) {
                printf("configuration: MISSING %s\n", err ? err : "cannot be read");
                return false;
        }
        if (cfg.no_disk) {
                printf("scratch disk: off      [storage] disk_size = 0: hako run writes to guest RAM\n");
                hako_config_done(&cfg);
                return true;
        }
        size = cfg.disk_size ? cfg.disk_size : DISK_SIZE_DEFAULT;
        dir = strdup(cfg.disk_dir ? cfg.disk_dir : DISK_DIR_DEFAULT);
        hako_config_done(&cfg);
        if (!dir)
                return false;
        if (!on_path("mkfs.ext4")) {
                printf("scratch disk: MISSING  mkfs.ext4 (apt-get install e2fsprogs)\n");
                return false;
        }
        /* The directory may not exist yet: ask the file system it will be made on. */
        for (char *slash; statvfs(dir, &vfs) < 0 && (slash = strrchr(dir, '/'));)
                slash == dir ? (void)(dir[1] = 0) : (void)(*slash = 0);
        printf("scratch disk: ok       up to %.1f GiB per sandbox (sparse, freed blocks returned), in %s: "
               "%.1f GiB free\n",
               (double)size / (1ull << 30), cfg.disk_dir ? cfg.disk_dir : DISK_DIR_DEFAULT,
               (double)vfs.f_bavail * (double)vfs.f_frsize / (double)(1ull << 30));
        return true;
}

static void check_network(void)
{
        static const enum net_mode modes[] = {NET_MODE_TCFILTER, NET_MODE_MACVTAP};
        char *reason = NULL;

        if (net_probe_user(getenv("HAKO_SLIRP4NETNS"), &reason) == 0)
                printf("user network: ok       slirp4netns NAT, host addresses filtered (cgroup v2 BPF)\n");
        else
                printf("user network: no       %s (hako run needs --network none or ns:PATH)\n",
                       reason ? reason : "?");
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                free(reason);
                reason = NULL;
                if (net_probe_mode(modes[i], &reason) == 0)
                        printf("%-13s ok       attaches a namespace's interfaces to the VM\n",
                               modes[i] == NET_MODE_TCFILTER ? "tcfilter:" : "macvtap:");
                else
                        printf(
                            "%-13s no       %s\n",
                            modes[i] == NET_MODE_TCFILTER ? "tcfilter:" : "macvtap:", reason ? reason : "?");
        }
        free(reason);
}

int cmd_check(int argc, char **argv, const struct global_options *g)
{
        _cleanup_free_ char *kernel = NULL, *initrd = NULL, *err = NULL;
        const struct hv_ops *ops = hv_find(NULL);
        struct hv_caps caps;
        bool ok = true;
        char sz[32];
        (void)argc;
        (void)argv;

        printf("hako %s (agent protocol %d)\n", HAKO_VERSION, HAKO_AGENT_PROTOCOL);
        if (ops->capabilities(&caps) < 0) {
                printf(
                    "hypervisor:   MISSING  %s not found or not working (apt-get install qemu-system-x86)\n",
                    caps.binary);
                ok = false;
        } else
                printf("hypervisor:   ok       %s %s\n", caps.binary, caps.version);
        if (g->accel == HV_ACCEL_TCG)
                printf("acceleration: TCG      forced by --accel tcg\n");
        else if (caps.kvm)
                printf("acceleration: KVM      %s\n", caps.kvm_reason);
        else if (g->accel == HV_ACCEL_KVM) {
                printf("acceleration: MISSING  --accel kvm asked, but %s\n", caps.kvm_reason);
                ok = false;
        } else
                printf("acceleration: TCG      software emulation, much slower: %s\n", caps.kvm_reason);
        printf("agent channel: %s\n",
               caps.vhost_vsock ? "vsock (/dev/vhost-vsock)" : "virtio-serial (no usable /dev/vhost-vsock)");
        if (!template_enabled())
                printf("VM templates: off      HAKO_TEMPLATE=%s: every sandbox boots its kernel\n",
                       getenv("HAKO_TEMPLATE"));
        else if (caps.vhost_vsock)
                printf(
                    "VM templates: off      only for the virtio-serial agent channel; every sandbox boots\n");
        else
                printf("VM templates: on       %s (a booted VM restored per sandbox)\n", templates_dir());
        if (access(virtiofsd_binary(), X_OK) == 0)
                printf("virtiofsd:    ok       %s\n", virtiofsd_binary());
        else {
                printf("virtiofsd:    MISSING  %s (apt-get install qemu-system-common)\n",
                       virtiofsd_binary());
                ok = false;
        }
        if (assets_find(&kernel, &initrd, &err) == 0) {
                size_of(kernel, sz, sizeof(sz));
                printf("guest kernel: ok       %s (%s)\n", kernel, sz);
                size_of(initrd, sz, sizeof(sz));
                printf("guest initrd: ok       %s (%s)\n", initrd, sz);
        } else {
                printf("guest image:  MISSING  %s\n", err ? err : "not built");
                ok = false;
        }
        if (!check_storage())
                ok = false;
        if (geteuid() != 0) {
                printf("privileges:   MISSING  hako needs root (mount namespaces for virtiofsd)\n");
                ok = false;
        } else
                check_network();
        printf("%s\n",
               ok ? "hako can run containers on this host" : "hako cannot run here (see MISSING above)");
        return ok ? 0 : 1;
}
