/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What every fuzz target checks of a decoded protobuf message, whatever its type: every field is
 * visited (strings validated as ids when they are ones, bytes read, submessages walked), and the
 * message re-packs to bytes that decode and re-pack to the same bytes. */

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"

#define CHECK(cond)                                                                                          \
        do {                                                                                                 \
                if (!(cond)) {                                                                               \
                        fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);         \
                        abort();                                                                             \
                }                                                                                            \
        } while (0)

/* Where the fuzzers put what they read, so no read is optimized away. */
extern volatile uint64_t fuzz_sink;

/* An id accepted by ttrpc_valid_id is 1..HAKO_MAX_ID_LEN chars of [A-Za-z0-9._-], not "." or "..". */
void fuzz_check_id(const char *s);

/* Visits every field of m. Returns true when m (or a submessage) holds an unknown field with
 * number 0, which does not round-trip (see walk.c). */
bool fuzz_walk(const ProtobufCMessage *m, unsigned depth);

/* Re-packing m, decoding that (in scratch) and packing again gives the same bytes. */
void fuzz_check_repack(const ProtobufCMessage *m, bool field0, struct arena *scratch);

/* Decodes data as d in the bounded arena a, walks it and checks the round trip. NULL when it does
 * not decode; else the message, which lives in a until the caller gives the arena back. */
ProtobufCMessage *fuzz_decode(const ProtobufCMessageDescriptor *d, struct arena *a, struct arena *scratch,
                              size_t len, const uint8_t *data);
