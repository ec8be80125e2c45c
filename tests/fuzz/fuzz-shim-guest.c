/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes what a hostile guest sends that the shim turns into something for containerd: the agent's
 * answers the shim decodes. The input is one payload, decoded (in arenas of the sizes the shim and
 * the runtime use) as a StatsContainerResponse, whose numbers shim_metrics_pack makes the cgroup v2
 * Metrics containerd's CRI reads, and as the other answers the host reads (GetOOMEvent's container
 * id, CreateContainer's and ExecProcess's pid, ListProcesses' pids), every field walked.
 *
 * Invariants checked (abort on violation), besides those of walk.c:
 *  - the packed Metrics decode again and re-pack the same;
 *  - they carry the guest's numbers where containerd expects them: pids, cpu, memory usage, a
 *    limit of 0 ("max") as UINT64_MAX, memory.stat and memory.events keys by name (the last of
 *    the first HAKO_MAX_STAT_KEYS wins), the io entries in order;
 *  - at most HAKO_MAX_IO_DEVICES io entries, whatever the guest sent. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-protocol.h"
#include "agent.pb-c.h"
#include "arena.h"
#include "containerd.pb-c.h"
#include "macro.h"
#include "metrics.h"
#include "walk.h"

/* The arenas of the shim's Stats call (service.c) and of the runtime's ListProcesses call. */
#define STATS_ARENA (128u << 10)
#define PIDS_ARENA  (64u << 10)
#define FUZZ_ARENA  (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct arena stats_arena, pids_arena, arena, scratch;

/* The value the shim should take for key: the last one of the first HAKO_MAX_STAT_KEYS. */
static bool stat_value(Hako__Agent__V1__StatKey *const *keys, size_t n, const char *key, uint64_t *ret)
{
        bool found = false;

        for (size_t i = 0; i < n && i < HAKO_MAX_STAT_KEYS; i++)
                if (keys[i]->key && !strcmp(keys[i]->key, key)) {
                        *ret = keys[i]->value;
                        found = true;
                }
        return found;
}

static void check_memory_stat(const Hako__Agent__V1__StatsContainerResponse *st,
                              const Io__Containerd__Cgroups__V2__MemoryStat *mem)
{
        static const struct {
                const char *key;
                size_t offset;
        } keys[] = {
            {"anon", offsetof(Io__Containerd__Cgroups__V2__MemoryStat, anon)},
            {"file", offsetof(Io__Containerd__Cgroups__V2__MemoryStat, file)},
            {"inactive_file", offsetof(Io__Containerd__Cgroups__V2__MemoryStat, inactive_file)},
            {"active_file", offsetof(Io__Containerd__Cgroups__V2__MemoryStat, active_file)},
            {"slab", offsetof(Io__Containerd__Cgroups__V2__MemoryStat, slab)},
            {"pgfault", offsetof(Io__Containerd__Cgroups__V2__MemoryStat, pgfault)},
            {"thp_collapse_alloc", offsetof(Io__Containerd__Cgroups__V2__MemoryStat, thp_collapse_alloc)},
        };

        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                uint64_t want = 0, got = *(const uint64_t *)((const char *)mem + keys[k].offset);
                (void)stat_value(st->memory_stat, st->n_memory_stat, keys[k].key, &want);
                CHECK(got == want);
        }
}

