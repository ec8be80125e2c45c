/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Just enough rtnetlink for hako's two sides (the host reads a container's network namespace and
 * sets up taps and tc; the agent configures the guest's interfaces): build a request with its
 * attributes, send it and wait for the kernel's acknowledgement, or walk a dump. No library: the
 * agent is static, and Debian has no static libmnl. */

#define NLMSG_MAX 8192

struct nlmsg {
        union {
                struct nlmsghdr hdr;
                uint8_t buf[NLMSG_MAX];
        };
        int error; /* sticky: an attribute that did not fit */
};

/* type (RTM_NEWLINK, ...), flags (NLM_F_REQUEST is added), the family header and its size. */
void nlmsg_init(struct nlmsg *m, uint16_t type, uint16_t flags, const void *family_hdr, size_t size);
void nla_put(struct nlmsg *m, uint16_t type, const void *data, size_t len);
void nla_put_u8(struct nlmsg *m, uint16_t type, uint8_t v);
void nla_put_u16(struct nlmsg *m, uint16_t type, uint16_t v);
void nla_put_u32(struct nlmsg *m, uint16_t type, uint32_t v);
void nla_put_str(struct nlmsg *m, uint16_t type, const char *s);
/* A nested attribute: its offset, to close with nla_nest_end. */
size_t nla_nest_start(struct nlmsg *m, uint16_t type);
void nla_nest_end(struct nlmsg *m, size_t start);

/* The attributes of a message after its family header, by type (NULL: absent; the last wins). */
void nla_parse(const struct nlmsghdr *h, size_t family_size, const struct nlattr **tb, size_t max);
/* The same for the payload of a nested attribute. */
void nla_parse_nested(const struct nlattr *nest, const struct nlattr **tb, size_t max);
static inline const void *nla_data(const struct nlattr *a)
{
        return (const uint8_t *)a + NLA_HDRLEN;
}
static inline size_t nla_len(const struct nlattr *a)
{
        return a->nla_len > NLA_HDRLEN ? a->nla_len - NLA_HDRLEN : 0;
}
uint32_t nla_get_u32(const struct nlattr *a); /* 0 for a short attribute */

/* A NETLINK_ROUTE socket of the calling thread's network namespace. */
int nl_open(int *ret_fd);
/* Sends m (with NLM_F_ACK) and waits for the kernel's answer: 0 or its -errno. */
int nl_call(int fd, struct nlmsg *m);
/* Sends a request for one object (RTM_GETLINK by name, ...) and calls fn for the answer. */
int nl_get(int fd, struct nlmsg *m, int (*fn)(const struct nlmsghdr *h, void *userdata), void *userdata);
/* Sends a dump request and calls fn for every message of the answer; fn returning < 0 stops
 * (the rest is read and dropped) and is returned. */
int nl_dump(int fd, struct nlmsg *m, int (*fn)(const struct nlmsghdr *h, void *userdata), void *userdata);
