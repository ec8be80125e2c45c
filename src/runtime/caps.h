/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Linux capabilities by their OCI names (CAP_CHOWN, ...), as bit sets (bit N: capability N),
 * and Docker's rules for --cap-add/--cap-drop/--privileged. The names are the guest kernel's
 * (6.1: CAP_CHOWN .. CAP_CHECKPOINT_RESTORE), which is what crun in the guest applies. */

#define CAPS_COUNT 41
#define CAPS_ALL   ((UINT64_C(1) << CAPS_COUNT) - 1)
/* "ALL" on Docker's command line: a bit outside the capabilities, so that naming every one of
 * them is not mistaken for it. */
#define CAPS_ALL_WORD (UINT64_C(1) << 63)

/* Docker's default set for a container (moby's oci/caps/defaults.go). */
uint64_t caps_docker_default(void);
/* "CAP_NAME" of capability n (< CAPS_COUNT). */
const char *caps_name(unsigned n);
/* A name as Docker takes it on its command line: case-insensitive, with or without "CAP_".
 * Sets *ret to its bit, or to CAPS_ALL_WORD for "ALL". -EINVAL for an unknown name. */
int caps_parse(const char *name, uint64_t *ret);
/* The set of an OCI list of names; names this kernel does not know are left out. */
uint64_t caps_from_json(json_t *names);
/* A JSON array of the names in the set, in capability order. */
json_t *caps_to_json(uint64_t set);
/* Docker's TweakCapabilities: privileged gets them all; an added ALL gives all but the dropped;
 * a dropped ALL keeps only the added; otherwise (base - dropped) + added. add/drop are unions
 * of caps_parse results. */
uint64_t caps_tweak(uint64_t base, uint64_t add, uint64_t drop, bool privileged);
