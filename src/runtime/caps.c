/* SPDX-License-Identifier: Apache-2.0 */
#include "caps.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "macro.h"

/* In capability number order (linux/capability.h). */
static const char *const names[CAPS_COUNT] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

#define BIT(n) (UINT64_C(1) << (n))

uint64_t caps_docker_default(void)
{
        /* CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP
         * NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE */
        return BIT(0) | BIT(1) | BIT(4) | BIT(3) | BIT(27) | BIT(13) | BIT(6) | BIT(7) | BIT(31) | BIT(8) |
               BIT(10) | BIT(18) | BIT(5) | BIT(29);
}

const char *caps_name(unsigned n)
{
        return n < CAPS_COUNT ? names[n] : NULL;
}

int caps_parse(const char *name, uint64_t *ret)
{
        if (!strcasecmp(name, "ALL")) {
                *ret = CAPS_ALL_WORD;
                return 0;
        }
        if (!strncasecmp(name, "CAP_", 4))
                name += 4;
        for (unsigned i = 0; i < CAPS_COUNT; i++)
                if (!strcasecmp(name, names[i] + 4)) {
                        *ret = BIT(i);
                        return 0;
                }
        return -EINVAL;
}

uint64_t caps_from_json(json_t *list)
{
        uint64_t set = 0;
        size_t i;
        json_t *v;

        json_array_foreach(list, i, v)
        {
                const char *s = json_string_value(v);
                for (unsigned n = 0; s && n < CAPS_COUNT; n++)
                        if (!strcmp(s, names[n]))
                                set |= BIT(n);
        }
        return set;
}

json_t *caps_to_json(uint64_t set)
{
        json_t *a = json_array();

        for (unsigned n = 0; a && n < CAPS_COUNT; n++)
                if (set & BIT(n))
                        json_array_append_new(a, json_string(names[n]));
        return a;
}

uint64_t caps_tweak(uint64_t base, uint64_t add, uint64_t drop, bool privileged)
{
        if (privileged)
                return CAPS_ALL;
        if (add & CAPS_ALL_WORD)
                return CAPS_ALL & ~drop;
        if (drop & CAPS_ALL_WORD)
                return add & CAPS_ALL;
        return ((base & ~drop) | add) & CAPS_ALL;
}
