/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hako-config.h"
#include "log.h"
#include "parse.h"

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv, const struct global_options *g);
        const char *help;
} commands[] = {
    {"run", cmd_run, "run a command in a new container, in its own microVM"},
    {"ps", cmd_ps, "list containers (running and kept exited ones)"},
    {"logs", cmd_logs, "print a detached container's output (-f: follow it)"},
    {"exec", cmd_exec, "run a command in a running container (Docker's form; runc's, OCI)"},
    {"stop", cmd_stop, "stop containers: SIGTERM, SIGKILL after -t SECONDS (10)"},
    {"rm", cmd_rm, "remove an exited container's record (-f: a running one too)"},
    {"check", cmd_check, "show what this host offers and whether hako can run here"},
    {"version", cmd_version, "show the versions of hako, its guest image and the agent protocol"},
    /* The OCI runtime interface (runc's commands and flags), docs/oci.md. */
    {"create", cmd_oci_create, "OCI: create a container from a bundle (boots its VM)"},
    {"start", cmd_oci_start, "OCI: start a created container's process"},
    {"state", cmd_oci_state, "OCI: print a container's state JSON"},
    {"kill", cmd_oci_kill, "OCI: send a signal to a container (default SIGTERM)"},
    {"delete", cmd_oci_delete, "OCI: delete a container and its VM"},
    {"list", cmd_oci_list, "OCI: list containers (-q, --format table|json)"},
    {"pause", cmd_oci_pause, "OCI: freeze a container's whole VM"},
    {"resume", cmd_oci_resume, "OCI: thaw a paused container"},
    {"events", cmd_oci_events, "OCI: print a container's statistics (--stats: once)"},
    {"update", cmd_oci_update, "OCI: change a container's resource limits"},
    {"spec", cmd_oci_spec, "OCI: write a starter config.json"},
    {"features", cmd_oci_features, "OCI: print the runtime's features JSON"},
    {"checkpoint", cmd_oci_unsupported, "OCI: not supported"},
    {"restore", cmd_oci_unsupported, "OCI: not supported"},
};

