/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The OCI process of a `hako exec`, as runc builds it: --process FILE as given, or the bundle's
 * process (env, user, capabilities, ...) with the command line's args, env, cwd and user. */
struct exec_spec_opts {
        const char *process_file;
        char **args;
        size_t n_args;
        char **env; /* K=V */
        size_t n_env;
        const char *cwd;
        const char *user; /* UID[:GID] */
        char **additional_gids;
        size_t n_additional_gids;
        char **caps;
        size_t n_caps;
        bool tty, tty_set;
        bool no_new_privs;
};

/* Returns the process JSON (malloc'd) in *ret_json and whether it has a terminal. */
int exec_spec_build(const char *bundle, const struct exec_spec_opts *o, char **ret_json, bool *ret_tty,
                    char **ret_error);
