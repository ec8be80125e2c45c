/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-client.h"
#include "disk.h"
#include "dns-relay.h"
#include "hv.h"
#include "sandbox-net.h"
#include "shares.h"
#include "virtiofsd.h"

/* A sandbox is one VM: its state directory, virtiofsd, the hypervisor process and the agent
 * channel. Containers are created in it through the agent. */

/* What the configuration ([storage], [hypervisor] jail*) says about every sandbox. */
struct sandbox_tuning {
        /* The scratch disk (disk.h): size in bytes (0: DISK_SIZE_DEFAULT), the host directory
         * its file goes in (NULL: DISK_DIR_DEFAULT); no_disk: the guest has none, and what
         * containers write lands in guest RAM (hako run) or on the host's rootfs (OCI). */
        uint64_t disk_size;
        const char *disk_dir;
        bool no_disk;
        /* The VMM's jail (src/hv/jail.h): no_jail runs QEMU as root in the host's namespaces;
         * else as a uid of its own from [jail_uid_base, +jail_uid_count) (0: the defaults). */
        bool no_jail;
        uint32_t jail_uid_base, jail_uid_count;
};

struct sandbox_config {
        const char *id;
        const char *state_root;
        const char *hypervisor; /* hv backend name; NULL: default */
        const char *binary;     /* the hypervisor program; NULL: the backend's default */
        const char *machine;    /* NULL: microvm */
        const char *kernel;     /* NULL: the installed guest image (assets_find) */
        const char *initrd;
        const char *kernel_params; /* added to the guest's command line */
        bool no_templates;         /* boot every VM (templates are also off with HAKO_TEMPLATE=0) */
        enum hv_accel accel;
        uint32_t vcpus;
        uint64_t memory_mib;
        /* Room to grow (sandbox_grow; a "pc" machine): 0 keeps the VM at its size. */
        uint32_t max_vcpus;
        uint64_t max_memory_mib;
        struct share_table *shares; /* what the guest sees first; taken over by the sandbox */
        /* How the interfaces of the calling process's network namespace reach the guest (NONE:
         * the guest has only its loopback). */
        enum net_mode net_mode;
        bool host_network; /* the caller asked for host networking (netns_is_host): refused unless NONE */
        struct sandbox_tuning tuning;
        int boot_timeout_ms;
        bool debug;
};

struct container;

struct sandbox {
        char *id;
        char *state_dir;
        int lock_fd;
        struct virtiofsd vfsd;
        struct share_table shares;
        struct hv_vm *vm;
        int agent_fd;
        struct agent_client agent;
        bool agent_ready;
        int agent_error;              /* the channel broke (-errno): the guest is lost */
        struct container *containers; /* container.c */
        struct sandbox_net net;
        struct dns_relay dns;
        bool restored;           /* the VM is a restored template, not a cold boot */
        uint64_t agent_instance; /* the agent's exec instance (Health) */
        char *disk_path;         /* the scratch disk's file; NULL: none */
        int disk_fd;
        struct disk_mkfs disk_mkfs; /* its file system, being made while the VM starts */
        uid_t jail_uid;             /* 0: QEMU is not jailed */
        int jail_lock_fd;           /* holds jail_uid for this sandbox */
        uint32_t vcpus;
        uint64_t memory_mib;
        /* CLOCK_MONOTONIC ms, for the timing breakdown */
        long long t_start, t_vm_spawned, t_agent_ready, t_sandbox_ready;
};

/* The calling process moves into a private mount namespace (mountns_make_private), where the
 * shares are mounted. */
int sandbox_create(const struct sandbox_config *cfg, struct sandbox **ret, char **ret_error);
/* Mounts the shares added to sb->shares since (share_table_get) for the guest. */
int sandbox_share_sync(struct sandbox *sb, char **ret_error);
/* Drops a reference to a share; the last one takes it away from the guest. */
void sandbox_share_release(struct sandbox *sb, const char *name);
/* Hot-adds vCPUs and memory until the VM has (at least) vcpus and memory_mib, within the room
 * it was created with, and waits for the guest to bring them online. It never shrinks. */
int sandbox_grow(struct sandbox *sb, uint32_t vcpus, uint64_t memory_mib, char **ret_error);
/* Ends the VM and virtiofsd. keep_record: leave the state directory with its status and logs
 * (a container run without --rm); otherwise remove it. Always safe to call. */
void sandbox_destroy(struct sandbox *sb, bool keep_record);
