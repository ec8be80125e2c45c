/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "attach.h"
#include "hv.h"
#include "netconf.h"

/* A sandbox's network: every interface of its owner's network namespace (the container's, as its
 * caller set it up) reaches the guest through a virtio-net device of its own (attach.h), and the
 * guest is told what the interface is (ConfigureInterface). Interfaces that appear later (Docker's
 * hooks move the veth in after create; `docker network connect`) are hot-added by
 * sandbox_net_sync. */

struct sandbox;

struct sandbox_net {
        enum net_mode mode;
        struct net_attachment att[NET_MAX_IFACES];
        size_t n;
        struct hv_nic nics[NET_MAX_IFACES]; /* for the VM's start */
        char nic_ids[NET_MAX_IFACES][16];
        /* What the guest was last told per interface (packed): a change of something else in
         * the namespace does not make it redo this one. */
        uint8_t *sent[NET_MAX_IFACES];
        size_t sent_len[NET_MAX_IFACES];
        unsigned next_id;
        char *record; /* <state dir>/net (record.h): what a kill -9 would leave, for its reclaim */
};

/* Before the VM starts: attaches the namespace's interfaces; the NICs for hv_config in
 * n->nics[0..n->n). A clear error (and nothing left behind) for one that cannot be attached.
 * state_dir is the sandbox's: the record of what is attached (record.h) goes there first, so that
 * what a kill -9 of its owner leaves in the namespace is taken away with the dead state. */
int sandbox_net_prepare(struct sandbox_net *n, enum net_mode mode, bool host_network, const char *state_dir,
                        char **ret_error);
/* Once the agent answers: the guest mirrors every attached interface. */
int sandbox_net_configure(struct sandbox *sb, char **ret_error);
/* The namespace changed (or may have): new interfaces are attached and hot-added, every one is
 * described to the guest again. */
int sandbox_net_sync(struct sandbox *sb, char **ret_error);
/* Takes away what was added to the namespace (the VM is gone or going), and its record. */
void sandbox_net_done(struct sandbox_net *n);
