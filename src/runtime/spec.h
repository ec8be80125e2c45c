/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shares.h"
#include "strv.h"

/* Building and adjusting OCI runtime configs (config.json) for the guest: the host decides every
 * guest path, so the agent writes the spec verbatim. */

struct volume {
        char *host;      /* absolute host path */
        char *container; /* absolute path in the container */
        bool readonly;
};

struct container_opts {
        char **args; /* NULL: keep the image's / bundle's */
        size_t n_args;
        char **env; /* K=V, added to (and overriding) the image's */
        size_t n_env;
        const char *cwd;
        bool has_user, has_gid;
        uint32_t uid, gid;
        bool tty;
        struct volume *volumes;
        size_t n_volumes;
        uint32_t cpus_milli;   /* 0: no limit */
        uint64_t memory_bytes; /* 0: no limit */
        const char *hostname;
        /* The namespace paths are the guest's already (a pod's containers join its sandbox's):
         * not refused as host namespaces a VM cannot join. */
        bool guest_namespace_paths;
};

#define SPEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* --init: Debian's tini-static in the guest's initrd (guest/initrd/build.sh), bound read-only
 * into the container where Docker puts its docker-init. */
#define SPEC_GUEST_INIT     "/usr/bin/tini-static"
#define SPEC_CONTAINER_INIT "/sbin/docker-init"

enum spec_seccomp {
        SPEC_SECCOMP_KEEP,       /* the zero value: the spec's own (a bundle's) */
        SPEC_SECCOMP_DEFAULT,    /* Docker's default profile (seccomp.h) */
        SPEC_SECCOMP_UNCONFINED, /* none */
        SPEC_SECCOMP_PROFILE,    /* the given profile, in Docker's format */
};

/* What `hako run`'s security flags ask for, with Docker's meaning (its daemon's createSpec). */
struct spec_security {
        uint64_t cap_add, cap_drop; /* caps_parse() unions; CAPS_ALL_WORD for ALL */
        bool privileged;
        bool no_new_privileges;
        bool systempaths_unconfined; /* no masked or read-only paths */
        enum spec_seccomp seccomp;
        json_t *seccomp_profile; /* SPEC_SECCOMP_PROFILE; borrowed */
        bool init;
        bool read_only;
        /* The process's capabilities as Docker sets them: all three sets for root, only the
         * bounding set for another user (execve gives it no effective ones). A bundle keeps
         * its own unless flags change them. */
        bool docker_caps;
};

/* The config a Docker user would expect for an image without one. */
json_t *spec_default(void);
/* Loads a bundle's config.json; *ret_rootfs gets the absolute host rootfs path. What a VM cannot
 * honour is refused by spec_prepare. */
int spec_load_bundle(const char *bundle_dir, json_t **ret, char **ret_rootfs, bool *ret_rootfs_ro,
                     char **ret_error);
/* Applies CLI options, points root.path at the guest rootfs, and turns every host bind mount
 * (volumes, bundle binds) into a share of the table (its name added to used, when given), the
 * mount's source into its guest path. */
int spec_prepare(json_t *spec, const char *container_id, const struct container_opts *o,
                 struct share_table *shares, struct strv *used, char **ret_error);
/* The share of a container's rootfs: its guest path in *ret_guest (malloc'd). */
int spec_share_rootfs(struct share_table *shares, const char *host, bool ro, struct strv *used,
                      char **ret_guest);
/* Whether a spec mount is a bind mount (type "bind", or a bind/rbind option). */
bool spec_mount_is_bind(json_t *m);
/* Sets K=V in a process's env array, replacing an earlier K. */
void spec_env_set(json_t *env, const char *kv);
/* Applies the security flags to a prepared spec (after spec_prepare: its user is final, and the
 * --init bind names a guest path that must not become a share). The capabilities come first,
 * the seccomp rules are chosen by them. */
int spec_apply_security(json_t *spec, const struct spec_security *s, char **ret_error);
/* Checks for what a VM cannot honour (joining host namespaces); a clear error instead. */
int spec_check_supported(json_t *spec, char **ret_error);
/* Takes the network namespace out of a spec for the guest: every container of a sandbox runs in
 * the guest's own network namespace, where the NICs that mirror its host side are (a pod's
 * containers thus share localhost). Its net.* sysctls go too: the agent sets them in that
 * namespace; they are returned (a new reference; NULL: none). */
json_t *spec_guest_network(json_t *spec);
