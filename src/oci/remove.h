/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "oci-state.h"

/* The end of `delete` (and of a foreground `run`): removes the state directory of a container
 * whose host process is gone, then runs its poststop hooks with the final state. A failing hook
 * is only a warning (the spec): its message goes to *ret_warning, and 0 is returned. */
int oci_remove(const char *root, struct oci_state *s, char **ret_warning);
