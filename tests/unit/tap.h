/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A tiny TAP (Test Anything Protocol) producer for the unit tests.
 *
 *   plan(n);                 "1..n"; or call done_testing() at the end instead
 *   ok(cond, fmt, ...);      "ok N - ..." / "not ok N - ..."
 *   is_int(got, want, ...);  ok() that prints both values on failure
 *   diag(fmt, ...);          "# ..." to stdout (TAP comments)
 *   return exit_status();    nonzero when any test failed or the plan was not met
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"

static int tap_planned = -1;
static int tap_run;
static int tap_failed;

static inline void plan(int n)
{
        tap_planned = n;
        printf("1..%d\n", n);
        fflush(stdout);
}

_printf_(1, 2) static inline void diag(const char *fmt, ...)
{
        va_list ap;

        fputs("# ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

_printf_(4, 0) static inline bool tap_vok(bool cond, const char *file, int line, const char *fmt, va_list ap)
{
        tap_run++;
        if (!cond)
                tap_failed++;
        printf("%sok %d - ", cond ? "" : "not ", tap_run);
        vprintf(fmt, ap);
        fputc('\n', stdout);
        if (!cond)
                printf("#   Failed at %s:%d\n", file, line);
        fflush(stdout);
        return cond;
}

_printf_(4, 5) static inline bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
{
        va_list ap;
        bool r;

        va_start(ap, fmt);
        r = tap_vok(cond, file, line, fmt, ap);
        va_end(ap);
        return r;
}

_printf_(5, 6) static inline bool tap_is_int(intmax_t got, intmax_t want, const char *file, int line,
                                             const char *fmt, ...)
{
        va_list ap;
        bool r;

        va_start(ap, fmt);
        r = tap_vok(got == want, file, line, fmt, ap);
        va_end(ap);
        if (!r)
                printf("#          got: %jd\n#     expected: %jd\n", got, want);
        fflush(stdout);
        return r;
}

#define ok(cond, ...)          tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((intmax_t)(got), (intmax_t)(want), __FILE__, __LINE__, __VA_ARGS__)

/* For a test whose count is only known at the end. */
static inline void done_testing(void)
{
        if (tap_planned < 0) {
                tap_planned = tap_run;
                printf("1..%d\n", tap_run);
                fflush(stdout);
        }
}

static inline int exit_status(void)
{
        if (tap_planned >= 0 && tap_planned != tap_run) {
                diag("planned %d tests but ran %d", tap_planned, tap_run);
                return EXIT_FAILURE;
        }
        if (tap_failed > 0) {
                diag("failed %d of %d tests", tap_failed, tap_run);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
