/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The VMM's jail (docs/security.md): what a QEMU process may reach if a device-emulation bug
 * hands the guest its control. Set up in the child between clone3 (new mount, PID, IPC and
 * network namespaces) and exec:
 * - a root of its own: a read-only tmpfs with /usr (and the /lib, /bin links), ld.so.cache, a
 *   few device nodes, a fresh /proc, under /hako the kernel and the initrd, and the console log
 *   at its host path; the rest of the host's file tree does not exist there;
 * - an empty network namespace (NICs are taps handed in as fds), its own IPC and PID namespaces;
 * - limits on open files, processes (per uid), address space and core dumps;
 * - a uid and gid of its own (one per sandbox, so two sandboxes cannot signal or ptrace each
 *   other), no capabilities (bounding set emptied), no new privileges.
 * QEMU then adds its own seccomp filter (-sandbox on, with obsolete, elevateprivileges, spawn and
 * resourcecontrol denied). Everything else it uses is an fd handed in. */

#define JAIL_KERNEL "/hako/vmlinux"
#define JAIL_INITRD "/hako/initrd"

struct jail {
        uid_t uid;
        gid_t gid;
        const char *dir;    /* an empty directory the root is mounted on (the child's namespace only) */
        const char *kernel; /* host paths, bound read-only at JAIL_KERNEL, JAIL_INITRD */
        const char *initrd;
        const char *console;    /* host path, bound read-write at the same path (owned by uid) */
        bool kvm;               /* /dev/kvm, with its group */
        bool vhost_vsock;       /* /dev/vhost-vsock, with its group */
        uint64_t address_space; /* RLIMIT_AS in bytes */
};

/* The spawn pre_exec hook: userdata is a struct jail. Returns -errno. */
int jail_enter(void *userdata);
