/* SPDX-License-Identifier: Apache-2.0 */
#include "shares.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

int share_table_get(struct share_table *t, const char *host, bool readonly, const char **ret_name)
{
        struct share *s;

        for (size_t i = 0; i < t->n; i++)
                if (t->v[i].readonly == readonly && !strcmp(t->v[i].host, host)) {
                        t->v[i].refs++;
                        *ret_name = t->v[i].name;
                        return 0;
                }
        if (t->n >= SHARES_MAX)
                return -ENOSPC;
        s = realloc(t->v, (t->n + 1) * sizeof(*t->v));
        if (!s)
                return -ENOMEM;
        t->v = s;
        s = &t->v[t->n];
        /* vol/N/<the source's name>: inside the container the mount's root then ends in the
         * source's name, as with runc's bind mounts (tools match mounts by it). */
        const char *base = strrchr(host, '/');
        base = base && base[1] ? base + 1 : "root";
        /* Names are the guest's paths: "." or ".." as the last name would climb. */
        if (!strcmp(base, ".") || !strcmp(base, ".."))
                base = "root";
        *s = (struct share){.readonly = readonly, .refs = 1, .host = strdup(host)};
        if (!s->host || asprintf(&s->name, "vol/%u/%.64s", t->next, base) < 0) {
                free(s->host);
                return -ENOMEM;
        }
        /* Only plain characters: the name ends up in mount options (an overlay's lowerdir). */
        for (char *c = s->name; *c; c++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/", *c))
                        *c = '_';
        t->next++;
        t->n++;
        *ret_name = s->name;
        return 0;
}

struct share *share_table_find(struct share_table *t, const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (!strcmp(t->v[i].name, name))
                        return &t->v[i];
        return NULL;
}

bool share_table_put(struct share_table *t, const char *name)
{
        struct share *s = share_table_find(t, name);

        if (!s || --s->refs > 0)
                return false;
        free(s->host);
        free(s->name);
        *s = t->v[--t->n];
        return true;
}

void share_table_done(struct share_table *t)
{
        for (size_t i = 0; i < t->n; i++) {
                free(t->v[i].host);
                free(t->v[i].name);
        }
        free(t->v);
        *t = (struct share_table){0};
}
