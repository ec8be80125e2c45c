/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* A bump allocator with a hard cap, handed to protobuf-c so that decoding a message from a peer
 * can never allocate more than `cap` bytes, however the message is crafted. Freed as a whole. */
struct arena {
        ProtobufCAllocator allocator; /* must be first: protobuf-c gets &arena->allocator */
        unsigned char *buf;
        size_t used;
        size_t cap;
};

int arena_init(struct arena *a, size_t cap);
void arena_reset(struct arena *a);
void arena_done(struct arena *a);
