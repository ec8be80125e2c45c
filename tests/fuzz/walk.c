/* SPDX-License-Identifier: Apache-2.0 */
#include "walk.h"

#include <string.h>

#include "agent-protocol.h"
#include "macro.h"
#include "ttrpc.h"

volatile uint64_t fuzz_sink;

void fuzz_check_id(const char *s)
{
        size_t n;

        if (!ttrpc_valid_id(s))
                return;
        n = strlen(s);
        CHECK(n >= 1 && n <= HAKO_MAX_ID_LEN);
        CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n);
        CHECK(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
}

/* protobuf-c 1.4 accepts field 0 when its tag is an overlong (multi-byte) varint, keeps it as an
 * unknown field, and re-packs it as a 1-byte tag that it then refuses to decode: such a message
 * does not round-trip, which walk reports instead of check_repack failing. */
bool fuzz_walk(const ProtobufCMessage *m, unsigned depth)
{
        const ProtobufCMessageDescriptor *d = m->descriptor;
        bool field0 = false;

        CHECK(depth < 64);
        CHECK(d && d->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
        CHECK(m->n_unknown_fields == 0 || m->unknown_fields != NULL);
        for (unsigned i = 0; i < m->n_unknown_fields; i++) {
                const ProtobufCMessageUnknownField *u = &m->unknown_fields[i];
                CHECK(u->len == 0 || u->data != NULL);
                for (size_t j = 0; j < u->len; j++)
                        fuzz_sink += u->data[j];
                field0 |= u->tag == 0;
        }
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                const uint8_t *member = (const uint8_t *)m + f->offset;
                const void *elems = member;
                size_t count = 1;

                /* A oneof's members share their storage: only the one its case names is there. */
                if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    *(const uint32_t *)((const uint8_t *)m + f->quantifier_offset) != f->id)
                        continue;
                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        count = *(const size_t *)((const uint8_t *)m + f->quantifier_offset);
                        elems = *(void *const *)member;
                        CHECK(count == 0 || elems != NULL);
                }
                for (size_t k = 0; k < count; k++) {
                        switch (f->type) {
                        case PROTOBUF_C_TYPE_STRING: {
                                const char *s = ((const char *const *)elems)[k];
                                if (s) {
                                        fuzz_check_id(s);
                                        fuzz_sink += strlen(s);
                                }
                                break;
                        }
                        case PROTOBUF_C_TYPE_BYTES: {
                                const ProtobufCBinaryData *b = &((const ProtobufCBinaryData *)elems)[k];
                                CHECK(b->len == 0 || b->data != NULL);
                                for (size_t j = 0; j < b->len; j++)
                                        fuzz_sink += b->data[j];
                                break;
                        }
                        case PROTOBUF_C_TYPE_MESSAGE: {
                                const ProtobufCMessage *sub = ((const ProtobufCMessage *const *)elems)[k];
                                if (sub)
                                        field0 |= fuzz_walk(sub, depth + 1);
                                break;
                        }
                        default:
                                break; /* scalars live inline */
                        }
                }
        }
        return field0;
}

void fuzz_check_repack(const ProtobufCMessage *m, bool field0, struct arena *scratch)
{
        size_t n1 = protobuf_c_message_get_packed_size(m), n2;
        _cleanup_free_ uint8_t *p1 = malloc(n1 ? n1 : 1);
        _cleanup_free_ uint8_t *p2 = NULL;
        ProtobufCMessage *again;

        CHECK(p1);
        CHECK(protobuf_c_message_pack(m, p1) == n1);
        arena_reset(scratch);
        again = protobuf_c_message_unpack(m->descriptor, &scratch->allocator, n1, p1);
        if (!again) {
                /* Only acceptable when the scratch arena ran out, or for the field-0 quirk. */
                CHECK(field0 || scratch->used > scratch->cap / 2);
                return;
        }
        n2 = protobuf_c_message_get_packed_size(again);
        CHECK(n2 == n1);
        p2 = malloc(n2 ? n2 : 1);
        CHECK(p2);
        CHECK(protobuf_c_message_pack(again, p2) == n2);
        CHECK(memcmp(p1, p2, n1) == 0);
}

ProtobufCMessage *fuzz_decode(const ProtobufCMessageDescriptor *d, struct arena *a, struct arena *scratch,
                              size_t len, const uint8_t *data)
{
        ProtobufCMessage *m = protobuf_c_message_unpack(d, &a->allocator, len, data);

        CHECK(a->used <= a->cap);
        if (!m)
                return NULL;
        CHECK(m->descriptor == d);
        fuzz_check_repack(m, fuzz_walk(m, 0), scratch);
        return m;
}
