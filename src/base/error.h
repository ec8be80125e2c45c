/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "macro.h"

/* Sets *ret_error (when ret_error is non-NULL and *ret_error still empty: the first, most specific
 * message wins) to a malloc'd one-line message, and returns r, so a function can
 * `return error_set(ret_error, -EINVAL, "bad name '%s'", name);`. */
int error_set(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
