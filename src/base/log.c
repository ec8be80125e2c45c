/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level max_level = LOG_LEVEL_WARNING;
static const char *log_prefix = "hako";
static int log_fd = -1;
static bool log_json;

void log_set_output(int fd, bool json)
{
        log_fd = fd;
        log_json = json;
}

/* Writes s as the body of a JSON / logrus string: quotes, backslashes and controls escaped. */
static void put_escaped(FILE *f, const char *s)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
}

static void emit_to_fd(const char *level, const char *line)
{
        char ts[64], *buf = NULL;
        size_t len = 0;
        struct timespec now;
        struct tm tm;
        FILE *f;

        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        f = open_memstream(&buf, &len);
        if (!f)
                return;
        if (log_json)
                fprintf(f, "{\"level\":\"%s\",\"msg\":\"", level);
        else
                fprintf(f, "time=\"%s\" level=%s msg=\"", ts, level);
        put_escaped(f, line);
        if (log_json)
                fprintf(f, "\",\"time\":\"%s\"}\n", ts);
        else
                fputs("\"\n", f);
        fclose(f);
        /* One write per line: several processes may append to the same log. */
        if (buf && write(log_fd, buf, len) < 0) {
                /* nowhere left to report it */
        }
        free(buf);
}

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
        if (log_fd >= 0)
                emit_to_fd(level == LOG_LEVEL_WARNING ? "warning" : names[level], line);
        else
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
