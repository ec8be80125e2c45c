/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Test-only table of the agent service's methods and their message types, for the fuzzers. The agent
 * has its own dispatch table; this one is kept separate on purpose so that a method missing from the
 * agent still gets fuzzed. */

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

struct agent_method {
        const char *name;
        const ProtobufCMessageDescriptor *request;
        const ProtobufCMessageDescriptor *response;
};

extern const struct agent_method agent_methods[];
extern const size_t agent_methods_count;

const struct agent_method *agent_method_find(const char *name);
