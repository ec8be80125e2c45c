/* SPDX-License-Identifier: Apache-2.0 */
#include "remove.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "host-cgroup.h"
#include "macro.h"
#include "state.h"

int oci_remove(const char *root, struct oci_state *s, char **ret_warning)
{
        _cleanup_free_ char *hooks_json = NULL, *state = NULL, *cgroup = NULL;
        json_t *hooks, *j;
        int r;

        /* Read before the directory goes; the host process saved them at create. */
        state_read(s->dir, "hooks", &hooks_json);
        state_read(s->dir, "host_cgroup", &cgroup);
        r = state_remove(root, s->id);
        if (r < 0 && r != -ENOENT) /* -ENOENT: the host process removed it itself */
                return r;
        /* Empty now: its processes died with the host process. */
        if (cgroup && cgroup[0] == '/')
                host_cgroup_remove(cgroup);
        if (!hooks_json)
                return 0;
        hooks = json_loads(hooks_json, 0, NULL);
        free(s->status);
        s->status = strdup("stopped");
        s->pid = 0;
        j = s->status ? oci_state_json(s) : NULL;
        state = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (hooks && state)
                hooks_run(hooks, "poststop", state, ret_warning);
        json_decref(hooks);
        return 0;
}
