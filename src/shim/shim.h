/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* containerd-shim-hako-v2: containerd's shim v2 contract for hako. One shim per pod: the
 * pod's sandbox container makes the VM, every later container of the pod is created in the same
 * guest through the agent. `start` prints the address of the pod's shim (starting it when the
 * container is a pod's first), `delete` cleans up after a shim that died, and without an action
 * the shim serves containerd's task API over ttRPC on the socket it was handed. */

struct shim_opts {
        const char *ns;             /* -namespace */
        const char *address;        /* -address: containerd's gRPC socket */
        const char *publish_binary; /* -publish-binary */
        const char *id;             /* -id */
        const char *bundle;         /* -bundle, else the working directory */
        bool debug;                 /* -debug */
        const char *ttrpc_address;  /* $TTRPC_ADDRESS */
        const char *socket;         /* -socket: the serving shim's socket path (start passes it) */
};

#define SHIM_SERVICE "containerd.task.v2.Task"
/* What the listening socket is to the serving shim. */
#define SHIM_LISTEN_FD 3

int shim_start(const struct shim_opts *o);
int shim_delete(const struct shim_opts *o);
/* Serves until containerd shuts it down; returns the process's exit status. */
int shim_serve(const struct shim_opts *o);

/* paths.c: where a shim keeps its state: <HAKO_ROOT or /run/hako>/shim/<namespace>, and its
 * socket, <root>/s/<hash of containerd's address, the namespace and the pod>. */
int shim_state_root(const char *ns, char **ret);
int shim_socket_path(const char *address, const char *ns, const char *group, char **ret);
/* Removes the serving shim's socket (at its exit). */
void shim_unlink_socket(const struct shim_opts *o);
