/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdint.h>

/* Seccomp profiles in Docker's format (moby's profiles/seccomp: `names`, `archMap`, rules that
 * apply only with or without some capabilities, architectures or kernel versions) turned into
 * the OCI `linux.seccomp` object that crun applies in the guest, the way dockerd does it
 * (setupSeccomp): a rule is kept when its includes hold and its excludes do not, judged
 * against the container's bounding capabilities, the guest's architecture and the guest's
 * kernel (not the host's: that is the kernel the filter runs on). */

/* Docker's default profile (seccomp-default.json, embedded at build time by
 * seccomp-default-gen.py), what `hako run` applies unless told otherwise. */
extern const char seccomp_default_profile[];

/* The kernel the profile is judged against: the guest's (guest/kernel builds Debian's 6.1). */
#define SECCOMP_GUEST_KERNEL_MAJOR 6
#define SECCOMP_GUEST_KERNEL_MINOR 1

/* A profile file's size limit (Docker's default is 16 KiB; room for much larger ones). */
#define SECCOMP_PROFILE_MAX (1u << 20)

/* Converts a profile for a container whose bounding set is caps (caps.h). *ret is the OCI
 * object, or NULL when the profile disables seccomp (no default action and no rules, as Docker
 * reads it). */
int seccomp_from_profile(json_t *profile, uint64_t caps, json_t **ret, char **ret_error);
/* Loads a profile file (at most SECCOMP_PROFILE_MAX bytes of JSON), as `--security-opt
 * seccomp=PATH` names it. */
int seccomp_load_file(const char *path, json_t **ret, char **ret_error);
/* Docker's default profile, parsed. */
int seccomp_default(json_t **ret);
