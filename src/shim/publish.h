/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "pollset.h"

/* Task events for containerd, in order, through the publish binary containerd names
 * (`containerd --address A publish --topic T --namespace NS`, the event as a protobuf Any on its
 * stdin), one at a time: containerd sees them in the order they happened. A failed publish is
 * retried a few times, then dropped with an error in the shim's log. */

struct publisher;

int publisher_new(const char *binary, const char *address, const char *ns, struct publisher **ret);
struct publisher *publisher_free(struct publisher *p);
/* Queues the event message (type_url "containerd.events.<name>" from its descriptor). */
int publisher_send(struct publisher *p, const char *topic, const ProtobufCMessage *event);
void publisher_poll_add(struct publisher *p, struct pollset *ps);
/* Whether events are still queued or being published. */
bool publisher_busy(const struct publisher *p);
