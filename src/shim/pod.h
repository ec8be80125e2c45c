/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* What containerd's CRI says of a container: the pod's sandbox (the pause container), a
 * container of a running pod, or neither (`ctr run`: a pod of its own). */
enum pod_role {
        POD_STANDALONE,
        POD_SANDBOX,
        POD_CONTAINER,
};

#define POD_TYPE_ANNOTATION    "io.kubernetes.cri.container-type"
#define POD_SANDBOX_ANNOTATION "io.kubernetes.cri.sandbox-id"

/* The role, and for POD_CONTAINER the sandbox's id (in the spec). */
enum pod_role pod_role(json_t *spec, const char **ret_sandbox_id);

/* A container of a pod joins the namespaces CRI names by the sandbox task's host pid
 * (/proc/PID/ns/net, ipc, uts, and pid with shareProcessNamespace): inside the guest they are
 * the sandbox container's, /proc/GUEST_PID/ns/... Any other namespace path cannot be joined from
 * a VM and is refused. */
int pod_join_sandbox_namespaces(json_t *spec, uint32_t host_pid, uint32_t guest_pid, char **ret_error);

/* Takes the path of the network namespace out of a sandbox's spec (the shim joins it on the
 * host; the guest makes a namespace of its own): *ret_path is NULL when there is none. -EINVAL
 * for a spec with two network namespaces. */
int pod_take_network_namespace(json_t *spec, char **ret_path, bool *ret_new);
