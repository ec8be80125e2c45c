/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agent-protocol.h"
#include "containerd.pb-c.h"
#include "macro.h"

#define MEM(field)                                                                                           \
        {                                                                                                    \
#field, offsetof(Io__Containerd__Cgroups__V2__MemoryStat, field)                             \
        }
static const struct {
        const char *key;
        size_t offset;
} memory_keys[] = {
    MEM(anon),
    MEM(file),
    MEM(kernel_stack),
    MEM(slab),
    MEM(sock),
    MEM(shmem),
    MEM(file_mapped),
    MEM(file_dirty),
    MEM(file_writeback),
    MEM(anon_thp),
    MEM(inactive_anon),
    MEM(active_anon),
    MEM(inactive_file),
    MEM(active_file),
    MEM(unevictable),
    MEM(slab_reclaimable),
    MEM(slab_unreclaimable),
    MEM(pgfault),
    MEM(pgmajfault),
    MEM(workingset_refault),
    MEM(workingset_activate),
    MEM(workingset_nodereclaim),
    MEM(pgrefill),
    MEM(pgscan),
    MEM(pgsteal),
    MEM(pgactivate),
    MEM(pgdeactivate),
    MEM(pglazyfree),
    MEM(pglazyfreed),
    MEM(thp_fault_alloc),
    MEM(thp_collapse_alloc),
};

/* "max" reads as no limit, which cgroups v2 stats report as the largest value. */
static uint64_t limit(uint64_t v)
{
        return v ? v : UINT64_MAX;
}

int shim_metrics_pack(const Hako__Agent__V1__StatsContainerResponse *st, uint8_t **ret_data, size_t *ret_len)
{
        Io__Containerd__Cgroups__V2__Metrics m = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
        Io__Containerd__Cgroups__V2__PidsStat pids = IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT;
        Io__Containerd__Cgroups__V2__CPUStat cpu = IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT;
        Io__Containerd__Cgroups__V2__MemoryStat mem = IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT;
        Io__Containerd__Cgroups__V2__MemoryEvents events = IO__CONTAINERD__CGROUPS__V2__MEMORY_EVENTS__INIT;
        Io__Containerd__Cgroups__V2__IOStat io = IO__CONTAINERD__CGROUPS__V2__IOSTAT__INIT;
        Io__Containerd__Cgroups__V2__IOEntry entries[HAKO_MAX_IO_DEVICES], *pentries[HAKO_MAX_IO_DEVICES];
        size_t n_io = MIN(st->n_io, (size_t)HAKO_MAX_IO_DEVICES);
        uint8_t *buf;

        pids.current = st->pids_current;
        pids.limit = st->pids_max;
        cpu.usage_usec = st->cpu_usage_usec;
        cpu.user_usec = st->cpu_user_usec;
        cpu.system_usec = st->cpu_system_usec;
        cpu.nr_periods = st->cpu_nr_periods;
        cpu.nr_throttled = st->cpu_nr_throttled;
        cpu.throttled_usec = st->cpu_throttled_usec;
        mem.usage = st->memory_current;
        mem.usage_limit = limit(st->memory_max);
        mem.swap_usage = st->swap_current;
        mem.swap_limit = limit(st->swap_max);
        for (size_t i = 0; i < st->n_memory_stat && i < HAKO_MAX_STAT_KEYS; i++)
                for (size_t k = 0; k < ELEMENTSOF(memory_keys); k++)
                        if (st->memory_stat[i]->key && !strcmp(st->memory_stat[i]->key, memory_keys[k].key)) {
                                *(uint64_t *)((char *)&mem + memory_keys[k].offset) =
                                    st->memory_stat[i]->value;
                                break;
                        }
        for (size_t i = 0; i < st->n_memory_events && i < HAKO_MAX_STAT_KEYS; i++) {
                const char *k = st->memory_events[i]->key;
                uint64_t v = st->memory_events[i]->value;
                if (!k)
                        continue;
                if (!strcmp(k, "low"))
                        events.low = v;
                else if (!strcmp(k, "high"))
                        events.high = v;
                else if (!strcmp(k, "max"))
                        events.max = v;
                else if (!strcmp(k, "oom"))
                        events.oom = v;
                else if (!strcmp(k, "oom_kill"))
                        events.oom_kill = v;
        }
        for (size_t i = 0; i < n_io; i++) {
                entries[i] = (Io__Containerd__Cgroups__V2__IOEntry)IO__CONTAINERD__CGROUPS__V2__IOENTRY__INIT;
                entries[i].major = st->io[i]->major;
                entries[i].minor = st->io[i]->minor;
                entries[i].rbytes = st->io[i]->rbytes;
                entries[i].wbytes = st->io[i]->wbytes;
                entries[i].rios = st->io[i]->rios;
                entries[i].wios = st->io[i]->wios;
                pentries[i] = &entries[i];
        }
        io.n_usage = n_io;
        io.usage = pentries;
        m.pids = &pids;
        m.cpu = &cpu;
        m.memory = &mem;
        m.io = &io;
        m.memory_events = &events;
        buf = malloc(protobuf_c_message_get_packed_size(&m.base) + 1);
        if (!buf)
                return -ENOMEM;
        *ret_len = protobuf_c_message_pack(&m.base, buf);
        *ret_data = buf;
        return 0;
}
