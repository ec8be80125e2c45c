/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "attach.h"
#include "hv.h"
#include "sandbox.h"

/* The configuration of a runtime flavour: one TOML file (default HAKO_CONFIG_DEFAULT; containerd
 * names another with the runtime's `ConfigPath` option, so two RuntimeClasses can be two
 * flavours). Pods may override a part of it with `org.hako.*` annotations, but only the ones the
 * file lists in enable_annotations: a pod cannot pick its own kernel unless the node allows it.
 *
 *   [hypervisor]
 *   path = "qemu-system-x86_64"      # the QEMU binary
 *   machine = "pc"                   # "microvm" or "pc" (pc can hot-plug)
 *   accel = "auto"                   # "auto", "kvm" or "tcg"
 *   kernel = "/usr/local/share/hako/vmlinux"
 *   initrd = "/usr/local/share/hako/initrd.img"
 *   kernel_params = ""               # added to the guest kernel's command line
 *   default_vcpus = 1
 *   default_memory = 256             # MiB
 *   max_vcpus = 0                    # 0: the host's CPUs
 *   max_memory = 0                   # MiB, 0: half the host's memory
 *   templates = true                 # restore VMs from saved templates
 *   jail = true                      # QEMU as a uid of its own, no capabilities, own namespaces
 *   jail_uid_base = 1879048192       # the uids jailed VMMs get: one per VM from this range
 *   jail_uid_count = 65536
 *   debug_console = false            # the guest's console in the sandbox's state, agent debug
 *   enable_annotations = ["vcpus", "memory"]
 *
 *   [network]
 *   mode = "tcfilter"                # how the container's interfaces reach the VM: "tcfilter",
 *                                    # "macvtap" or "none" (docs/networking.md)
 *
 *   [storage]
 *   disk_size = "32G"                # each sandbox's scratch disk (sparse; 0: none), where the
 *                                    # workload's writes go (docs/nested.md)
 *   disk_dir = "/var/lib/hako/disks"
 */

#define HAKO_CONFIG_DEFAULT    "/etc/hako/hako.toml"
#define HAKO_ANNOTATION_PREFIX "org.hako."

struct hako_config {
        char *path; /* the file it came from, NULL: built-in defaults */
        char *hypervisor;
        char *machine; /* NULL: the default */
        enum hv_accel accel;
        char *kernel, *initrd; /* NULL: the installed guest image */
        char *kernel_params;
        uint32_t default_vcpus, max_vcpus;
        uint64_t default_memory_mib, max_memory_mib;
        bool templates;
        bool debug_console;
        enum net_mode net_mode;
        uint64_t disk_size; /* bytes; 0: the default (no_disk: none) */
        bool no_disk;
        char *disk_dir; /* NULL: the default */
        bool jail;      /* QEMU jailed (src/hv/jail.h) */
        uint32_t jail_uid_base, jail_uid_count;
        char **enable_annotations;
        size_t n_enable_annotations;
};

/* Loads path (NULL: the default file, which may be missing: then the built-in defaults). A
 * syntax error, an unknown key or a bad value fails with "FILE:LINE: what". */
int hako_config_load(const char *path, struct hako_config *ret, char **ret_error);
void hako_config_done(struct hako_config *c);
/* The sandbox_tuning the configuration gives (pointers into c). */
struct sandbox_tuning hako_config_tuning(const struct hako_config *c);
/* Applies the org.hako.* annotations of a spec to c; one the configuration does not enable, or
 * does not know, fails. */
int hako_config_apply_annotations(struct hako_config *c, json_t *annotations, char **ret_error);
