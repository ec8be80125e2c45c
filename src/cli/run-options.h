/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "publish.h"
#include "spec.h"

/* --network: the default user network (NAT through slirp4netns, ports published with -p), none
 * (the loopback only), or an existing network namespace (ns:PATH) whose interfaces the guest
 * mirrors. */
enum run_network {
        RUN_NET_USER, /* the zero value: the default */
        RUN_NET_NONE,
        RUN_NET_NS,
};

/* `hako run` options, parsed apart from running so they can be unit tested. */
struct run_options {
        bool rm, interactive, tty, debug, detach;
        const char *name;
        const char *image;
        struct container_opts c;
        uint32_t vcpus;
        uint64_t vm_memory_mib;
        uint64_t disk_size; /* --disk-size: the scratch disk's size in bytes, 0: none */
        bool disk_size_set;
        const char *machine;
        enum run_network network;
        const char *netns_path; /* RUN_NET_NS */
        struct net_publish *publish;
        size_t n_publish;
        /* --cap-add/--cap-drop/--privileged/--security-opt/--init/--read-only; the seccomp
         * profile of seccomp=PATH is ours (run_options_done frees it). */
        struct spec_security sec;
};

/* Parses argv (argv[0] is "run"). On error returns -EINVAL with a one-line message. */
int run_options_parse(int argc, char **argv, struct run_options *ret, char **ret_error);
void run_options_done(struct run_options *o);

/* VM sizing: guest RAM covers the container limit plus the guest's own needs. */
#define RUN_DEFAULT_VM_MIB  128
#define RUN_VM_OVERHEAD_MIB 64
