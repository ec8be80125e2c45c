/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes what a hostile peer controls: the byte stream on the agent channel. The input is cut into
 * frames by a ttrpc_reader (with a small frame limit so the -EMSGSIZE path is reached), every frame is
 * decoded as a ttRPC Request (what the agent decodes from the host) and its payload as the agent.proto
 * request of the named method, and as a ttRPC Response and its payload as every response type (what the
 * host decodes from a guest it must not trust). Every decode uses a bounded arena; every string is
 * checked with ttrpc_valid_id and every byte of the decoded messages is touched.
 *
 * Invariants checked (abort on violation):
 *  - feeding the stream whole or in small chunks yields the same frames;
 *  - the reader never returns a frame over its limit, and never returns a frame after -EMSGSIZE;
 *  - a decoded message re-packs, and re-packing its decode gives the same bytes;
 *  - an id accepted by ttrpc_valid_id is 1..HAKO_MAX_ID_LEN chars of [A-Za-z0-9._-], not "." or "..";
 *  - the arena never exceeds its cap. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-methods.h"
#include "agent-protocol.h"
#include "agent.pb-c.h"
#include "arena.h"
#include "macro.h"
#include "ttrpc.h"

#define FUZZ_MAX_FRAME (64u << 10)
#define FUZZ_ARENA     (1u << 20)
#define FUZZ_CHUNK     7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

#define CHECK(cond)                                                                                          \
        do {                                                                                                 \
                if (!(cond)) {                                                                               \
                        fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);         \
                        abort();                                                                             \
                }                                                                                            \
        } while (0)

static void check_id(const char *s)
{
        size_t n;

        if (!ttrpc_valid_id(s))
                return;
        n = strlen(s);
        CHECK(n >= 1 && n <= HAKO_MAX_ID_LEN);
        CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n);
        CHECK(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
}

/* Visits every field of a decoded message: strings are validated, bytes summed, submessages walked.
 * Returns true when the message (or a submessage) holds an unknown field with number 0: protobuf-c 1.4
 * accepts field 0 when its tag is an overlong (multi-byte) varint, keeps it as an unknown field, and
 * re-packs it as a 1-byte tag that it then refuses to decode. Such a message does not round-trip. */
static bool walk(const ProtobufCMessage *m, unsigned depth)
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
                        sink += u->data[j];
                field0 |= u->tag == 0;
        }
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                const uint8_t *member = (const uint8_t *)m + f->offset;
                const void *elems = member;
                size_t count = 1;

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
                                        check_id(s);
                                        sink += strlen(s);
                                }
                                break;
                        }
                        case PROTOBUF_C_TYPE_BYTES: {
                                const ProtobufCBinaryData *b = &((const ProtobufCBinaryData *)elems)[k];
                                CHECK(b->len == 0 || b->data != NULL);
                                for (size_t j = 0; j < b->len; j++)
                                        sink += b->data[j];
                                break;
                        }
                        case PROTOBUF_C_TYPE_MESSAGE: {
                                const ProtobufCMessage *sub = ((const ProtobufCMessage *const *)elems)[k];
                                if (sub)
                                        field0 |= walk(sub, depth + 1);
                                break;
                        }
                        default:
                                break; /* scalars live inline */
                        }
                }
        }
        return field0;
}

/* Re-packing a decoded message, decoding that and packing again must give the same bytes. */
static void check_repack(const ProtobufCMessage *m, bool field0, struct arena *scratch)
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

static void decode(const ProtobufCMessageDescriptor *d, struct arena *a, struct arena *scratch, size_t len,
                   const uint8_t *data)
{
        size_t mark = a->used;
        ProtobufCMessage *m = protobuf_c_message_unpack(d, &a->allocator, len, data);

        CHECK(a->used <= a->cap);
        if (m) {
                CHECK(m->descriptor == d);
                check_repack(m, walk(m, 0), scratch);
        }
        /* Drop just this message: the envelope decoded before it stays valid. */
        a->used = mark;
}

