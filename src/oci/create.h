/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "attach.h"
#include "hv.h"
#include "sandbox.h"

struct oci_create_opts {
        const char *root; /* resolved state root */
        const char *id;
        const char *bundle; /* as given; NULL: the current directory */
        const char *console_socket;
        bool detach; /* `create`, `run -d`: nobody stays to be the terminal */
        enum hv_accel accel;
        int boot_timeout_ms;
        bool debug;
        int log_fd; /* for the host process's own messages; -1: none */
        bool log_json;
        enum net_mode net_mode;
        struct sandbox_tuning tuning;
};

/* `create`: checks the bundle, forks the container's host process (monitor.h), which boots the
 * VM and creates the container, and returns its pid once the container is "created". The host
 * process is not waited for: it outlives the caller. On failure nothing is left behind: the
 * host process has cleaned up and exited (and been reaped) before this returns.
 * *ret_tty tells whether the container's process has a terminal. */
int oci_create(const struct oci_create_opts *o, pid_t *ret_pid, bool *ret_tty, char **ret_error);
