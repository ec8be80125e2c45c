/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static enum log_level max_level = LOG_LEVEL_WARNING;
static const char *log_prefix = "hako";

void log_set_level(enum log_level level)
{
        max_level = level;
}

enum log_level log_get_level(void)
{
        return max_level;
}

void log_set_prefix(const char *prefix)
{
        log_prefix = prefix;
}

static void log_emit(enum log_level level, int r, const char *fmt, va_list ap) _printf_(3, 0);
static void log_emit(enum log_level level, int r, const char *fmt, va_list ap)
{
        static const char *const names[] = {"error", "warning", "info", "debug"};
        char line[2048];
        int saved = errno;

        if (level > max_level)
                return;
        if (r < 0)
                errno = -r; /* so %m names the error being reported */
        vsnprintf(line, sizeof(line), fmt, ap);
        fprintf(stderr, "%s: %s%s%s\n", log_prefix, level == LOG_LEVEL_INFO ? "" : names[level],
                level == LOG_LEVEL_INFO ? "" : ": ", line);
        errno = saved;
}

int log_full_errno(enum log_level level, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_emit(level, r, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -r;
}

void log_full(enum log_level level, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_emit(level, 0, fmt, ap);
        va_end(ap);
}
