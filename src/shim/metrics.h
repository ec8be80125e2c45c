/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "agent.pb-c.h"

/* A container's cgroup numbers (from the guest) as the cgroup v2 metrics containerd's CRI and
 * `ctr task metrics` decode: io.containerd.cgroups.v2.Metrics, packed. Values the guest sent
 * are taken by name; names containerd does not know are left out. */

#define SHIM_METRICS_TYPE_URL "io.containerd.cgroups.v2.Metrics"

int shim_metrics_pack(const Hako__Agent__V1__StatsContainerResponse *st, uint8_t **ret_data, size_t *ret_len);
