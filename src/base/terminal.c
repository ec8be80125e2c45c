/* SPDX-License-Identifier: Apache-2.0 */
#include "terminal.h"

#include <stdbool.h>
#include <termios.h>

#include "macro.h"

static struct termios saved;
static int saved_fd = -1;

void term_restore(void)
{
        if (saved_fd >= 0) {
                tcsetattr(saved_fd, TCSADRAIN, &saved);
                saved_fd = -1;
        }
}

int term_raw(int fd)
{
        struct termios t;

        if (tcgetattr(fd, &saved) < 0)
                return negative_errno();
        t = saved;
        cfmakeraw(&t);
        /* Keep output processing so our own error lines still start at column 0. */
        t.c_oflag |= OPOST;
        if (tcsetattr(fd, TCSADRAIN, &t) < 0)
                return negative_errno();
        saved_fd = fd;
        return 0;
}
