/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

/* The container's network namespace belongs to its host side, as with runc, so that the
 * caller's network setup (docker's libnetwork-setkey hook, CNI, podman's netns) acts on it and
 * never on the host's: the process that owns the VM joins the namespace at path, or makes a new
 * one with new_ns, before it starts QEMU and virtiofsd (they inherit it). */
int netns_enter(const char *path, bool new_ns);
/* Whether that choice is host networking: no namespace of the container's own (neither a path
 * nor a new one), or a path naming the caller's namespace or the host's (PID 1's), as Docker's
 * --network host does. Called before netns_enter. */
bool netns_is_host(const char *path, bool new_ns);
/* Whether the calling thread is in the host's network namespace (PID 1's). */
bool netns_current_is_host(void);
