/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

/* The OCI view of a state directory <root>/<id>. The host process ("monitor") that stands for
 * the container writes `oci_status` (created, running, paused, stopped), `pid`, `bundle`,
 * `created` and `annotations`; every CLI call reads them back, from any process. */

#define OCI_VERSION "1.0.2"

struct oci_state {
        char *id;
        char *dir;
        char *status; /* creating, created, running, paused, stopped */
        pid_t pid;    /* the monitor; 0 once stopped */
        char *bundle; /* "" for containers made by `hako run` */
        char *created;
        json_t *annotations;
        int exit_code; /* -1: unknown or still running */
};

/* -EINVAL: not a valid id, -ENOENT: no such container. */
int oci_state_load(const char *root, const char *id, struct oci_state *ret);
void oci_state_done(struct oci_state *s);
/* oci_state_load with runc's words for the failures in *ret_error. */
int oci_state_open(const char *root, const char *id, struct oci_state *ret, char **ret_error);
/* The state document of the OCI runtime spec. */
json_t *oci_state_json(const struct oci_state *s);
/* RFC 3339 UTC time with nanoseconds, as runc writes `created`. */
void oci_format_time(char *buf, size_t len);
/* Waits (up to timeout_ms) until the container's host process has released its state
 * directory; -ETIMEDOUT if it still holds it. */
int oci_state_wait_released(const char *dir, int timeout_ms);
