/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

/* Connects to the guest agent over AF_VSOCK, retrying while the guest boots (the agent is not
 * listening yet). Gives up at the deadline or when abort_fd (the VM's pidfd) becomes readable.
 * Returns a connected, non-blocking socket. */
int vsock_connect_wait(uint32_t cid, uint32_t port, int abort_fd, int timeout_ms);
/* A guest CID for a new VM: random in the valid range, so concurrent VMs rarely collide (QEMU
 * refuses a CID in use, and the caller retries). */
uint32_t vsock_pick_cid(void);
