/* SPDX-License-Identifier: Apache-2.0 */
/* The capped arena handed to protobuf-c: the cap holds for direct allocations and for any message a
 * peer can craft, a valid message decodes, and reset reuses the memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-protocol.h"
#include "agent.pb-c.h"
#include "arena.h"
#include "macro.h"
#include "tap.h"
#include "ttrpc.pb-c.h"

/* Minimal protobuf writer for crafted payloads. */
struct pb {
        uint8_t *buf;
        size_t len, cap;
};

static void pb_byte(struct pb *b, uint8_t c)
{
        if (b->len == b->cap) {
                b->cap = b->cap ? b->cap * 2 : 256;
                b->buf = realloc(b->buf, b->cap);
                if (!b->buf)
                        abort();
        }
        b->buf[b->len++] = c;
}

static void pb_varint(struct pb *b, uint64_t v)
{
        while (v >= 0x80) {
                pb_byte(b, (uint8_t)(v | 0x80));
                v >>= 7;
        }
        pb_byte(b, (uint8_t)v);
}

static void pb_bytes(struct pb *b, uint32_t field, const void *data, size_t n)
{
        pb_varint(b, (uint64_t)field << 3 | 2);
        pb_varint(b, n);
        for (size_t i = 0; i < n; i++)
                pb_byte(b, ((const uint8_t *)data)[i]);
}

static void test_direct(void)
{
        struct arena a;
        ProtobufCAllocator *al = &a.allocator;

        is_int(arena_init(&a, 1024), 0, "arena_init(1024)");
        ok((void *)&a == (void *)al, "allocator is the first member");
        void *p1 = al->alloc(al->allocator_data, 1);
        void *p2 = al->alloc(al->allocator_data, 17);
        ok(p1 && p2, "small allocations succeed");
        ok(((uintptr_t)p1 % 16) == 0 && ((uintptr_t)p2 % 16) == 0, "allocations are 16-byte aligned");
        is_int((uint8_t *)p2 - (uint8_t *)p1, 16, "1 byte rounds up to 16");
        is_int(a.used, 48, "used counts rounded sizes");
        memset(p2, 0xee, 17);
        ok(al->alloc(al->allocator_data, 1024 - 48 + 1) == NULL, "allocation one past the cap fails");
        ok(al->alloc(al->allocator_data, 1024 - 48) != NULL, "allocation exactly filling the cap succeeds");
        is_int(a.used, 1024, "arena full");
        ok(al->alloc(al->allocator_data, 1) == NULL, "full arena refuses even 1 byte");
        ok(al->alloc(al->allocator_data, SIZE_MAX) == NULL, "SIZE_MAX refused (no wrap-around)");
        ok(al->alloc(al->allocator_data, SIZE_MAX - 14) == NULL, "SIZE_MAX-14 refused (rounding overflow)");
        al->free(al->allocator_data, p1); /* a no-op, must not crash */

        arena_reset(&a);
        is_int(a.used, 0, "reset empties the arena");
        void *p3 = al->alloc(al->allocator_data, 1024);
        ok(p3 == p1, "after reset the same memory is handed out again");
        arena_done(&a);
        ok(a.buf == NULL && a.cap == 0, "arena_done clears the arena");
}

static size_t pack(const ProtobufCMessage *m, uint8_t **ret)
{
        size_t n = protobuf_c_message_get_packed_size(m);
        *ret = malloc(n ? n : 1);
        if (!*ret)
                abort();
        protobuf_c_message_pack(m, *ret);
        return n;
}

