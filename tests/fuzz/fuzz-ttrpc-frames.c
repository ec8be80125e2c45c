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
#include "walk.h"

#define FUZZ_MAX_FRAME (64u << 10)
#define FUZZ_ARENA     (1u << 20)
#define FUZZ_CHUNK     7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes one payload and drops it again: the envelope decoded before it stays valid. */
static void decode(const ProtobufCMessageDescriptor *d, struct arena *a, struct arena *scratch, size_t len,
                   const uint8_t *data)
{
        size_t mark = a->used;

        (void)fuzz_decode(d, a, scratch, len, data);
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

                fuzz_check_repack(&req->base, fuzz_walk(&req->base, 0), scratch);
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
                fuzz_check_repack(&resp->base, fuzz_walk(&resp->base, 0), scratch);
                if (resp->status)
                        fuzz_sink += (uint32_t)resp->status->code;
                /* Every response type of the table, each once (several methods answer Empty). */
                for (size_t i = 0; i < agent_methods_count; i++) {
                        const ProtobufCMessageDescriptor *d = agent_methods[i].response;
                        bool seen = false;
                        for (size_t j = 0; j < i && !seen; j++)
                                seen = agent_methods[j].response == d;
                        if (!seen)
                                decode(d, a, scratch, resp->payload.len, resp->payload.data);
                }
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
