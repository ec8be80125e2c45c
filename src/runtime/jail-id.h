/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* The identities jailed VMMs run as (src/hv/jail.h): one uid (and the gid of the same number)
 * per VM from a configured range, so that two sandboxes' QEMUs cannot signal or ptrace each
 * other. A uid is taken by flock()ing its file under JAIL_ID_DIR; the lock is held by the host
 * process that owns the VM for as long as it lives, so a killed owner frees it. */

#define JAIL_ID_DIR            "/run/hako/jail-ids"
#define JAIL_UID_BASE_DEFAULT  1879048192u /* 0x70000000: far above login users and subuid ranges */
#define JAIL_UID_COUNT_DEFAULT 65536u

/* -EAGAIN: every uid of the range is in use. */
int jail_id_acquire(uint32_t base, uint32_t count, uid_t *ret_uid, int *ret_lock_fd);
