/* SPDX-License-Identifier: Apache-2.0 */
/* hako features: the OCI features document (runtime-spec features.md), as `runc features`. */
#include <stdio.h>

#include "commands.h"

/* What the guest's crun applies plus what the host does itself. Hooks: the host runs prestart,
 * createRuntime, poststart and poststop; createContainer and startContainer would run in the
 * container's namespaces, which are in the guest, and are not run (docs/oci.md). */
static const char features[] =
    "{\n"
    "  \"ociVersionMin\": \"1.0.0\",\n"
    "  \"ociVersionMax\": \"1.1.0\",\n"
    "  \"hooks\": [\"prestart\", \"createRuntime\", \"poststart\", \"poststop\"],\n"
    "  \"mountOptions\": [\"async\", \"atime\", \"bind\", \"defaults\", \"dev\", \"diratime\", \"dirsync\", "
    "\"exec\", \"iversion\", \"lazytime\", \"loud\", \"mand\", \"noatime\", \"nodev\", \"nodiratime\", "
    "\"noexec\", \"noiversion\", \"nolazytime\", \"nomand\", \"norelatime\", \"nostrictatime\", \"nosuid\", "
    "\"private\", \"rbind\", \"relatime\", \"remount\", \"ro\", \"rprivate\", \"rshared\", \"rslave\", "
    "\"rw\", \"shared\", \"silent\", \"slave\", \"strictatime\", \"suid\", \"sync\", \"tmpcopyup\"],\n"
    "  \"linux\": {\n"
    "    \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"user\", \"uts\"],\n"
    "    \"capabilities\": [\"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_DAC_READ_SEARCH\", \"CAP_FOWNER\", "
    "\"CAP_FSETID\", \"CAP_KILL\", \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETPCAP\", \"CAP_LINUX_IMMUTABLE\", "
    "\"CAP_NET_BIND_SERVICE\", \"CAP_NET_BROADCAST\", \"CAP_NET_ADMIN\", \"CAP_NET_RAW\", \"CAP_IPC_LOCK\", "
    "\"CAP_IPC_OWNER\", \"CAP_SYS_MODULE\", \"CAP_SYS_RAWIO\", \"CAP_SYS_CHROOT\", \"CAP_SYS_PTRACE\", "
    "\"CAP_SYS_PACCT\", \"CAP_SYS_ADMIN\", \"CAP_SYS_BOOT\", \"CAP_SYS_NICE\", \"CAP_SYS_RESOURCE\", "
    "\"CAP_SYS_TIME\", \"CAP_SYS_TTY_CONFIG\", \"CAP_MKNOD\", \"CAP_LEASE\", \"CAP_AUDIT_WRITE\", "
    "\"CAP_AUDIT_CONTROL\", \"CAP_SETFCAP\", \"CAP_MAC_OVERRIDE\", \"CAP_MAC_ADMIN\", \"CAP_SYSLOG\", "
    "\"CAP_WAKE_ALARM\", \"CAP_BLOCK_SUSPEND\", \"CAP_AUDIT_READ\", \"CAP_PERFMON\", \"CAP_BPF\", "
    "\"CAP_CHECKPOINT_RESTORE\"],\n"
    "    \"cgroup\": {\"v1\": false, \"v2\": true, \"systemd\": false, \"systemdUser\": false},\n"
    "    \"seccomp\": {\"enabled\": false},\n"
    "    \"apparmor\": {\"enabled\": false},\n"
    "    \"selinux\": {\"enabled\": false}\n"
    "  },\n"
    "  \"annotations\": {\n"
    "    \"io.github.hako.vm\": \"one microVM per container\",\n"
    "    \"io.github.hako.version\": \"" HAKO_VERSION "\"\n"
    "  }\n"
    "}\n";

int cmd_oci_features(int argc, char **argv, const struct global_options *g)
{
        (void)argc;
        (void)argv;
        (void)g;
        fputs(features, stdout);
        return 0;
}
