/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent-protocol.h"

/* The host end of the guest's DNS relay (agent/dns.c): a container whose resolv.conf names a
 * loopback nameserver (Docker's embedded resolver, 127.0.0.11) means one in its network
 * namespace on the host, where the sandbox's owner runs. The guest answers port 53 on that
 * address and hands each query up; the owner sends it to the same address and port here and
 * passes the answer back. The guest picks nothing: queries go only to the addresses the
 * caller's resolv.conf named, port 53. */

struct sandbox;
struct pollset;

struct dns_server {
        int family;
        uint8_t addr[16];
};

struct dns_inflight {
        struct sandbox *sb;
        int fd; /* connected to the nameserver; -1: free */
        uint32_t id;
        long long deadline;
};

struct dns_relay {
        struct dns_server servers[HAKO_MAX_DNS_SERVERS];
        size_t n_servers;
        bool waiting; /* a NextDNSQuery is parked in the guest */
        struct dns_inflight q[HAKO_MAX_DNS_QUERIES];
};

struct container;

/* The host file a spec bind-mounts on /etc/resolv.conf (found through the sandbox's shares);
 * *ret = NULL when there is none. */
int dns_relay_resolv_conf(struct sandbox *sb, json_t *spec, char **ret);
/* Reads the resolv.conf of c (NULL: of every container; the caller may write it late, as
 * Docker's libnetwork does in its hook): the guest answers for the loopback nameservers in it
 * from now on. */
int sandbox_dns_refresh(struct sandbox *sb, struct container *c, char **ret_error);
/* The queries waiting for an answer, for the owner's loop (sandbox_poll_add calls it). */
void sandbox_dns_poll_add(struct sandbox *sb, struct pollset *ps);
void sandbox_dns_done(struct sandbox *sb);
