/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent-protocol.h"
#include "pollset.h"
#include "relay.h"
#include "sandbox.h"
#include "strv.h"

/* The containers of a sandbox and their processes (the init, and execs), as the host side holds
 * them: made through the agent, each process's stdio relayed by a relay of its own on the one
 * agent channel. The owners are `hako run` (one container), the OCI host process (one container
 * and its execs) and the shim (a pod: many containers); they hand over the stdio fds and act on
 * exits. */

enum process_state {
        PROCESS_CREATED, /* made, not started (an exec the shim was told about) */
        PROCESS_RUNNING,
        PROCESS_EXITED,
};

struct container;

struct process {
        struct process *next;
        struct container *container;
        char exec_id[HAKO_MAX_ID_LEN + 1]; /* "" for the init */
        enum process_state state;
        bool tty;
        uint32_t guest_pid;
        struct relay *relay;   /* while its stdio is relayed */
        int exit_code;         /* Docker's convention (128+N for signal N), once exited */
        uint64_t exited_at_ns; /* CLOCK_REALTIME */
        void *userdata;        /* the owner's */
};

struct container {
        struct container *next;
        struct sandbox *sb;
        char *id;
        struct strv shares; /* the share names it holds */
        char *resolv_conf;  /* the host file bind-mounted on its /etc/resolv.conf; NULL: none */
        bool started, paused;
        struct process *init;
        struct process *execs;
        unsigned n_execs;
        void *userdata; /* the owner's */
};

/* Everything the guest needs to create one. */
struct container_config {
        const char *id;
        json_t *spec;             /* prepared (spec_prepare) */
        const char *rootfs_guest; /* its rootfs share's guest path */
        bool overlay;             /* a writable overlay in guest memory on top of it */
        bool readonly;
        bool tty;
        unsigned rows, columns;
        struct strv *shares; /* the shares spec_prepare took for it; taken over */
};

/* The exit code for a failed create: 127 when the command does not exist, 126 when it cannot be
 * executed (Docker's convention), 125 otherwise. */
int container_create_exit_code(int r);

/* `crun create` in the guest. On failure the shares are released, nothing is left. */
int container_create(struct sandbox *sb, const struct container_config *cfg, struct container **ret,
                     char **ret_error);
int container_start(struct container *c, char **ret_error);
/* Signals the process (exec_id "" or NULL: the init), every process of the container with all. */
int container_signal(struct container *c, const char *exec_id, int sig, bool all, char **ret_error);
/* Freezes or thaws the container's cgroup in the guest; the rest of the guest runs on. */
int container_pause(struct container *c, bool pause, char **ret_error);
/* linux.resources JSON for `crun update` in the guest. */
int container_update(struct container *c, const char *resources_json, char **ret_error);
/* Its cgroup's numbers, decoded into arena (freed by the caller). */
int container_stats(struct container *c, struct arena *arena, Hako__Agent__V1__StatsContainerResponse **ret,
                    char **ret_error);
/* The guest pids of its processes, malloc'd. */
int container_pids(struct container *c, uint32_t **ret_pids, size_t *ret_n, char **ret_error);
/* Kills what is left and deletes it in the guest, releases its shares, frees c (and its
 * processes: their relays stop). */
int container_remove(struct container *c, char **ret_error);
/* The same without asking the guest (the VM is gone). */
void container_forget(struct container *c);

/* Starts an exec process (`crun exec` in the guest). */
int container_exec(struct container *c, const char *exec_id, const char *process_json, bool tty,
                   unsigned rows, unsigned columns, struct process **ret, char **ret_error);
struct process *container_find_process(struct container *c, const char *exec_id);
/* Forgets an exited exec (in the guest too). */
void container_remove_exec(struct process *p);

/* Relays p's stdio through these fds (in_fd -1: no stdin); the fds stay the caller's. */
int process_relay(struct process *p, int in_fd, int out_fd, int err_fd, int winsize_fd);
/* Sets the guest pty's size. */
int process_resize(struct process *p, unsigned rows, unsigned columns, char **ret_error);

/* The containers of a sandbox. */
struct container *sandbox_containers(struct sandbox *sb);
struct container *sandbox_find_container(struct sandbox *sb, const char *id);

/* One round of the owner's loop: the agent channel and every relay's fds. */
void sandbox_poll_add(struct sandbox *sb, struct pollset *ps);
/* Marks the processes whose relay is done (exited, output drained) as exited and calls fn for
 * each; lowers the round's timeout to the next drain deadline. -errno when the agent channel
 * broke (the VM is gone or spoke nonsense). */
int sandbox_reap(struct sandbox *sb, struct pollset *ps, void (*fn)(void *userdata, struct process *p),
                 void *userdata);
/* The VM is gone: every process that has not exited exits with code (137), fn called for each. */
void sandbox_lost(struct sandbox *sb, int code, void (*fn)(void *userdata, struct process *p),
                  void *userdata);

uint64_t realtime_ns(void);
