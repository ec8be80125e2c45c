/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Booted-VM templates: the saved state of a VM whose agent has just answered, restored for each
 * new sandbox instead of booting the guest kernel again (under TCG the boot is most of a run).
 * A template is keyed by everything that shapes the saved machine: the hako version, the QEMU
 * binary, kernel and initrd (by identity: path, size, mtime, inode), vCPUs, memory and
 * accelerator. Files live in $HAKO_CACHE/templates (default /var/cache/hako/templates). */

struct template_shape {
        const char *qemu; /* NULL: HAKO_QEMU or qemu-system-x86_64 on PATH */
        const char *kernel;
        const char *initrd;
        const char *cmdline; /* kernel parameters added; NULL: none */
        uint32_t vcpus;
        uint64_t memory_mib;
        uint32_t max_vcpus; /* the room to grow shapes the machine too */
        uint64_t max_memory_mib;
        bool kvm;
};

#define TEMPLATE_KEY_LEN 16
/* What the key cannot see: the machine hako builds around the guest (its devices, the kernel's
 * fixed command line in src/hv/qemu.c). Bumped when that changes, so old templates go. */
#define TEMPLATE_LAYOUT 2

const char *templates_dir(void);
/* HAKO_TEMPLATE=0|off|no turns templates off (every sandbox boots its kernel). */
bool template_enabled(void);
int template_key(const struct template_shape *s, char ret_key[TEMPLATE_KEY_LEN + 1]);
/* Opens the saved device state and the guest RAM file read-only and marks them as recently used;
 * -ENOENT if there is no template. */
int template_open(const char *key, int *ret_state_fd, int *ret_ram_fd);
/* A private copy of a template's RAM for one VM: a new memfd (shareable with virtiofsd) holding
 * only the pages that are not zero. */
int template_ram_copy(int ram_fd, int *ret_memfd);
/* Serialises builders of one key; waits up to timeout_ms (-ETIMEDOUT). Close the fd to unlock. */
int template_lock(const char *key, int timeout_ms, int *ret_lock_fd);
/* A build writes the state to *ret_tmp and the RAM to *ret_tmp_ram (its console log into
 * *ret_build_dir), then template_commit(). */
int template_build_paths(const char *key, char **ret_tmp, char **ret_tmp_ram, char **ret_build_dir);
int template_commit(const char *key, const char *tmp, const char *tmp_ram);
/* A template that failed to restore is removed, so the next sandbox builds it again. */
void template_discard(const char *key);
/* A build that cannot succeed with these inputs (not a timeout) is remembered, so later sandboxes
 * boot cold at once instead of failing the same build again. */
void template_mark_broken(const char *key, const char *why);
bool template_is_broken(const char *key);