static void handle_frame(const struct ttrpc_frame *f, struct arena *a, struct arena *scratch)
{
        Hako__Ttrpc__Request *req;
        Hako__Ttrpc__Response *resp;

        /* The agent's view: a request from the host. */
        arena_reset(a);
        req = hako__ttrpc__request__unpack(&a->allocator, f->length, f->data);
        CHECK(a->used <= a->cap);
        if (req) {
                const struct agent_method *m;

                check_repack(&req->base, walk(&req->base, 0), scratch);
                m = agent_method_find(req->method);
                if (m)
                        decode(m->request, a, scratch, req->payload.len, req->payload.data);
                /* Also decode the payload as a request of another method, picked by the stream id, so
                 * every request type sees every payload without depending on the method name. */
                decode(agent_methods[f->stream_id % agent_methods_count].request, a, scratch,
                       req->payload.len, req->payload.data);
        }

        /* The host's view: a response from the (untrusted) guest. */
        arena_reset(a);
        resp = hako__ttrpc__response__unpack(&a->allocator, f->length, f->data);
        CHECK(a->used <= a->cap);
        if (resp) {
                check_repack(&resp->base, walk(&resp->base, 0), scratch);
                if (resp->status)
                        sink += (uint32_t)resp->status->code;
                decode(&hako__agent__v1__health_response__descriptor, a, scratch, resp->payload.len,
                       resp->payload.data);
                decode(&hako__agent__v1__wait_process_response__descriptor, a, scratch, resp->payload.len,
                       resp->payload.data);
                decode(&hako__agent__v1__write_stream_response__descriptor, a, scratch, resp->payload.len,
                       resp->payload.data);
                decode(&hako__agent__v1__read_stream_response__descriptor, a, scratch, resp->payload.len,
                       resp->payload.data);
                decode(&hako__agent__v1__stats_container_response__descriptor, a, scratch, resp->payload.len,
                       resp->payload.data);
                decode(&hako__agent__v1__empty__descriptor, a, scratch, resp->payload.len,
                       resp->payload.data);
        }
}

/* FNV-1a over the frames a pass produced, so two passes can be compared. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                h = (h ^ ((const uint8_t *)p)[i]) * UINT64_C(0x100000001b3);
        return h;
}

/* Runs the input through a reader, `chunk` bytes per feed (0: as much as fits). Returns a digest of
 * the frames and the final reader state. */
static uint64_t run(const uint8_t *data, size_t size, size_t chunk, struct arena *a, struct arena *scratch)
{
        struct ttrpc_reader r;
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        size_t off = 0;
        int k = 0;

        CHECK(ttrpc_reader_init(&r, FUZZ_MAX_FRAME) == 0);
        for (;;) {
                size_t want = size - off, took;
                struct ttrpc_frame f;

                if (chunk && want > chunk)
                        want = chunk;
                took = ttrpc_reader_feed(&r, data + off, want);
                off += took;
                while ((k = ttrpc_reader_next(&r, &f)) == 1) {
                        CHECK(f.length <= FUZZ_MAX_FRAME);
                        CHECK(f.data >= r.buf && f.data + f.length <= r.buf + r.len);
                        h = fnv(h, &f.length, sizeof(f.length));
                        h = fnv(h, &f.stream_id, sizeof(f.stream_id));
                        h = fnv(h, &f.type, 1);
                        h = fnv(h, &f.flags, 1);
                        h = fnv(h, f.data, f.length);
                        if (a)
                                handle_frame(&f, a, scratch);
                }
                if (k < 0) {
                        CHECK(k == -EMSGSIZE);
                        /* The stream is dead: it must stay that way. */
                        struct ttrpc_frame g;
                        CHECK(ttrpc_reader_next(&r, &g) == -EMSGSIZE);
                        break;
                }
                if (off == size)
                        break;
                /* Buffer full and still no frame cannot happen: a full buffer holds a whole frame. */
                CHECK(took > 0);
        }
        h = fnv(h, &k, sizeof(k));
        /* Bytes of an incomplete trailing frame are part of the state too. */
        if (k == 0) {
                size_t left = r.len - r.consumed;
                h = fnv(h, &left, sizeof(left));
        }
        ttrpc_reader_done(&r);
        return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct arena a, scratch;

        if (!a.buf) {
                CHECK(arena_init(&a, FUZZ_ARENA) == 0);
                CHECK(arena_init(&scratch, FUZZ_ARENA) == 0);
        }
        uint64_t whole = run(data, size, 0, &a, &scratch);
        uint64_t chunked = run(data, size, FUZZ_CHUNK, NULL, NULL);
        CHECK(whole == chunked);
        return 0;
}
