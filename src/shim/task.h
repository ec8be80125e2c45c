/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "containerd.pb-c.h"
#include "io.h"
#include "publish.h"
#include "shim.h"
#include "ttrpc-server.h"

/* The shim's view of containerd's tasks: one per container of the pod, each with its processes
 * (the init and the execs containerd adds), their stdio, and the Wait calls parked on them. The
 * containers themselves are the runtime's (container.h), in the pod's one sandbox. */

#define SHIM_WAITERS_MAX 64
#define SHIM_EXECS_MAX   64
#define SHIM_TASKS_MAX   64

struct shim_task;

struct shim_proc {
        struct shim_proc *next; /* in the task's execs */
        struct shim_task *task;
        char exec_id[HAKO_MAX_ID_LEN + 1]; /* "" for the init */
        struct process *proc;              /* the runtime's, once it exists in the guest */
        struct shim_stdio io;
        char *spec; /* an exec's process JSON, until it starts */
        /* A terminal size given before the exec started (CRI resizes before it starts): its
         * pty gets it from the start. */
        unsigned rows, columns;
        enum process_state state;
        uint32_t exit_status;
        uint64_t exited_at_ns;
        struct ttrpc_call waiters[SHIM_WAITERS_MAX];
        unsigned n_waiters;
};

struct shim_task {
        struct shim_task *next;
        char *id;
        char *bundle;
        char *rootfs;  /* where containerd's rootfs mounts went, NULL: the bundle's as is */
        json_t *hooks; /* the bundle's OCI hooks: host programs, run here, never in the guest */
        json_t *annotations;
        bool makes_sandbox; /* this task's container made the VM */
        uint32_t vcpus;     /* what its limits add to the pod's VM */
        uint64_t memory_mib;
        struct container *ctr;
        struct shim_proc init;
        struct shim_proc *execs;
        unsigned n_execs;
};

struct shim {
        const struct shim_opts *opts;
        char *state_root;
        struct sandbox *sb; /* the pod's VM, once its sandbox task exists */
        char *sandbox_task; /* id of the task that made it */
        char *host_cgroup;
        uint32_t base_vcpus; /* the VM's size for the sandbox alone */
        uint64_t base_memory_mib;
        uint32_t max_vcpus; /* how far it can grow */
        uint64_t max_memory_mib;
        bool vm_lost;
        struct shim_task *tasks;
        unsigned n_tasks;
        struct ttrpc_server *server;
        struct publisher *pub;
        int signal_fd;
        int boot_timeout_ms;
        bool exiting;
};

/* service.c: the handlers of containerd.task.v2.Task. */
extern const struct ttrpc_method shim_methods[];
extern const size_t shim_n_methods;

/* task.c */
struct shim_task *shim_task_find(struct shim *s, const char *id);
struct shim_proc *shim_task_proc(struct shim_task *t, const char *exec_id);
uint32_t shim_task_pid(const struct shim *s);
/* A process exited (the runtime's callback): its status recorded, the exit published, its
 * waiters answered, its stdio closed. */
void shim_proc_exited(struct shim *s, struct shim_proc *p, int exit_code, uint64_t at_ns);
void shim_proc_done(struct shim_proc *p);
/* Runs the task's OCI hooks of a kind on the host with the state of the moment. */
int shim_task_hooks(struct shim *s, struct shim_task *t, const char *kind, const char *status,
                    char **ret_error);
/* Removes the task and everything of it the shim holds (its container is already gone). */
void shim_task_free(struct shim *s, struct shim_task *t);
/* The timestamp message for a CLOCK_REALTIME ns value. */
void shim_timestamp(uint64_t ns, Google__Protobuf__Timestamp *ret);
/* serve.c: keeps one GetOOMEvent call waiting in the guest; OOM kills become TaskOOM events. */
void shim_watch_oom(struct shim *s);
/* -errno → a ttRPC status code containerd maps back to its error kinds. */
int shim_errno_code(int r);
