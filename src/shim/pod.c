/* SPDX-License-Identifier: Apache-2.0 */
#include "pod.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "macro.h"

enum pod_role pod_role(json_t *spec, const char **ret_sandbox_id)
{
        json_t *ann = json_object_get(spec, "annotations");
        const char *type = json_string_value(json_object_get(ann, POD_TYPE_ANNOTATION));
        const char *sandbox = json_string_value(json_object_get(ann, POD_SANDBOX_ANNOTATION));

        if (type && !strcmp(type, "sandbox"))
                return POD_SANDBOX;
        if (type && !strcmp(type, "container") && sandbox && *sandbox) {
                *ret_sandbox_id = sandbox;
                return POD_CONTAINER;
        }
        return POD_STANDALONE;
}

/* The files of /proc/PID/ns/ (nothing that climbs out of it). */
static bool ns_file_valid(const char *name)
{
        static const char *const files[] = {
            "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children",
            "user",   "uts"};

        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (!strcmp(name, files[i]))
                        return true;
        return false;
}

int pod_join_sandbox_namespaces(json_t *spec, uint32_t host_pid, uint32_t guest_pid, char **ret_error)
{
        json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces");
        char prefix[48];
        size_t i, plen;
        json_t *ns;

        plen = (size_t)snprintf(prefix, sizeof(prefix), "/proc/%u/ns/", host_pid);
        json_array_foreach(nss, i, ns)
        {
                const char *path = json_string_value(json_object_get(ns, "path"));
                const char *type = json_string_value(json_object_get(ns, "type"));
                char guest[64];

                if (!path || !*path)
                        continue;
                if (strncmp(path, prefix, plen) != 0 || !ns_file_valid(path + plen))
                        return error_set(
                            ret_error, -EOPNOTSUPP,
                            "cannot join the %s namespace %s: a container of a pod can only share "
                            "its sandbox's namespaces",
                            type ? type : "?", path);
                snprintf(guest, sizeof(guest), "/proc/%u/ns/%s", guest_pid, path + plen);
                json_object_set_new(ns, "path", json_string(guest));
        }
        return 0;
}

int pod_take_network_namespace(json_t *spec, char **ret_path, bool *ret_new)
{
        json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces");
        size_t i;
        json_t *ns;

        *ret_path = NULL;
        *ret_new = false;
        json_array_foreach(nss, i, ns)
        {
                const char *path = json_string_value(json_object_get(ns, "path"));

                if (strcmp(json_string_value(json_object_get(ns, "type")) ?: "", "network") != 0)
                        continue;
                if (*ret_path || *ret_new) {
                        free(*ret_path);
                        *ret_path = NULL;
                        return -EINVAL; /* two network namespaces: not a spec anyone means */
                }
                if (path && *path) {
                        *ret_path = strdup(path);
                        if (!*ret_path)
                                return -ENOMEM;
                        json_object_del(ns, "path");
                } else
                        *ret_new = true;
        }
        return 0;
}
