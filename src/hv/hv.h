/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The hypervisor abstraction: one const ops table per backend (QEMU first). The runtime never
 * builds a command line or speaks a monitor protocol itself. */

enum hv_accel {
        HV_ACCEL_AUTO,
        HV_ACCEL_KVM,
        HV_ACCEL_TCG,
};

/* The scratch disk's virtio serial: the guest finds the device by it. */
#define HV_DISK_SERIAL "hako-disk"

struct hv_caps {
        bool kvm;             /* hardware virtualization usable */
        char kvm_reason[160]; /* why (not) */
        bool vhost_vsock;     /* /dev/vhost-vsock usable: agent over AF_VSOCK */
        char version[64];     /* backend binary version */
        char binary[256];
};

struct hv_config {
        const char *binary; /* NULL: the backend's default ($HAKO_QEMU, qemu-system-x86_64) */
        const char *id;
        const char *state_dir; /* backend files (console log) go here */
        const char *kernel;
        const char *initrd;
        const char *cmdline_extra;
        const char *machine; /* "microvm" (default) or "pc" */
        enum hv_accel accel;
        uint32_t vcpus;
        uint64_t memory_mib;
        /* Room to grow while running (hot-plug; pc only): vCPUs up to max_vcpus, memory up to
         * max_memory_mib in DIMMs. 0: the VM keeps its size. */
        uint32_t max_vcpus;
        uint64_t max_memory_mib;
        int agent_fd;             /* connected socket: the host end of the agent channel */
        uint32_t vsock_cid;       /* != 0: agent over vsock with this guest CID instead */
        const char *virtiofs_tag; /* non-NULL: a virtio-fs device on virtiofs_fd */
        int virtiofs_fd;          /* connected to virtiofsd (vhost-user); the caller keeps it */
        const char *console_log;
        /* jail_uid != 0: QEMU runs jailed (jail.h) as jail_uid/jail_gid, which the caller
         * allocated for this VM alone; files QEMU reopens (console log, disk, RAM file) must be
         * readable and writable by it. */
        uid_t jail_uid;
        gid_t jail_gid;
        int disk_fd; /* > 0: the scratch disk's image, a virtio-blk device with serial HV_DISK_SERIAL */
        const struct hv_nic *nics; /* present from the start (hot-added right after a restore) */
        size_t n_nics;
        /* restore: load the saved state on restore_fd (see save) instead of booting. The VM must
         * be built exactly like the one that was saved, except that its virtio-fs device, which
         * cannot be migrated, is hot-added after the restore: the guest has to rescan its PCI bus. */
        bool restore;
        int restore_fd;
        /* file_ram: guest RAM is the file on ram_fd (shared, so virtiofsd can map it) instead of a
         * fresh memfd. save() then leaves RAM out of the saved state: the file holds it. */
        bool file_ram;
        int ram_fd;
};

/* A network device: a virtio-net NIC on a tap (or macvtap) fd, with the MAC the guest's device
 * gets. */
struct hv_nic {
        const char *id; /* [a-z0-9]+, unique in the VM */
        int fd;         /* the caller keeps it; QEMU gets a copy */
        uint8_t mac[6];
};

/* Devices added to a running VM (hot-plug, where the machine type allows it). */
enum hv_device_type {
        HV_DEVICE_VIRTIOFS,
        HV_DEVICE_BLOCK,
};

struct hv_device {
        enum hv_device_type type;
        const char *id;
        const char *path; /* socket (virtiofs) or image file (block) */
        const char *tag;
        bool readonly;
};

struct hv_vm {
        const struct hv_ops *ops;
        pid_t pid;
        int pidfd; /* readable when the VM process exits */
        bool tcg;  /* running under software emulation */
};

struct hv_ops {
        const char *name;
        int (*capabilities)(struct hv_caps *ret);
        /* Validates the config and prepares the VM; nothing runs yet. */
        int (*create)(const struct hv_config *cfg, struct hv_vm **ret_vm);
        int (*start)(struct hv_vm *vm);
        /* Ends the VM from the host (no guest shutdown path) and reaps it. Idempotent. */
        int (*stop)(struct hv_vm *vm);
        int (*pause)(struct hv_vm *vm);
        int (*resume)(struct hv_vm *vm);
        int (*add_device)(struct hv_vm *vm, const struct hv_device *dev);
        /* Hot-adds vCPUs until the VM has total; the guest onlines them. -EOPNOTSUPP without
         * room (hv_config.max_vcpus). */
        int (*add_vcpus)(struct hv_vm *vm, uint32_t total);
        /* Hot-adds mib of memory (a DIMM, shared so virtiofsd can map it). */
        int (*add_memory)(struct hv_vm *vm, uint64_t mib);
        /* Hot-adds a NIC; -EOPNOTSUPP where the machine cannot (microvm). */
        int (*add_nic)(struct hv_vm *vm, const struct hv_nic *nic);
        /* Pauses the VM and writes its whole state to path (a new file), for hv_config.restore. The VM
         * stays paused. */
        int (*save)(struct hv_vm *vm, const char *path);
        /* From now on the guest console goes to a ring of the last 64 KiB in the VMM's memory
         * instead of the console log file, which a guest printing without end would grow
         * without bound (host tmpfs, i.e. RAM). The file keeps what came before (the boot). */
        int (*cap_console)(struct hv_vm *vm);
        /* Path of the captured guest console. */
        const char *(*console)(struct hv_vm *vm);
        void (*free)(struct hv_vm *vm);
};

extern const struct hv_ops hv_qemu_ops;

const struct hv_ops *hv_find(const char *name);

/* Whether KVM is real hardware virtualization here. PVM's /dev/kvm emulates every instruction
 * of an ordinary kernel, so it counts as unusable. */
bool hv_kvm_usable(char *reason, size_t reason_len);
bool hv_vhost_vsock_usable(void);
/* Host TSC frequency, for the guest's tsc_early_khz (avoids the microvm PIT-calibration hang). */
uint64_t hv_host_tsc_khz(void);

static inline struct hv_vm *hv_vm_free(struct hv_vm *vm)
{
        if (vm)
                vm->ops->free(vm);
        return NULL;
}
