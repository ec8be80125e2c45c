/* SPDX-License-Identifier: Apache-2.0 */
#include "strv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void strv_take(struct strv *s, char *str)
{
        if (!str || s->oom) {
                free(str);
                s->oom = 1;
                return;
        }
        if (s->n + 2 > s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 32;
                char **v = realloc(s->v, cap * sizeof(char *));
                if (!v) {
                        free(str);
                        s->oom = 1;
                        return;
                }
                s->v = v;
                s->cap = cap;
        }
        s->v[s->n++] = str;
        s->v[s->n] = NULL;
}

void strv_push(struct strv *s, const char *str)
{
        strv_take(s, strdup(str));
}

void strv_pushf(struct strv *s, const char *fmt, ...)
{
        va_list ap;
        char *str = NULL;

        va_start(ap, fmt);
        if (vasprintf(&str, fmt, ap) < 0)
                str = NULL;
        va_end(ap);
        strv_take(s, str);
}

void strv_done(struct strv *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        *s = (struct strv){0};
}

int strv_status(const struct strv *s)
{
        return s->oom || !s->v ? -ENOMEM : 0;
}
