/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* OCI documents carry uint64 fields; jansson's integers are int64. The one value above INT64_MAX
 * callers really write is 18446744073709551615 (RLIM_INFINITY, podman's `--ulimit x=-1`): it is
 * read as -1, which crun in the guest reads back as the same uint64 (strtoull). */
json_t *ocijson_loads(const char *text, size_t flags, json_error_t *error);
/* The file, at most max_bytes (-EFBIG in error->text otherwise). */
json_t *ocijson_load_file(const char *path, size_t max_bytes, size_t flags, json_error_t *error);
