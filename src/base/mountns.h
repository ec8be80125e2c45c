/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Moves the calling process into a mount namespace of its own, with every mount private, once
 * (later calls do nothing). The processes that own a sandbox (hako run, the OCI host process,
 * the shim) mount what the guest shares there: the mounts are theirs alone, and the kernel
 * drops them when the last process of the namespace (the owner, QEMU, virtiofsd) is gone,
 * even after `kill -9`. */
int mountns_make_private(void);
