/* SPDX-License-Identifier: Apache-2.0 */
/* The agent policy: which RPCs this guest's agent answers. It is part of the guest image
 * (/etc/hako/agent-policy in the initrd), so nothing on the host side can lift it at run time:
 * a compromised host-side client of a sandbox built with a policy that leaves out ExecProcess
 * cannot run commands in that guest. No file: every method is allowed.
 *
 * Format: one method name per line ("Health", "CreateContainer", ...); '#' starts a comment.
 * Health is always allowed (the host needs it to see the guest up). A file that cannot be read
 * or parsed fails closed: only Health. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "macro.h"

#define POLICY_PATH      "/etc/hako/agent-policy"
#define POLICY_MAX_BYTES 16384
#define POLICY_MAX_RULES 64

static char allowed[POLICY_MAX_RULES][48];
static size_t n_allowed;
static bool active;

static void fail_closed(const char *why)
{
        log_error("agent policy %s: %s: only Health is answered", POLICY_PATH, why);
        n_allowed = 0;
        active = true;
}

void agent_policy_load(void)
{
        static char buf[POLICY_MAX_BYTES + 1];
        _cleanup_close_ int fd = open(POLICY_PATH, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0) {
                if (errno != ENOENT)
                        fail_closed(strerror(errno));
                return;
        }
        n = read(fd, buf, sizeof(buf));
        if (n < 0 || n > POLICY_MAX_BYTES)
                return fail_closed(n < 0 ? strerror(errno) : "too large");
        buf[n] = 0;
        active = true;
        for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                char *hash = strchr(line, '#');
                size_t len;

                if (hash)
                        *hash = 0;
                line += strspn(line, " \t");
                len = strcspn(line, " \t\r");
                line[len] = 0;
                if (len == 0)
                        continue;
                if (len >= sizeof(allowed[0]) || n_allowed >= POLICY_MAX_RULES)
                        return fail_closed("a name too long or too many rules");
                memcpy(allowed[n_allowed++], line, len + 1);
        }
        log_debug("agent policy: %zu methods allowed", n_allowed);
}

bool agent_policy_allows(const char *method)
{
        if (!active || !strcmp(method, "Health"))
                return true;
        for (size_t i = 0; i < n_allowed; i++)
                if (!strcmp(allowed[i], method))
                        return true;
        return false;
}
