/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "task.h"

/* create.c: a task's container. The pod's sandbox (or a container of no pod) makes the VM, sized
 * by the configuration; a container of the pod goes into the running guest, sharing the sandbox's
 * namespaces there. Fails with nothing left behind. */
int shim_create_task(struct shim *s, const Containerd__Task__V2__CreateTaskRequest *req,
                     struct shim_task **ret, char **ret_error);
/* Deletes the task's container in the guest and forgets the task; the VM goes with the pod's
 * last task. */
void shim_remove_task(struct shim *s, struct shim_task *t);
/* New limits (linux.resources JSON) for the task's container. */
int shim_update_task(struct shim *s, struct shim_task *t, const char *json, size_t len, char **ret_error);
/* Stops the VM, whatever runs in it. */
void shim_stop_sandbox(struct shim *s);
