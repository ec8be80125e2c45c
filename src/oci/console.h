/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* runc's --console-socket: make a pty pair, send its master to the unix socket at path with
 * SCM_RIGHTS (the pty's name as the message, like runc), and keep the other end. The kept end is
 * made our controlling terminal in raw mode: the guest's pty does the line discipline, and a
 * resize of the master reaches us as SIGWINCH. Returns the kept end. */
int console_send_pty(const char *socket_path, int *ret_fd);
