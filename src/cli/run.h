/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "commands.h"
#include "image.h"
#include "run-options.h"
#include "shares.h"
#include "usernet.h"
#include "sandbox.h"

/* Docker's exit codes for failures that are not the container's own. */
#define EXIT_HAKO_ERROR  125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND   127

/* What one `hako run` prepares before a VM exists (run.c), shared by the attached run and the
 * detached one (run-detach.c). */
struct run_ctx {
        const struct global_options *g;
        struct run_options o;
        struct image img;
        json_t *spec;
        char *rootfs_host;
        char *rootfs_guest;
        bool rootfs_ro, overlay;
        char idbuf[13];
        const char *id;
        struct share_table shares;
        struct net_user user;
        enum net_mode net_mode;
        struct sandbox_tuning tuning; /* the configuration's, with --disk-size */
};

/* The guest's side of the run, in the process that will own the sandbox: the network namespace
 * (the user network's slirp4netns is its child), the shares, the spec the guest gets. On failure
 * a one-line message in *ret_error. */
int run_prepare_guest(struct run_ctx *c, char **ret_error);
/* The warning for a run under TCG, on a terminal. */
void run_warn_no_kvm(const struct global_options *g);
/* `hako run -d`: forks the container's host process (src/oci/monitor.c), which prepares the
 * guest, boots the VM, starts the container and logs its output; prints the id once it runs.
 * Returns the exit status for `hako run`. */
int run_detached(struct run_ctx *c);
