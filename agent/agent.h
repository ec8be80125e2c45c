/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#define AGENT_CRUN_PATH "/usr/bin/crun"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-protocol.h"

/* hako-agent, PID 1 of the guest: one event loop (evloop.c) that the parts register their fds
 * with, a table of containers and their processes (process.c, container.c), and the ttRPC
 * server (server.c) that drives them for the host. The parts below the server report up through
 * the callbacks the server registers, never by calling it. Everything runs on one thread, so
 * nothing here is locked. */

/* evloop.c */
struct agent_watch {
        int fd;
        uint32_t events; /* what is registered now; 0: not registered */
        void (*fn)(struct agent_watch *w, uint32_t revents);
};

int agent_evloop_init(void);
/* Registers w->fd for events (EPOLLIN, ...), changes them, or with 0 removes it. */
int agent_watch_set(struct agent_watch *w, uint32_t events);
/* Serves events until an unrecoverable error. */
int agent_evloop_run(void);

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

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
        /* Registered with the loop only while a request waits on them. */
        struct agent_watch watch_stdout, watch_stderr, watch_stdin;
};

struct agent_container {
        struct agent_container *next;
        char id[HAKO_MAX_ID_LEN + 1];
        char bundle[128];
        char cgroup[256];   /* its cgroup v2 directory, "" until known */
        uint64_t oom_kills; /* memory.events oom_kill as last seen */
        int oom_wd;         /* inotify watch on memory.events, -1: none */
        bool rootfs_mounted;
        bool started;
        struct agent_process *processes; /* the init process is created first and kept last */
        unsigned n_processes;
};

struct agent_config {
        bool vsock;
        bool debug;
};

/* policy.c: the RPCs this guest's agent answers (/etc/hako/agent-policy in the initrd). */
void agent_policy_load(void);
bool agent_policy_allows(const char *method);

/* init.c */
int agent_write_file(const char *path, const char *s);
/* Writes every controller of dir/cgroup.controllers into dir/cgroup.subtree_control. */
int agent_cgroup_delegate(const char *dir);
int agent_init_system(void);
void agent_init_parse_cmdline(struct agent_config *ret_config);

/* transport.c */
int agent_transport_open_serial(int *ret_fd);
int agent_transport_listen_vsock(int *ret_fd);

/* process.c */
/* Registers the child reaper; fn is told about every change of a process: data to read, room to
 * write, an exit. */
int agent_process_init(void (*fn)(struct agent_process *p));
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
/* Registers p's fds with the loop as parked requests need them. */
void agent_process_update_watches(struct agent_process *p, bool want_stdout, bool want_stderr,
                                  bool want_stdin);
/* Reads up to len bytes from a stream: > 0 bytes, 0 for end of stream, -EAGAIN to wait. */
ssize_t agent_process_read(struct agent_process *p, bool err, void *buf, size_t len);
ssize_t agent_process_write(struct agent_process *p, const void *buf, size_t len);
int agent_process_close_stdin(struct agent_process *p);
int agent_process_kill_all(struct agent_container *c, int sig);
/* The pids in the container's cgroup, at most max. */
int agent_process_list(struct agent_container *c, uint32_t *pids, size_t max, size_t *ret_n);
int agent_process_cgroup_dir(struct agent_container *c, char *ret_path, size_t size);

/* container.c */
struct agent_crun_error {
        int code; /* ttRPC code */
        char message[512];
};
struct agent_container_opts {
        const char *rootfs_source;
        bool overlay, readonly; /* an overlay rootfs (upper on the scratch disk when there is one) */
        bool terminal;
        unsigned rows, columns;
        bool delegate_cgroup; /* processes in a leaf, every controller delegated (nested engines) */
        char **scratch_dirs;  /* made on the scratch disk for the spec's binds */
        size_t n_scratch_dirs;
};

int agent_container_create(const char *id, const char *oci_spec, const struct agent_container_opts *o,
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
/* `crun pause` / `crun resume`: the container's cgroup frozen or thawed. */
int agent_container_pause(struct agent_container *c, bool pause, struct agent_crun_error *err);
int agent_container_resize(struct agent_process *p, unsigned rows, unsigned columns);

/* dns.c: relays queries to loopback nameservers (the host's side has them) through the host.
 * fn is called when queries are waiting for agent_dns_next. */
void agent_dns_init(void (*fn)(void));
/* Answers UDP port 53 on addr (4 or 16 bytes, loopback only); again for the same: nothing. */
int agent_dns_listen(const uint8_t *addr, size_t len);
/* The oldest query not handed out yet; false: none. The pointers stay valid until the next call. */
bool agent_dns_next(uint32_t *ret_id, const uint8_t **ret_server, size_t *ret_server_len,
                    const uint8_t **ret_data, size_t *ret_len);
/* Sends the host's answer to query id's client; -ENOENT when it has been dropped. */
int agent_dns_answer(uint32_t id, const uint8_t *data, size_t len);

/* oom.c: OOM kills inside containers' cgroups (memory.events oom_kill), watched with inotify. */
int agent_oom_init(void (*fn)(struct agent_container *c));
/* Starts watching c's cgroup (known once its init exists). */
void agent_oom_watch(struct agent_container *c);
void agent_oom_unwatch(struct agent_container *c);
/* Reads c's counter now and reports a new kill (the init's exit is about to be reported). */
void agent_oom_check(struct agent_container *c);

/* sandbox.c */
int agent_sandbox_rescan_pci(void);
int agent_sandbox_add_entropy(const uint8_t *data, size_t len);
/* Onlines hot-added CPUs and memory; what the guest has now. */
int agent_sandbox_online(uint32_t *ret_cpus, uint64_t *ret_memory_mib);
/* HAKO_GUEST_DISK_DIR once the scratch disk is mounted; NULL: none. */
const char *agent_sandbox_disk_dir(void);
int agent_sandbox_mount_storage(const char *driver, const char *source, const char *mount_point,
                                char **options, size_t n_options);

/* network.c: sets a net.* sysctl (key in dotted form) in the guest's network namespace. */
int agent_network_sysctl(const char *key, const char *value);
/* network.c: makes the device with the request's MAC what the host's interface is. */
#include "agent.pb-c.h"
int agent_network_configure(const Hako__Agent__V1__ConfigureInterfaceRequest *req, char *ret_error,
                            size_t size);

/* stats.c */
struct agent_stat_key {
        char key[32];
        uint64_t value;
};
struct agent_io_stat {
        uint32_t major, minor;
        uint64_t rbytes, wbytes, rios, wios;
};
struct agent_stats {
        uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
        uint64_t cpu_nr_periods, cpu_nr_throttled, cpu_throttled_usec;
        uint64_t memory_current, memory_max, swap_current, swap_max, pids_current, pids_max;
        struct agent_stat_key memory_stat[HAKO_MAX_STAT_KEYS];
        size_t n_memory_stat;
        struct agent_stat_key memory_events[8];
        size_t n_memory_events;
        struct agent_io_stat io[HAKO_MAX_IO_DEVICES];
        size_t n_io;
};
int agent_stats_read(const char *cgroup_dir, struct agent_stats *ret_stats);
/* Reads one "key value" line of a cgroup file (memory.events oom_kill, ...). */
int agent_stats_keyed(const char *cgroup_dir, const char *file, const char *key, uint64_t *ret);

/* server.c */
int agent_server_init(void);
/* Starts serving a connected transport fd (serial: reconnects are detected via POLLHUP). */
void agent_server_attach(int fd, bool serial);
void agent_server_set_listener(int fd);
