/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <sys/types.h>

/* OCI hooks run on the host, as with runc: each gets the container's state JSON on stdin, its
 * own args and env, and at most `timeout` seconds (default none). `hooks` is the spec's "hooks"
 * object; kind is "prestart", "createRuntime", "poststart", "poststop", ... Stops at the first
 * hook that fails: -EIO (non-zero exit), -ETIMEDOUT, or the exec error, with a message; for
 * poststart and poststop (where a failure is only a warning) the rest still run, and the result
 * is the first failure with every failure's message. */
int hooks_run(json_t *hooks, const char *kind, const char *state_json, char **ret_error);
/* hooks_run with the state document of the OCI runtime spec made from these (the OCI host process
 * and the shim run the bundle's hooks on the host alike). */
int hooks_run_state(json_t *hooks, const char *kind, const char *id, const char *status, pid_t pid,
                    const char *bundle, json_t *annotations, char **ret_error);
