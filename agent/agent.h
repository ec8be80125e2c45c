/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#define AGENT_CRUN_PATH "/usr/bin/crun"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-protocol.h"

/* Shared state of hako-agent: one event loop, one host connection, a table of containers and their
 * processes. Everything runs on a single thread, so nothing here is locked. */

struct agent_container;

struct agent_process {
        struct agent_process *next; /* in the container's list */
        struct agent_container *container;
        char exec_id[HAKO_MAX_ID_LEN + 1]; /* "" for the container's init process */
        pid_t pid;
        bool terminal;
        int stdin_fd;  /* our write end, or the pty master */
        int stdout_fd; /* our read end, or the pty master */
        int stderr_fd; /* -1 for a terminal process */
        bool stdout_eof, stderr_eof;
        bool exited;
        bool tty_drain_waited;
        int exit_code, exit_signal;
        /* Which fds are registered with epoll right now (only while a request waits on them). */
        bool watch_stdout, watch_stderr, watch_stdin;
};

struct agent_container {
        struct agent_container *next;
        char id[HAKO_MAX_ID_LEN + 1];
        char bundle[128];
        bool rootfs_mounted;
        bool started;
        struct agent_process *processes; /* the init process is created first and kept last */
        unsigned n_processes;
};

/* Epoll tags: the low byte says what the fd is, the rest points at the process (if any). */
enum agent_event_kind {
        AGENT_EV_TRANSPORT = 1,
        AGENT_EV_LISTEN,
        AGENT_EV_SIGNAL,
        AGENT_EV_TIMER,
        AGENT_EV_STDOUT,
        AGENT_EV_STDERR,
        AGENT_EV_STDIN,
};

struct agent_config {
        bool vsock;
        bool debug;
};

extern int agent_epoll_fd;

/* main.c */
int agent_epoll_set(int fd, enum agent_event_kind kind, void *ptr, uint32_t events, bool on);

/* init.c */
int agent_init_system(void);
void agent_init_parse_cmdline(struct agent_config *ret_config);

/* transport.c */
int agent_transport_open_serial(int *ret_fd);
int agent_transport_listen_vsock(int *ret_fd);

/* process.c */
struct agent_container *agent_container_find(const char *id);
struct agent_process *agent_process_find(struct agent_container *c, const char *exec_id);
unsigned agent_container_count(void);
unsigned agent_process_count(void);
struct agent_container *agent_container_first(void);
int agent_container_add(const char *id, struct agent_container **ret_container);
void agent_container_forget(struct agent_container *c);
int agent_process_add(struct agent_container *c, const char *exec_id, pid_t pid, bool terminal, int stdin_fd,
                      int stdout_fd, int stderr_fd, struct agent_process **ret_process);
void agent_process_forget(struct agent_process *p);
/* Reaps every exited child; records the status of known processes. */
void agent_process_reap(void);
/* Updates epoll registrations of p's fds to what parked requests need. */
void agent_process_update_watches(struct agent_process *p, bool want_stdout, bool want_stderr,
                                  bool want_stdin);
/* Reads up to len bytes from a stream: > 0 bytes, 0 for end of stream, -EAGAIN to wait. */
ssize_t agent_process_read(struct agent_process *p, bool err, void *buf, size_t len);
ssize_t agent_process_write(struct agent_process *p, const void *buf, size_t len);
int agent_process_close_stdin(struct agent_process *p);
int agent_process_kill_all(struct agent_container *c, int sig);
int agent_process_cgroup_dir(struct agent_container *c, char *ret_path, size_t size);

/* container.c */
struct agent_crun_error {
        int code; /* ttRPC code */
        char message[512];
};
int agent_container_create(const char *id, const char *oci_spec, const char *rootfs_source, bool overlay,
                           bool readonly, bool terminal, unsigned rows, unsigned columns,
                           struct agent_crun_error *err, struct agent_container **ret_container);
int agent_container_start(struct agent_container *c, struct agent_crun_error *err);
int agent_container_exec(struct agent_container *c, const char *exec_id, const char *process_json,
                         bool terminal, unsigned rows, unsigned columns, struct agent_crun_error *err,
                         struct agent_process **ret_process);
/* Kills, deletes and unmounts; c is freed. Answers nothing: the caller fails parked requests first. */
void agent_container_remove(struct agent_container *c);
/* `crun update --resources` with the OCI linux.resources JSON given. */
int agent_container_update(struct agent_container *c, const char *resources_json,
                           struct agent_crun_error *err);
int agent_container_resize(struct agent_process *p, unsigned rows, unsigned columns);

/* sandbox.c */
int agent_sandbox_rescan_pci(void);
int agent_sandbox_add_entropy(const uint8_t *data, size_t len);
int agent_sandbox_mount_storage(const char *driver, const char *source, const char *mount_point,
                                char **options, size_t n_options);

/* stats.c */
struct agent_stats {
        uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
        uint64_t memory_current, memory_max, pids_current, pids_max;
        uint64_t io_read_bytes, io_write_bytes;
};
int agent_stats_read(pid_t pid, struct agent_stats *ret_stats);

/* server.c */
int agent_server_init(void);
/* Starts serving a connected transport fd (serial: reconnects are detected via POLLHUP). */
void agent_server_attach(int fd, bool serial);
void agent_server_on_transport(uint32_t events);
void agent_server_on_timer(void);
void agent_server_on_listen(void);
void agent_server_set_listener(int fd);
void agent_server_on_process(struct agent_process *p);
/* Fails every parked request that refers to a process of c (it is going away). */
void agent_server_drop_container(struct agent_container *c);
/* The same for one process (RemoveProcess). */
void agent_server_drop_process(struct agent_process *p);