static void test_valid_unpack(void)
{
        struct arena a;
        _cleanup_free_ uint8_t *wire = NULL;
        Hako__Agent__V1__CreateSandboxRequest cs = HAKO__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
        Hako__Agent__V1__Storage st[2] = {HAKO__AGENT__V1__STORAGE__INIT, HAKO__AGENT__V1__STORAGE__INIT};
        Hako__Agent__V1__Storage *sp[2] = {&st[0], &st[1]};
        char *opts[] = {"ro", "nodev", "nosuid"};

        cs.sandbox_id = "sb-0123";
        cs.hostname = "box";
        cs.realtime_ns = UINT64_C(1764000000000000000);
        st[0].driver = "virtiofs";
        st[0].source = HAKO_SHARED_TAG;
        st[0].mount_point = HAKO_GUEST_SHARED_DIR;
        st[0].n_options = ELEMENTSOF(opts);
        st[0].options = opts;
        st[1].driver = "tmpfs";
        st[1].source = "tmpfs";
        st[1].mount_point = "/tmp";
        cs.n_storages = 2;
        cs.storages = sp;
        size_t n = pack(&cs.base, &wire);

        arena_init(&a, HAKO_TTRPC_ARENA);
        Hako__Agent__V1__CreateSandboxRequest *m =
            hako__agent__v1__create_sandbox_request__unpack(&a.allocator, n, wire);
        if (ok(m != NULL, "valid CreateSandboxRequest decodes with an arena")) {
                ok(strcmp(m->sandbox_id, "sb-0123") == 0 && strcmp(m->hostname, "box") == 0,
                   "strings preserved");
                is_int(m->realtime_ns, UINT64_C(1764000000000000000), "uint64 preserved");
                is_int(m->n_storages, 2, "two storages");
                ok(m->n_storages == 2 && m->storages[0]->n_options == 3 &&
                       strcmp(m->storages[0]->options[2], "nosuid") == 0 &&
                       strcmp(m->storages[1]->mount_point, "/tmp") == 0,
                   "nested repeated fields preserved");
                ok((uint8_t *)m >= a.buf && (uint8_t *)m < a.buf + a.cap, "message lives in the arena");
        }
        size_t used = a.used;
        ok(used > 0 && used < 4096, "arena use is small (%zu bytes)", used);
        /* protobuf-c's free goes through the arena's no-op free. */
        if (m)
                hako__agent__v1__create_sandbox_request__free_unpacked(m, &a.allocator);

        arena_reset(&a);
        Hako__Agent__V1__CreateSandboxRequest *m2 =
            hako__agent__v1__create_sandbox_request__unpack(&a.allocator, n, wire);
        ok(m2 != NULL && (void *)m2 == (void *)m, "after reset the next unpack reuses the same memory");
        is_int(a.used, used, "and uses the same amount");

        /* Repeated decode-and-reset stays within the arena forever. */
        bool all = true;
        for (int i = 0; i < 10000 && all; i++) {
                arena_reset(&a);
                all = hako__agent__v1__create_sandbox_request__unpack(&a.allocator, n, wire) != NULL;
        }
        ok(all && a.used == used, "10000 decode/reset cycles succeed without growth");
        arena_done(&a);

        /* The same message in an arena just too small fails cleanly, at every size below. */
        bool clean = true;
        for (size_t cap = 0; cap < used; cap += 16) {
                struct arena small;
                arena_init(&small, cap ? cap : 1);
                if (hako__agent__v1__create_sandbox_request__unpack(&small.allocator, n, wire) != NULL)
                        clean = false;
                arena_done(&small);
        }
        ok(clean, "every arena smaller than %zu bytes makes unpack return NULL", used);
        struct arena exact;
        arena_init(&exact, used);
        ok(hako__agent__v1__create_sandbox_request__unpack(&exact.allocator, n, wire) != NULL,
           "an arena of exactly %zu bytes is enough", used);
        arena_done(&exact);
}

