/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

/* How a helper process (QEMU, virtiofsd) is started. The child dies with the thread that spawned
 * it (PR_SET_PDEATHSIG), so `kill -9` of hako never leaves a VM behind. */
struct spawn_opts {
        const char *const *argv;
        /* fds handed to the child at these numbers (3, 4, ...); the rest are closed. */
        const int *pass_fds;
        int n_pass_fds;
        int stdin_fd, stdout_fd, stderr_fd; /* -1: /dev/null */
        int new_session;
        /* The child's whole environment; NULL: ours. */
        const char *const *envp;
        /* CLONE_NEW* flags: the child starts in new namespaces (a new PID namespace makes it the
         * namespace's PID 1). 0: a plain fork. */
        unsigned long namespaces;
        /* runs in the child before exec (after fd setup); returns < 0 to fail the spawn. With
         * namespaces, the child came from a raw clone3: glibc's thread bookkeeping is the
         * parent's, so pre_exec must use raw syscalls for set*id (no glibc setxid broadcast). */
        int (*pre_exec)(void *userdata);
        void *userdata;
};

/* Starts the child; returns its pid and a pidfd (for poll/epoll on its exit). A failure of exec or
 * pre_exec is reported back here as -errno, not as a child that exits 127. */
int spawn_process(const struct spawn_opts *o, pid_t *ret_pid, int *ret_pidfd);
