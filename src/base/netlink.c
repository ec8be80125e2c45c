/* SPDX-License-Identifier: Apache-2.0 */
#include "netlink.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"

/* Dump answers come in multipart messages of a page or so each; this holds a few. */
#define NL_RECV_BUF (64u << 10)

void nlmsg_init(struct nlmsg *m, uint16_t type, uint16_t flags, const void *family_hdr, size_t size)
{
        memset(m, 0, sizeof(m->hdr) + NLMSG_ALIGN(size));
        m->error = 0;
        m->hdr.nlmsg_type = type;
        m->hdr.nlmsg_flags = (uint16_t)(flags | NLM_F_REQUEST);
        m->hdr.nlmsg_len = (uint32_t)NLMSG_LENGTH(size);
        if (size)
                memcpy(NLMSG_DATA(&m->hdr), family_hdr, size);
        m->hdr.nlmsg_len = NLMSG_ALIGN(m->hdr.nlmsg_len);
}

void nla_put(struct nlmsg *m, uint16_t type, const void *data, size_t len)
{
        size_t at = NLMSG_ALIGN(m->hdr.nlmsg_len);
        struct nlattr *a = (struct nlattr *)(m->buf + at);

        if (at + NLA_ALIGN(NLA_HDRLEN + len) > sizeof(m->buf) || NLA_HDRLEN + len > UINT16_MAX) {
                m->error = -E2BIG;
                return;
        }
        a->nla_type = type;
        a->nla_len = (uint16_t)(NLA_HDRLEN + len);
        if (len)
                memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
        memset((uint8_t *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(NLA_HDRLEN + len) - (NLA_HDRLEN + len));
        m->hdr.nlmsg_len = (uint32_t)(at + NLA_ALIGN(NLA_HDRLEN + len));
}

void nla_put_u8(struct nlmsg *m, uint16_t type, uint8_t v)
{
        nla_put(m, type, &v, sizeof(v));
}

void nla_put_u16(struct nlmsg *m, uint16_t type, uint16_t v)
{
        nla_put(m, type, &v, sizeof(v));
}

void nla_put_u32(struct nlmsg *m, uint16_t type, uint32_t v)
{
        nla_put(m, type, &v, sizeof(v));
}

void nla_put_str(struct nlmsg *m, uint16_t type, const char *s)
{
        nla_put(m, type, s, strlen(s) + 1);
}

size_t nla_nest_start(struct nlmsg *m, uint16_t type)
{
        size_t at = NLMSG_ALIGN(m->hdr.nlmsg_len);

        nla_put(m, type | NLA_F_NESTED, NULL, 0);
        return at;
}

void nla_nest_end(struct nlmsg *m, size_t start)
{
        struct nlattr *a = (struct nlattr *)(m->buf + start);

        if (m->error)
                return;
        a->nla_len = (uint16_t)(m->hdr.nlmsg_len - start);
}

static void parse_attrs(const struct nlattr *a, size_t len, const struct nlattr **tb, size_t max)
{
        memset(tb, 0, max * sizeof(*tb));
        while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
                uint16_t type = a->nla_type & NLA_TYPE_MASK;
                if (type < max)
                        tb[type] = a;
                size_t step = NLA_ALIGN(a->nla_len);
                if (step >= len)
                        break;
                len -= step;
                a = (const struct nlattr *)((const uint8_t *)a + step);
        }
}

void nla_parse(const struct nlmsghdr *h, size_t family_size, const struct nlattr **tb, size_t max)
{
        size_t off = NLMSG_LENGTH(NLMSG_ALIGN(family_size));

        if (h->nlmsg_len < off) {
                memset(tb, 0, max * sizeof(*tb));
                return;
        }
        parse_attrs((const struct nlattr *)((const uint8_t *)h + off), h->nlmsg_len - off, tb, max);
}

void nla_parse_nested(const struct nlattr *nest, const struct nlattr **tb, size_t max)
{
        parse_attrs((const struct nlattr *)nla_data(nest), nla_len(nest), tb, max);
}

uint32_t nla_get_u32(const struct nlattr *a)
{
        uint32_t v = 0;

        if (a && nla_len(a) >= sizeof(v))
                memcpy(&v, nla_data(a), sizeof(v));
        return v;
}

int nl_open(int *ret_fd)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        int one = 1;

        if (fd < 0)
                return negative_errno();
        /* Errors come back with just the header of the request, not all of it. */
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static uint32_t next_seq(void)
{
        static uint32_t seq;
        return ++seq;
}

static int send_msg(int fd, struct nlmsg *m)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        ssize_t n;

        if (m->error)
                return m->error;
        m->hdr.nlmsg_seq = next_seq();
        do
                n = sendto(fd, m->buf, m->hdr.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return 0;
}

/* Reads answers to seq until the end (ack, error or NLMSG_DONE), handing data to fn. */
static int recv_answer(int fd, uint32_t seq, int (*fn)(const struct nlmsghdr *h, void *ud), void *ud)
{
        static uint8_t buf[NL_RECV_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
        int result = 0;

        for (;;) {
                ssize_t n;

                do
                        n = recv(fd, buf, sizeof(buf), 0);
                while (n < 0 && errno == EINTR);
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return -ECONNRESET;
                for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, (size_t)n);
                     h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_seq != seq)
                                continue;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                                        return -EBADMSG;
                                return result < 0 ? result : e->error;
                        }
                        if (h->nlmsg_type == NLMSG_DONE)
                                return result;
                        if (fn && result >= 0)
                                result = fn(h, ud);
                        if (!(h->nlmsg_flags & NLM_F_MULTI) && !fn)
                                return result;
                }
        }
}

int nl_call(int fd, struct nlmsg *m)
{
        int r;

        m->hdr.nlmsg_flags |= NLM_F_ACK;
        r = send_msg(fd, m);
        if (r < 0)
                return r;
        return recv_answer(fd, m->hdr.nlmsg_seq, NULL, NULL);
}

int nl_dump(int fd, struct nlmsg *m, int (*fn)(const struct nlmsghdr *h, void *userdata), void *userdata)
{
        int r;

        m->hdr.nlmsg_flags |= NLM_F_DUMP;
        r = send_msg(fd, m);
        if (r < 0)
                return r;
        return recv_answer(fd, m->hdr.nlmsg_seq, fn, userdata);
}

int nl_get(int fd, struct nlmsg *m, int (*fn)(const struct nlmsghdr *h, void *userdata), void *userdata)
{
        int r;

        /* The answer, then the acknowledgement that ends it (or the error instead). */
        m->hdr.nlmsg_flags |= NLM_F_ACK;
        r = send_msg(fd, m);
        if (r < 0)
                return r;
        return recv_answer(fd, m->hdr.nlmsg_seq, fn, userdata);
}
