/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "macro.h"

static int transport_find_port(char *ret_dev, size_t size)
{
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *de;
        int r = -ENOENT;

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                char path[300], name[64];
                _cleanup_close_ int fd = -1;
                ssize_t n;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                n = read(fd, name, sizeof(name) - 1);
                if (n <= 0)
                        continue;
                name[n] = 0;
                name[strcspn(name, "\n")] = 0;
                if (strcmp(name, HAKO_AGENT_PORT_NAME) == 0) {
                        snprintf(ret_dev, size, "/dev/%s", de->d_name);
                        r = 0;
                        break;
                }
        }
        closedir(d);
        return r;
}

int agent_transport_open_serial(int *ret_fd)
{
        /* The port shows up asynchronously after virtio probing; give it up to ~10 s. */
        for (int attempt = 0; attempt < 2000; attempt++) {
                char dev[300];
                int fd;

                if (transport_find_port(dev, sizeof(dev)) == 0) {
                        fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                        if (fd >= 0) {
                                *ret_fd = fd;
                                return 0;
                        }
                        if (errno != ENOENT && errno != ENXIO)
                                return negative_errno();
                }
                nanosleep(&(struct timespec){.tv_nsec = 5L * 1000 * 1000}, NULL);
        }
        return -ETIMEDOUT;
}

int agent_transport_listen_vsock(int *ret_fd)
{
        struct sockaddr_vm sa = {
            .svm_family = AF_VSOCK,
            .svm_cid = VMADDR_CID_ANY,
            .svm_port = HAKO_AGENT_VSOCK_PORT,
        };
        _cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return negative_errno();
        if (listen(fd, 1) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}