static void check_metrics(const Hako__Agent__V1__StatsContainerResponse *st)
{
        _cleanup_free_ uint8_t *packed = NULL;
        const Io__Containerd__Cgroups__V2__Metrics *m;
        size_t len = 0, n_io = MIN(st->n_io, (size_t)HAKO_MAX_IO_DEVICES);
        uint64_t v;

        CHECK(shim_metrics_pack(st, &packed, &len) == 0);
        CHECK(packed);
        arena_reset(&arena);
        m = (const void *)fuzz_decode(&io__containerd__cgroups__v2__metrics__descriptor, &arena, &scratch,
                                      len, packed);
        CHECK(m);
        /* proto3 packs a submessage of zeros too: all of them are there. */
        CHECK(m->pids && m->cpu && m->memory && m->io && m->memory_events);
        CHECK(!m->rdma && m->n_hugetlb == 0);
        CHECK(m->pids->current == st->pids_current && m->pids->limit == st->pids_max);
        CHECK(m->cpu->usage_usec == st->cpu_usage_usec && m->cpu->user_usec == st->cpu_user_usec &&
              m->cpu->system_usec == st->cpu_system_usec && m->cpu->nr_periods == st->cpu_nr_periods &&
              m->cpu->nr_throttled == st->cpu_nr_throttled &&
              m->cpu->throttled_usec == st->cpu_throttled_usec);
        CHECK(m->memory->usage == st->memory_current);
        CHECK(m->memory->usage_limit == (st->memory_max ? st->memory_max : UINT64_MAX));
        CHECK(m->memory->swap_usage == st->swap_current);
        CHECK(m->memory->swap_limit == (st->swap_max ? st->swap_max : UINT64_MAX));
        check_memory_stat(st, m->memory);

        v = 0;
        (void)stat_value(st->memory_events, st->n_memory_events, "oom_kill", &v);
        CHECK(m->memory_events->oom_kill == v);
        v = 0;
        (void)stat_value(st->memory_events, st->n_memory_events, "oom", &v);
        CHECK(m->memory_events->oom == v);
        v = 0;
        (void)stat_value(st->memory_events, st->n_memory_events, "max", &v);
        CHECK(m->memory_events->max == v);

        CHECK(m->io->n_usage <= HAKO_MAX_IO_DEVICES);
        CHECK(m->io->n_usage == n_io);
        for (size_t i = 0; i < n_io; i++) {
                const Io__Containerd__Cgroups__V2__IOEntry *e = m->io->usage[i];
                const Hako__Agent__V1__IoStat *g = st->io[i];
                CHECK(e->major == g->major && e->minor == g->minor && e->rbytes == g->rbytes &&
                      e->wbytes == g->wbytes && e->rios == g->rios && e->wios == g->wios);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const ProtobufCMessageDescriptor *const others[] = {
            &hako__agent__v1__get_oomevent_response__descriptor,
            &hako__agent__v1__create_container_response__descriptor,
            &hako__agent__v1__exec_process_response__descriptor,
        };
        const Hako__Agent__V1__StatsContainerResponse *st;
        const Hako__Agent__V1__ListProcessesResponse *pids;

        if (!arena.buf) {
                CHECK(arena_init(&stats_arena, STATS_ARENA) == 0);
                CHECK(arena_init(&pids_arena, PIDS_ARENA) == 0);
                CHECK(arena_init(&arena, FUZZ_ARENA) == 0);
                CHECK(arena_init(&scratch, FUZZ_ARENA) == 0);
        }

        arena_reset(&stats_arena);
        st = (const void *)fuzz_decode(&hako__agent__v1__stats_container_response__descriptor, &stats_arena,
                                       &scratch, size, data);
        if (st)
                check_metrics(st);

        arena_reset(&pids_arena);
        pids = (const void *)fuzz_decode(&hako__agent__v1__list_processes_response__descriptor, &pids_arena,
                                         &scratch, size, data);
        if (pids) {
                /* What the runtime keeps of them (container_pids). */
                size_t n = MIN(pids->n_pids, (size_t)HAKO_MAX_LIST_PIDS);
                CHECK(n == 0 || pids->pids);
                for (size_t i = 0; i < n; i++)
                        fuzz_sink += pids->pids[i];
        }

        for (size_t i = 0; i < ELEMENTSOF(others); i++) {
                arena_reset(&arena);
                (void)fuzz_decode(others[i], &arena, &scratch, size, data);
        }
        return 0;
}
