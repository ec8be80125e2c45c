/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "parse.h"

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv, const struct global_options *g);
        const char *help;
} commands[] = {
    {"run", cmd_run, "run a command in a new container, in its own microVM"},
    {"ps", cmd_ps, "list containers (running and kept exited ones)"},
    {"rm", cmd_rm, "remove an exited container's record"},
    {"check", cmd_check, "show what this host offers and whether hako can run here"},
    {"version", cmd_version, "show the versions of hako, its guest image and the agent protocol"},
};

static void usage(FILE *f)
{
        fprintf(f, "usage: hako [--root DIR] [--accel auto|kvm|tcg] [--debug] COMMAND [ARGS...]\n\n"
                   "hako runs each container in its own microVM with its own Linux kernel.\n\ncommands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
        fprintf(
            f,
            "\nhako run [--rm] [--name ID] [-e K=V]... [-w DIR] [-u UID[:GID]] [-v HOST:CTR[:ro]]...\n"
            "         [--cpus N] [--memory SIZE] [-i] [-t] IMAGE [CMD...]\n"
            "  IMAGE: 'busybox' (built in), an OCI bundle directory, or a rootfs directory\n\n"
            "environment: HAKO_ROOT (state root), HAKO_GUEST_DIR / HAKO_KERNEL / HAKO_INITRD (guest image),\n"
            "             HAKO_BOOT_TIMEOUT (seconds), HAKO_TIMING=1 (print a timing breakdown)\n");
}

int main(int argc, char **argv)
{
        enum { OPT_ROOT = 0x100, OPT_ACCEL, OPT_DEBUG };
        static const struct option longopts[] = {
            {"root", required_argument, NULL, OPT_ROOT}, {"accel", required_argument, NULL, OPT_ACCEL},
            {"debug", no_argument, NULL, OPT_DEBUG},     {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},         {},
        };
        struct global_options g = {.accel = HV_ACCEL_AUTO, .boot_timeout_ms = 30000};
        const char *e;
        int c;

        log_set_prefix("hako");
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
        if (optind >= argc) {
                usage(stderr);
                return 125;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (!strcmp(argv[optind], commands[i].name))
                        return commands[i].fn(argc - optind, argv + optind, &g);
        log_error("unknown command '%s' (see 'hako --help')", argv[optind]);
        return 125;
}
