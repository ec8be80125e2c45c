/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared constants of the host <-> agent protocol. */

#define HAKO_AGENT_SERVICE  "hako.agent.v1.Agent"
#define HAKO_AGENT_PROTOCOL 5

/* virtio-serial port name and vsock port the agent listens on. */
#define HAKO_AGENT_PORT_NAME  "hako.agent"
#define HAKO_AGENT_VSOCK_PORT 1024

/* Bounds every peer is held to. A frame over HAKO_TTRPC_MAX_FRAME is refused; a decoded message
 * may not use more than HAKO_TTRPC_ARENA bytes of memory. */
#define HAKO_TTRPC_MAX_FRAME   (1u << 20)
#define HAKO_TTRPC_ARENA       (4u << 20)
#define HAKO_MAX_ID_LEN        64
#define HAKO_MAX_STREAM_CHUNK  (256u << 10)
#define HAKO_MAX_CONTAINERS    64
#define HAKO_MAX_PROCESSES     256
#define HAKO_MAX_PENDING       128
#define HAKO_MAX_RESOURCES_LEN (64u << 10) /* UpdateContainer's JSON */
#define HAKO_MAX_LIST_PIDS     4096
#define HAKO_MAX_STAT_KEYS     64
#define HAKO_MAX_IO_DEVICES    32
#define HAKO_MAX_OOM_EVENTS    64 /* queued in the guest until the host asks */
#define HAKO_MAX_NET_SYSCTLS   64
#define HAKO_MAX_SCRATCH_DIRS  8
#define HAKO_MAX_DNS_SERVERS   4    /* loopback nameservers relayed */
#define HAKO_MAX_DNS_QUERIES   64   /* in flight; the oldest is dropped for a new one */
#define HAKO_MAX_DNS_MESSAGE   4096 /* a query or an answer over UDP (EDNS's usual ceiling) */
#define HAKO_MAX_NET_ADDRS     16
#define HAKO_MAX_NET_ROUTES    64
#define HAKO_MAX_NET_NEIGHS    64

/* Guest paths. The virtio-fs share (tag HAKO_SHARED_TAG) is mounted at HAKO_GUEST_SHARED_DIR;
 * a container's bundle lives in HAKO_GUEST_CONTAINERS_DIR/<id>, its rootfs at .../<id>/rootfs. */
#define HAKO_SHARED_TAG           "hakoshared"
#define HAKO_GUEST_SHARED_DIR     "/run/hako/shared"
#define HAKO_GUEST_CONTAINERS_DIR "/run/hako/c"
/* The scratch disk (storage driver "ext4", source: the virtio-blk serial) is mounted here; a
 * container's writable layer and scratch directories live in HAKO_GUEST_DISK_DIR/<id>/. */
#define HAKO_GUEST_DISK_DIR "/run/hako/disk"
