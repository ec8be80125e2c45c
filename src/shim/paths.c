/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"
#include "shim.h"
#include "state.h"

int shim_state_root(const char *ns, char **ret)
{
        if (!state_id_valid(ns))
                return -EINVAL;
        return asprintf(ret, "%s/shim/%s", state_root(NULL), ns) < 0 ? -ENOMEM : 0;
}

/* FNV-1a, twice with different seeds: the name only has to be the same for the same pod and
 * differ between pods of one host. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ull;
        }
        return h;
}

int shim_socket_path(const char *address, const char *ns, const char *group, char **ret)
{
        char key[1024];
        uint64_t a, b;
        char *p;

        if (snprintf(key, sizeof(key), "%s\n%s\n%s", address, ns, group) >= (int)sizeof(key))
                return -ENAMETOOLONG;
        a = fnv1a(0xcbf29ce484222325ull, key);
        b = fnv1a(0x84222325cbf29ce4ull, key);
        if (asprintf(&p, "%s/s/%016llx%016llx", state_root(NULL), (unsigned long long)a,
                     (unsigned long long)b) < 0)
                return -ENOMEM;
        if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
                free(p);
                return -ENAMETOOLONG;
        }
        *ret = p;
        return 0;
}

void shim_unlink_socket(const struct shim_opts *o)
{
        _cleanup_free_ char *lock = NULL;

        if (!o->socket || !*o->socket)
                return;
        (void)unlink(o->socket);
        /* start's lock beside it: a start holding it still has its open file. */
        if (asprintf(&lock, "%s.lock", o->socket) >= 0)
                (void)unlink(lock);
}
