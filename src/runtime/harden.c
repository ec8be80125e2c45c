/* SPDX-License-Identifier: Apache-2.0 */
#include "harden.h"

#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"

static const int dropped_caps[] = {
    CAP_LINUX_IMMUTABLE, CAP_SYS_MODULE,     CAP_SYS_RAWIO, CAP_SYS_PACCT,          CAP_SYS_BOOT,
    CAP_SYS_TIME,        CAP_SYS_TTY_CONFIG, CAP_LEASE,     CAP_AUDIT_WRITE,        CAP_AUDIT_CONTROL,
    CAP_MAC_OVERRIDE,    CAP_MAC_ADMIN,      CAP_SYSLOG,    CAP_WAKE_ALARM,         CAP_BLOCK_SUSPEND,
    CAP_AUDIT_READ,      CAP_PERFMON,        CAP_BPF,       CAP_CHECKPOINT_RESTORE,
};

/* LeakSanitizer stops the process's threads with ptrace to scan them at exit: a sanitizer build
 * keeps it (and so loses that part of the filter). */
#if defined(__SANITIZE_ADDRESS__)
#define PTRACE_CALL "kcmp"
#else
#define PTRACE_CALL "ptrace"
#endif

static const char *const denied_calls[] = {
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    PTRACE_CALL,
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "add_key",
    "keyctl",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "open_by_handle_at",
    "iopl",
    "ioperm",
    "uselib",
    "lookup_dcookie",
    "quotactl",
};

static bool hardened;

static int drop_caps(void)
{
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2];

        for (size_t i = 0; i < ELEMENTSOF(dropped_caps); i++)
                if (prctl(PR_CAPBSET_DROP, dropped_caps[i], 0, 0, 0) < 0 && errno != EINVAL)
                        return negative_errno();
        if (syscall(SYS_capget, &h, d) < 0)
                return negative_errno();
        for (size_t i = 0; i < ELEMENTSOF(dropped_caps); i++) {
                unsigned w = (unsigned)dropped_caps[i] / 32, b = (unsigned)dropped_caps[i] % 32;
                d[w].effective &= ~(1u << b);
                d[w].permitted &= ~(1u << b);
                d[w].inheritable &= ~(1u << b);
        }
        if (syscall(SYS_capset, &h, d) < 0)
                return negative_errno();
        return 0;
}

static int install_filter(void)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r = 0;

        if (!ctx)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(denied_calls) && r == 0; i++) {
                int nr = seccomp_syscall_resolve_name(denied_calls[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        }
        /* personality(0xffffffff) only queries (glibc and QEMU do): changing it is refused. */
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
                                     SCMP_A0(SCMP_CMP_NE, 0xffffffffu));
        if (r == 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

int harden_host_process(void)
{
        int r;

        if (hardened)
                return 0;
        r = drop_caps();
        if (r < 0)
                return r;
        r = install_filter();
        if (r < 0)
                return r;
        hardened = true;
        return 0;
}