static void usage(FILE *f)
{
        fprintf(f, "usage: hako [--root DIR] [--accel auto|kvm|tcg] [--debug] COMMAND [ARGS...]\n\n"
                   "hako runs each container in its own microVM with its own Linux kernel.\n\ncommands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
        fprintf(
            f,
            "\nhako run [--rm] [-d] [--name ID] [-e K=V]... [-w DIR] [-u UID[:GID]] [-v HOST:CTR[:ro]]...\n"
            "         [--cpus N] [--memory SIZE] [--network user|none|ns:PATH] [-p [IP:]HOST:CTR[/udp]]...\n"
            "         [--cap-add CAP]... [--cap-drop CAP]... [--privileged] [--read-only] [--init]\n"
            "         [--security-opt no-new-privileges|seccomp=unconfined|seccomp=PROFILE.json]...\n"
            "         [--disk-size SIZE] [-i] [-t] IMAGE [CMD...]\n"
            "  IMAGE: 'busybox' (built in), an OCI bundle directory, or a rootfs directory\n"
            "hako logs [-f] ID | hako stop [-t SECONDS] ID... | hako rm [-f] ID...\n"
            "hako exec [-i] [-t] [-d] [-e K=V]... [-w DIR] [-u UID[:GID]] ID CMD...   (a 'hako run -d' "
            "container)\n\n"
            "hako run --bundle|-b DIR [-d] [--pid-file F] [--console-socket S] ID\n"
            "  the OCI run (create + start + wait + delete), chosen when --bundle is given\n"
            "hako ps [--format table|json] ID   the OCI ps (the container's host process)\n\n"
            "global: --root DIR --log FILE --log-format text|json --debug --systemd-cgroup (ignored)\n"
            "        --net-mode tcfilter|macvtap|none (how the container's network namespace reaches the "
            "VM)\n\n"
            "environment: HAKO_ROOT (state root), HAKO_GUEST_DIR / HAKO_KERNEL / HAKO_INITRD (guest image),\n"
            "             HAKO_BOOT_TIMEOUT (seconds), HAKO_TIMING=1 (print a timing breakdown)\n"
            "             HAKO_CONFIG (the configuration file, default " HAKO_CONFIG_DEFAULT ")\n");
}

int main(int argc, char **argv)
{
        enum {
                OPT_ROOT = 0x100,
                OPT_ACCEL,
                OPT_DEBUG,
                OPT_LOG,
                OPT_LOG_FORMAT,
                OPT_NET_MODE,
                OPT_IGNORED,
                OPT_IGNORED_ARG
        };
        static const struct option longopts[] = {
            {"root", required_argument, NULL, OPT_ROOT},
            {"accel", required_argument, NULL, OPT_ACCEL},
            {"debug", no_argument, NULL, OPT_DEBUG},
            {"log", required_argument, NULL, OPT_LOG},
            {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
            {"net-mode", required_argument, NULL, OPT_NET_MODE},
            /* runc's; a VM's host side has no use for them */
            {"systemd-cgroup", no_argument, NULL, OPT_IGNORED},
            {"rootless", required_argument, NULL, OPT_IGNORED_ARG},
            {"criu", required_argument, NULL, OPT_IGNORED_ARG},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {},
        };
        struct global_options g = {.accel = HV_ACCEL_AUTO, .boot_timeout_ms = 30000, .log_fd = -1};
        const char *log_path = NULL;
        const char *e;
        int c;

        log_set_prefix("hako");
        /* A caller may start us with stdio closed (runtimes get whatever their shim has): keep
         * 0-2 taken, or our own sockets would land there and be relayed as the container's. */
        for (int fd = 0; fd <= 2; fd++)
                if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
                        return 125;
        signal(SIGPIPE, SIG_IGN);
        e = getenv("HAKO_BOOT_TIMEOUT");
        if (e) {
                uint32_t s;
                if (parse_uint32(e, &s) < 0 || s == 0 || s > 3600) {
                        log_error("invalid HAKO_BOOT_TIMEOUT '%s': seconds, 1-3600", e);
                        return 125;
                }
                g.boot_timeout_ms = (int)s * 1000;
        }
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        g.root = optarg;
                        break;
                case OPT_ACCEL:
                        if (!strcmp(optarg, "auto"))
                                g.accel = HV_ACCEL_AUTO;
                        else if (!strcmp(optarg, "kvm"))
                                g.accel = HV_ACCEL_KVM;
                        else if (!strcmp(optarg, "tcg"))
                                g.accel = HV_ACCEL_TCG;
                        else {
                                log_error("invalid --accel '%s': auto, kvm or tcg", optarg);
                                return 125;
                        }
                        break;
                case OPT_DEBUG:
                        g.debug = true;
                        log_set_level(LOG_LEVEL_DEBUG);
                        break;
                case OPT_LOG:
                        log_path = optarg;
                        break;
                case OPT_LOG_FORMAT:
                        if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0) {
                                log_error("invalid --log-format '%s': text or json", optarg);
                                return 125;
                        }
                        g.log_json = !strcmp(optarg, "json");
                        break;
                case OPT_NET_MODE:
                        g.net_mode = optarg;
                        break;
                case OPT_IGNORED:
                case OPT_IGNORED_ARG:
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        return cmd_version(0, NULL, &g);
                case ':':
                        log_error("option '%s' needs a value", argv[optind - 1]);
                        return 125;
                default:
                        log_error("unknown option '%s' (see 'hako --help')", argv[optind - 1]);
                        return 125;
                }
        }
        if (log_path) {
                /* Like runc's --log: our messages go there, in --log-format, not to stderr. */
                g.log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (g.log_fd < 0) {
                        log_error_errno(-errno, "cannot open log file %s: %m", log_path);
                        return 125;
                }
                log_set_output(g.log_fd, g.log_json);
        }
        if (optind >= argc) {
                usage(stderr);
                return 125;
        }
        /* `run` and `ps` are both hako's Docker-like commands and runc's: --bundle / an id decide. */
        if (!strcmp(argv[optind], "run") && oci_run_wanted(argc - optind, argv + optind))
                return cmd_oci_run(argc - optind, argv + optind, &g);
        if (!strcmp(argv[optind], "ps") && argc - optind > 1)
                return cmd_oci_ps(argc - optind, argv + optind, &g);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(argv[optind], commands[i].name))
                        return commands[i].fn(argc - optind, argv + optind, &g);
        log_error("unknown command '%s' (see 'hako --help')", argv[optind]);
        return 125;
}
