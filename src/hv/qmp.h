/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* A minimal QMP client: enough to negotiate capabilities and run commands synchronously.
 * Events that arrive in between are skipped. Every line is bounded. */
struct qmp {
        int fd;
        char buf[65536];
        size_t len;
        int negotiated;
};

void qmp_init(struct qmp *q, int fd);
/* Runs `{"execute": command, "arguments": args_json}`; args_json may be NULL. On a QMP error
 * returns -EIO and, if ret_error is non-NULL, the error description (malloc'd). */
int qmp_execute(struct qmp *q, const char *command, const char *args_json, int timeout_ms, char **ret_error);
/* The same, handing out the reply's "return" value (a new reference). */
int qmp_execute_json(struct qmp *q, const char *command, const char *args_json, int timeout_ms,
                     json_t **ret_return, char **ret_error);
/* Hands fd to QEMU under name (QMP getfd), for a later command to use it by that name. */
int qmp_getfd(struct qmp *q, const char *name, int fd, int timeout_ms, char **ret_error);
/* Runs an argument-less query and copies the string member `key` of its reply. */
int qmp_query_string(struct qmp *q, const char *command, const char *key, int timeout_ms, char *ret,
                     size_t size);
