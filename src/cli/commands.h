/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "attach.h"
#include "hv.h"

struct global_options {
        const char *root; /* state root; NULL: $HAKO_ROOT or /run/hako */
        enum hv_accel accel;
        int boot_timeout_ms;
        bool debug;
        int log_fd; /* --log FILE, -1: stderr */
        bool log_json;
        const char *net_mode; /* --net-mode; NULL: the configuration's ([network] mode) */
};

int cmd_run(int argc, char **argv, const struct global_options *g);
int cmd_check(int argc, char **argv, const struct global_options *g);
int cmd_version(int argc, char **argv, const struct global_options *g);
int cmd_rm(int argc, char **argv, const struct global_options *g);
int cmd_ps(int argc, char **argv, const struct global_options *g);
/* `hako stop` of one container (after secs, SIGKILL); logs the error. */
int cli_stop(const char *root, const char *id, unsigned secs);
int cmd_logs(int argc, char **argv, const struct global_options *g);
int cmd_stop(int argc, char **argv, const struct global_options *g);
/* Docker's form for containers of `hako run -d`, else the OCI exec (cmd_oci_exec). */
int cmd_exec(int argc, char **argv, const struct global_options *g);

/* The OCI runtime (runc-compatible) commands, oci-*.c. */
int cmd_oci_create(int argc, char **argv, const struct global_options *g);
int cmd_oci_start(int argc, char **argv, const struct global_options *g);
int cmd_oci_state(int argc, char **argv, const struct global_options *g);
int cmd_oci_kill(int argc, char **argv, const struct global_options *g);
int cmd_oci_delete(int argc, char **argv, const struct global_options *g);
int cmd_oci_list(int argc, char **argv, const struct global_options *g);
int cmd_oci_spec(int argc, char **argv, const struct global_options *g);
int cmd_oci_features(int argc, char **argv, const struct global_options *g);
int cmd_oci_pause(int argc, char **argv, const struct global_options *g);
int cmd_oci_resume(int argc, char **argv, const struct global_options *g);
int cmd_oci_run(int argc, char **argv, const struct global_options *g);
int cmd_oci_exec(int argc, char **argv, const struct global_options *g);
int cmd_oci_events(int argc, char **argv, const struct global_options *g);
int cmd_oci_update(int argc, char **argv, const struct global_options *g);
int cmd_oci_ps(int argc, char **argv, const struct global_options *g);
int cmd_oci_unsupported(int argc, char **argv, const struct global_options *g);
/* --net-mode, else the configuration's; 0, or 1 after logging the error. */
int cli_net_mode(const struct global_options *g, enum net_mode *ret);
/* The configuration's sandbox tuning (scratch disk, VMM jail); 1 after logging a bad file. */
struct sandbox_tuning;
int cli_tuning(struct sandbox_tuning *ret);
struct oci_state;
/* Loads container id's state for a command; on failure logs runc's one-line error (container
 * does not exist, ...) and returns -errno. */
int cli_oci_open(const struct global_options *g, const char *id, struct oci_state *ret);
struct oci_create_opts;
/* Parses the options `create` and `run --bundle` share; 0, or 1 after logging the error. */
int oci_create_parse(int argc, char **argv, const struct global_options *g, bool run,
                     struct oci_create_opts *ret, const char **ret_pid_file);
/* Whether `hako run ARGS` is the OCI run (it names a bundle with -b/--bundle). */
bool oci_run_wanted(int argc, char **argv);
