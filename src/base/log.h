/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "macro.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_prefix(const char *prefix);
/* Sends messages to fd instead of stderr, as runc's --log does: one line each, logrus style
 * (`time=... level=... msg=...`), or one JSON object each when json is set. fd < 0: stderr. */
void log_set_output(int fd, bool json);

/* Logs and returns r (negative), so a boundary can `return log_error_errno(r, ...)`. %m prints
 * strerror(-r). */
int log_full_errno(enum log_level level, int r, const char *fmt, ...) _printf_(3, 4);
void log_full(enum log_level level, const char *fmt, ...) _printf_(2, 3);

#define log_error_errno(r, ...)   log_full_errno(LOG_LEVEL_ERROR, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_LEVEL_WARNING, (r), __VA_ARGS__)
#define log_debug_errno(r, ...)   log_full_errno(LOG_LEVEL_DEBUG, (r), __VA_ARGS__)
#define log_error(...)            log_full(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...)          log_full(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...)             log_full(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)            log_full(LOG_LEVEL_DEBUG, __VA_ARGS__)
