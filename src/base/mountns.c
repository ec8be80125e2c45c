/* SPDX-License-Identifier: Apache-2.0 */
#include "mountns.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "macro.h"

static ino_t private_ns; /* the namespace this process made, 0: none yet */

int mountns_make_private(void)
{
        struct stat st;

        /* A forked child shares the variable but, until it unshares, its parent's namespace. */
        if (private_ns && stat("/proc/self/ns/mnt", &st) == 0 && st.st_ino == private_ns)
                return 0;
        if (unshare(CLONE_NEWNS) < 0)
                return negative_errno();
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return negative_errno();
        if (stat("/proc/self/ns/mnt", &st) < 0)
                return negative_errno();
        private_ns = st.st_ino;
        return 0;
}
