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
        const char *host_cgroup;               /* normalized linux.cgroupsPath; NULL: none */
        bool new_netns;                        /* the spec asks for a new network namespace: ours */
        const char *netns_path;                /* ... or names one to join */
        enum net_mode net_mode;                /* how its interfaces reach the VM */
        bool host_network;                     /* netns_is_host() of the above */
        struct host_cgroup_limits host_limits; /* from linux.resources */
        uint32_t vcpus;
        uint64_t memory_mib;
        int boot_timeout_ms;
        bool debug;
        int log_fd; /* -1: logs are dropped (stderr belongs to the container) */
        bool log_json;
};

/* Runs the monitor in the current (freshly forked) process. Writes "0" to notify_fd once the
 * container is created, or "-ERRNO message" after cleaning up on failure, then closes it.
 * Returns the exit status for the process: the container's (128+N for signal N). */
int monitor_main(const struct monitor_config *c, int notify_fd);
