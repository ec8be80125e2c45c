/* SPDX-License-Identifier: Apache-2.0 */
#include "arena.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static void *arena_alloc(void *data, size_t size)
{
        struct arena *a = data;
        size_t need = (size + 15) & ~(size_t)15;

        if (need < size || need > a->cap - a->used)
                return NULL;
        void *p = a->buf + a->used;
        a->used += need;
        return p;
}

static void arena_free(void *data, void *ptr)
{
        (void)data;
        (void)ptr; /* released with the whole arena */
}

int arena_init(struct arena *a, size_t cap)
{
        /* Pages are only touched as the arena fills, so a generous cap costs nothing idle. */
        a->buf = malloc(cap);
        if (!a->buf)
                return -ENOMEM;
        a->cap = cap;
        a->used = 0;
        a->allocator.alloc = arena_alloc;
        a->allocator.free = arena_free;
        a->allocator.allocator_data = a;
        return 0;
}

void arena_reset(struct arena *a)
{
        a->used = 0;
}

void arena_done(struct arena *a)
{
        free(a->buf);
        a->buf = NULL;
        a->cap = a->used = 0;
}
