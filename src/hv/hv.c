/* SPDX-License-Identifier: Apache-2.0 */
#include "hv.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

const struct hv_ops *hv_find(const char *name)
{
        static const struct hv_ops *const backends[] = {&hv_qemu_ops};

        if (!name || !*name)
                return backends[0];
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (!strcmp(backends[i]->name, name))
                        return backends[i];
        return NULL;
}

bool hv_kvm_usable(char *reason, size_t reason_len)
{
        if (access("/sys/module/kvm_pvm", F_OK) == 0) {
                snprintf(reason, reason_len, "/dev/kvm is PVM (kvm_pvm), which emulates an ordinary kernel");
                return false;
        }
        bool intel = access("/sys/module/kvm_intel", F_OK) == 0,
             amd = access("/sys/module/kvm_amd", F_OK) == 0;
        if (!intel && !amd) {
                snprintf(reason, reason_len, "no hardware virtualization (kvm_intel/kvm_amd not loaded)");
                return false;
        }
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                snprintf(reason, reason_len, "cannot open /dev/kvm: %m");
                return false;
        }
        close(fd);
        snprintf(reason, reason_len, "%s", intel ? "kvm_intel" : "kvm_amd");
        return true;
}

bool hv_vhost_vsock_usable(void)
{
        int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

uint64_t hv_host_tsc_khz(void)
{
        char line[256];
        double mhz = 0;
        FILE *f;

        f = fopen("/sys/devices/system/cpu/cpu0/tsc_freq_khz", "re");
        if (f) {
                unsigned long long khz = 0;
                if (fscanf(f, "%llu", &khz) == 1 && khz > 0) {
                        fclose(f);
                        return khz;
                }
                fclose(f);
        }
        f = fopen("/proc/cpuinfo", "re");
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
                        break;
        fclose(f);
        return mhz > 0 ? (uint64_t)(mhz * 1000.0) : 0;
}