static void test_crafted(void)
{
        struct arena a;
        struct pb b = {0};
        static const uint8_t empty[1];

        arena_init(&a, HAKO_TTRPC_ARENA);

        /* A 1 MiB frame full of empty Storage entries: 2 bytes of wire each, >60 bytes decoded each. */
        while (b.len + 2 <= HAKO_TTRPC_MAX_FRAME)
                pb_bytes(&b, 3, empty, 0);
        ok(b.len <= HAKO_TTRPC_MAX_FRAME, "crafted payload fits in one frame (%zu bytes)", b.len);
        ok(hako__agent__v1__create_sandbox_request__unpack(&a.allocator, b.len, b.buf) == NULL,
           "%zu empty repeated submessages exceed the arena: unpack returns NULL", b.len / 2);
        ok(a.used <= a.cap, "arena stayed within its cap (%zu of %zu)", a.used, a.cap);
        arena_reset(&a);

        /* Same for the ttRPC envelope's repeated metadata. */
        b.len = 0;
        while (b.len + 2 <= HAKO_TTRPC_MAX_FRAME)
                pb_bytes(&b, 5, empty, 0);
        ok(hako__ttrpc__request__unpack(&a.allocator, b.len, b.buf) == NULL,
           "request with ~512k empty metadata entries: unpack returns NULL");
        arena_reset(&a);

        /* Repeated empty strings. */
        struct pb s = {0};
        while (s.len + 2 <= HAKO_TTRPC_MAX_FRAME - 16)
                pb_bytes(&s, 4, empty, 0);
        b.len = 0;
        pb_bytes(&b, 3, s.buf, s.len); /* one Storage with ~500k empty options */
        ok(hako__agent__v1__create_sandbox_request__unpack(&a.allocator, b.len, b.buf) == NULL,
           "storage with ~500k empty option strings: unpack returns NULL");
        free(s.buf);
        arena_reset(&a);

        /* A string declaring a huge length with 3 bytes behind it. */
        b.len = 0;
        pb_varint(&b, 1 << 3 | 2);
        pb_varint(&b, 0xffffffffu);
        pb_byte(&b, 'a');
        pb_byte(&b, 'b');
        pb_byte(&b, 'c');
        ok(hako__agent__v1__start_container_request__unpack(&a.allocator, b.len, b.buf) == NULL,
           "string with length 0xffffffff: unpack returns NULL");
        b.len = 0;
        pb_varint(&b, 3 << 3 | 2);
        pb_varint(&b, UINT64_MAX);
        pb_byte(&b, 0);
        ok(hako__agent__v1__write_stream_request__unpack(&a.allocator, b.len, b.buf) == NULL,
           "bytes with length 2^64-1: unpack returns NULL");
        b.len = 0;
        pb_varint(&b, 1 << 3 | 2);
        pb_varint(&b, 100);
        for (int i = 0; i < 99; i++)
                pb_byte(&b, 'x');
        ok(hako__agent__v1__start_container_request__unpack(&a.allocator, b.len, b.buf) == NULL,
           "string one byte short of its length: unpack returns NULL");
        /* A varint that never ends. */
        b.len = 0;
        pb_varint(&b, 2 << 3 | 0);
        for (int i = 0; i < 11; i++)
                pb_byte(&b, 0xff);
        pb_byte(&b, 0x01);
        ok(hako__agent__v1__health_response__unpack(&a.allocator, b.len, b.buf) == NULL,
           "12-byte varint: unpack returns NULL");
        /* Field number 0 and wire type 7 are invalid. */
        static const uint8_t bad_tag[] = {0x00, 0x01};
        static const uint8_t bad_type[] = {0x0f, 0x01};
        ok(hako__agent__v1__health_request__unpack(&a.allocator, sizeof(bad_tag), bad_tag) == NULL,
           "field number 0: unpack returns NULL");
        ok(hako__agent__v1__health_request__unpack(&a.allocator, sizeof(bad_type), bad_type) == NULL,
           "wire type 7: unpack returns NULL");
        /* A submessage length past the end of its parent. */
        static const uint8_t sub[] = {0x1a, 0x05, 0x0a, 0x10, 'x'};
        ok(hako__agent__v1__create_container_request__unpack(&a.allocator, sizeof(sub), sub) == NULL,
           "submessage longer than the input: unpack returns NULL");
        ok(a.used <= a.cap, "arena within its cap after all crafted inputs");

        /* Unknown fields are kept by protobuf-c, also inside the arena and within the cap. */
        arena_reset(&a);
        b.len = 0;
        while (b.len + 2 <= HAKO_TTRPC_MAX_FRAME)
                pb_bytes(&b, 99, empty, 0); /* 2-byte tag + 1-byte len: 3 bytes each */
        Hako__Agent__V1__HealthRequest *hr =
            hako__agent__v1__health_request__unpack(&a.allocator, b.len, b.buf);
        ok(hr == NULL, "~%zu unknown fields exceed the arena: unpack returns NULL", b.len / 3);
        ok(a.used <= a.cap, "arena stayed within its cap (%zu of %zu)", a.used, a.cap);

        free(b.buf);
        arena_done(&a);
}

int main(void)
{
        test_direct();
        test_valid_unpack();
        test_crafted();
        done_testing();
        return exit_status();
}
