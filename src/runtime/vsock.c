/* SPDX-License-Identifier: Apache-2.0 */
#include "vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "timeutil.h"

uint32_t vsock_pick_cid(void)
{
        uint32_t r = 0;

        if (getrandom(&r, sizeof(r), 0) != sizeof(r))
                r = (uint32_t)getpid() * 2654435761u;
        return 3 + r % 0x7ffffff0u; /* 0-2 are reserved */
}

int vsock_connect_wait(uint32_t cid, uint32_t port, int abort_fd, int timeout_ms)
{
        struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
        long long deadline = mono_ms() + timeout_ms;

        for (;;) {
                _cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return negative_errno();
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                        int r = fd_set_nonblock(fd, 1);
                        return r < 0 ? r : TAKE_FD(fd);
                }
                /* Not listening yet (the guest is booting): anything else is a real error. */
                if (errno != ECONNREFUSED && errno != ECONNRESET && errno != ENODEV && errno != ETIMEDOUT &&
                    errno != EINTR)
                        return negative_errno();
                if (mono_ms() >= deadline)
                        return -ETIMEDOUT;
                struct pollfd p = {.fd = abort_fd, .events = POLLIN};
                if (poll(&p, abort_fd >= 0 ? 1 : 0, 10) > 0)
                        return -ECHILD;
        }
}
