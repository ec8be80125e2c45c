/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "macro.h"

/* A growable NULL-terminated string vector (argv building). */
struct strv {
        char **v;
        size_t n, cap;
        int oom; /* sticky: one allocation failure fails the whole vector */
};

void strv_push(struct strv *s, const char *str);
void strv_pushf(struct strv *s, const char *fmt, ...) _printf_(2, 3);
void strv_done(struct strv *s);
/* 0, or -ENOMEM if any push failed. */
int strv_status(const struct strv *s);
