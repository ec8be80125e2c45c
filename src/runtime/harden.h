/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the long-lived host process of a sandbox (the OCI monitor, an attached `hako run`, the
 * shim serving a pod) gives up once its VM runs (docs/security.md):
 * - capabilities it never needs again (kernel modules, raw I/O, reboot, the clock, MAC and audit
 *   administration, ...), from its bounding, permitted, effective and inheritable sets; it keeps
 *   what hot-adding shares and NICs and signalling its VM need;
 * - a seccomp filter (libseccomp) refusing with EPERM the calls it never makes: module loading,
 *   kexec, reboot, swap, the clock, ptrace and cross-process memory access, kernel keyrings, bpf,
 *   perf events, userfaultfd, open_by_handle_at, raw port I/O.
 * Processes it starts afterwards inherit both. Idempotent; -errno. */
int harden_host_process(void);
