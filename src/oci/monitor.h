/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host-cgroup.h"
#include "attach.h"
#include "hv.h"
#include "shares.h"
#include "sandbox.h"

/* The host process that stands for an OCI container's init ("monitor"): forked by `hako create`,
 * it owns the sandbox (VM, virtiofsd, the state directory's lock), creates the container in the
 * guest, serves the control socket (start, kill, pause, resume, shutdown), relays the stdio it
 * was given, forwards the signals it receives, and exits with the container's exit status. */
struct monitor_config {
        const char *root; /* resolved state root */
        const char *id;
        const char *bundle; /* absolute */
        const char *console_socket;
        json_t *spec;  /* prepared for the guest (spec_prepare), without hooks */
        json_t *hooks; /* the bundle's hooks, run on the host; may be NULL */
        json_t *annotations;
        struct share_table *shares; /* the rootfs's and the volumes' */
        const char *rootfs_guest;   /* the rootfs share's guest path */
        bool tty;
        bool rootfs_ro;
        enum hv_accel accel;
        const char *host_cgroup; /* normalized linux.cgroupsPath; NULL: none */
        bool new_netns;          /* the spec asks for a new network namespace: ours */
        const char *netns_path;  /* ... or names one to join */
        enum net_mode net_mode;  /* how its interfaces reach the VM */
        struct sandbox_tuning tuning;
        bool host_network;                     /* netns_is_host() of the above */
        struct host_cgroup_limits host_limits; /* from linux.resources */
        uint32_t vcpus;
        uint64_t memory_mib;
        int boot_timeout_ms;
        bool debug;
        int log_fd; /* -1: logs are dropped (stderr belongs to the container) */
        bool log_json;
        /* A detached `hako run` (-d): no bundle (the guest's spec is written into the state
         * directory as config.json, which `hako exec` reads, and the record says "run"); the
         * image's rootfs under an overlay; the container started at once; its stdout and
         * stderr into the log (run-log.h), its stdin empty or, with stdin_open (-i), open and
         * silent; the state directory removed at the end with remove_at_exit (--rm). */
        bool run;
        bool overlay;
        bool stdin_open;
        bool remove_at_exit;
        const char *machine; /* NULL: pc when the network namespace may change, else the default */
};

/* Runs the monitor in the current (freshly forked) process, whose inherited fds the caller has
 * closed (close_fds_except). Writes "0" to notify_fd once the container is created (started,
 * with run), or "-ERRNO CODE message" after cleaning up on failure, CODE being the status `hako
 * run` exits with (125, or 126/127 when the container's process cannot be executed), then closes
 * it. Returns the exit status for the process: the container's (128+N for signal N). */
int monitor_main(const struct monitor_config *c, int notify_fd);
/* Writes such a verdict (and closes fd): for a caller that fails before monitor_main. */
void monitor_notify(int fd, int r, int exit_code, const char *error);
/* Reads that verdict on the other end: 0, or -errno with the message and the exit code. */
int monitor_read_verdict(int fd, int *ret_exit_code, char **ret_error);
