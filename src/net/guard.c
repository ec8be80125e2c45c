/* SPDX-License-Identifier: Apache-2.0 */
#include "guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "macro.h"
#include "netlink.h"

/* Plenty for NET_GUARD_MAX_ADDRS v6 addresses (5 instructions each) and the rest. */
#define PROG_MAX  4096
#define FIXUP_MAX 1024

struct addrs {
        uint32_t v4[NET_GUARD_MAX_ADDRS];
        size_t n4;
        uint32_t v6[NET_GUARD_MAX_ADDRS][4];
        size_t n6;
};

/* A program under construction: jumps to the final allow / deny instructions are patched at the
 * end (their indices in to_allow / to_deny). */
struct prog {
        struct bpf_insn insn[PROG_MAX];
        size_t n;
        size_t to_allow[FIXUP_MAX], n_allow;
        size_t to_deny[FIXUP_MAX], n_deny;
        bool overflow;
};

enum { ALLOW, DENY, NEXT };

/* A 32-bit word as the program loads it from the context (network byte order in memory). */
static uint32_t word(const uint8_t *b)
{
        uint32_t w;
        memcpy(&w, b, 4);
        return w;
}

static size_t emit(struct prog *p, struct bpf_insn i)
{
        if (p->n >= PROG_MAX) {
                p->overflow = true;
                return p->n - 1;
        }
        p->insn[p->n] = i;
        return p->n++;
}

static void ldx_w(struct prog *p, int dst, int src, int16_t off)
{
        emit(p, (struct bpf_insn){
                    .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = dst, .src_reg = src, .off = off});
}

/* if (reg <op> imm) goto target (ALLOW, DENY, or NEXT with a relative skip). */
static void jmp(struct prog *p, uint8_t op, int reg, uint32_t imm, int target, int16_t skip)
{
        size_t at = emit(p, (struct bpf_insn){.code = BPF_JMP32 | op | BPF_K,
                                              .dst_reg = reg,
                                              .imm = (int32_t)imm,
                                              .off = target == NEXT ? skip : 0});
        if (target == ALLOW && p->n_allow < FIXUP_MAX)
                p->to_allow[p->n_allow++] = at;
        else if (target == DENY && p->n_deny < FIXUP_MAX)
                p->to_deny[p->n_deny++] = at;
        else if (target != NEXT)
                p->overflow = true;
}

static void finish(struct prog *p)
{
        size_t allow, deny;

        allow =
            emit(p, (struct bpf_insn){.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1});
        emit(p, (struct bpf_insn){.code = BPF_JMP | BPF_EXIT});
        deny =
            emit(p, (struct bpf_insn){.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0});
        emit(p, (struct bpf_insn){.code = BPF_JMP | BPF_EXIT});
        for (size_t i = 0; i < p->n_allow; i++)
                p->insn[p->to_allow[i]].off = (int16_t)(allow - p->to_allow[i] - 1);
        for (size_t i = 0; i < p->n_deny; i++)
                p->insn[p->to_deny[i]].off = (int16_t)(deny - p->to_deny[i] - 1);
}

/* The checks of an IPv4 address in register ip (and the port in register port). */
static void emit_v4(struct prog *p, int ip, int port, const struct addrs *a,
                    const struct net_guard_allow *allow, size_t n_allow)
{
        static const uint8_t mask8[4] = {0xff, 0, 0, 0}, net127[4] = {127, 0, 0, 0};

        for (size_t i = 0; i < n_allow; i++) {
                if (allow[i].family != AF_INET)
                        continue;
                jmp(p, BPF_JNE, ip, word(allow[i].addr), NEXT, 1);
                jmp(p, BPF_JEQ, port, htons(allow[i].port), ALLOW, 0);
        }
        emit(p, (struct bpf_insn){.code = BPF_ALU | BPF_MOV | BPF_X, .dst_reg = BPF_REG_8, .src_reg = ip});
        emit(p, (struct bpf_insn){
                    .code = BPF_ALU | BPF_AND | BPF_K, .dst_reg = BPF_REG_8, .imm = (int32_t)word(mask8)});
        jmp(p, BPF_JEQ, BPF_REG_8, word(net127), DENY, 0); /* 127.0.0.0/8 */
        jmp(p, BPF_JEQ, BPF_REG_8, 0, DENY, 0);            /* 0.0.0.0/8: this host */
        for (size_t i = 0; i < a->n4; i++)
                jmp(p, BPF_JEQ, ip, a->v4[i], DENY, 0);
}

/* if the four words in r2..r5 are w, goto target (ALLOW / DENY), else on. */
static void match6(struct prog *p, const uint32_t w[4], int target, int port, uint16_t port_value)
{
        int16_t rest = target == ALLOW ? 4 : 3;

        for (int k = 0; k < 3; k++)
                jmp(p, BPF_JNE, BPF_REG_2 + k, w[k], NEXT, (int16_t)(rest - k));
        if (target == ALLOW) {
                jmp(p, BPF_JNE, BPF_REG_5, w[3], NEXT, 1);
                jmp(p, BPF_JEQ, port, htons(port_value), ALLOW, 0);
        } else
                jmp(p, BPF_JEQ, BPF_REG_5, w[3], DENY, 0);
}

static void build4(struct prog *p, const struct addrs *a, const struct net_guard_allow *allow, size_t n_allow)
{
        ldx_w(p, BPF_REG_2, BPF_REG_1, offsetof(struct bpf_sock_addr, user_ip4));
        ldx_w(p, BPF_REG_7, BPF_REG_1, offsetof(struct bpf_sock_addr, user_port));
        emit_v4(p, BPF_REG_2, BPF_REG_7, a, allow, n_allow);
        finish(p);
}

static void build6(struct prog *p, const struct addrs *a, const struct net_guard_allow *allow, size_t n_allow)
{
        static const uint8_t any[16] = {0}, lo[16] = {[15] = 1}, mapped[4] = {0, 0, 0xff, 0xff};
        uint32_t w[4];

        for (int k = 0; k < 4; k++)
                ldx_w(p, BPF_REG_2 + k, BPF_REG_1,
                      (int16_t)(offsetof(struct bpf_sock_addr, user_ip6) + 4 * k));
        ldx_w(p, BPF_REG_7, BPF_REG_1, offsetof(struct bpf_sock_addr, user_port));
        for (size_t i = 0; i < n_allow; i++) {
                if (allow[i].family != AF_INET6)
                        continue;
                for (int k = 0; k < 4; k++)
                        w[k] = word(allow[i].addr + 4 * k);
                match6(p, w, ALLOW, BPF_REG_7, allow[i].port);
        }
        for (int k = 0; k < 4; k++)
                w[k] = word(any + 4 * k);
        match6(p, w, DENY, 0, 0);
        for (int k = 0; k < 4; k++)
                w[k] = word(lo + 4 * k);
        match6(p, w, DENY, 0, 0);
        /* ::ffff:a.b.c.d reaches a.b.c.d (a dual-stack socket) */
        size_t guard[3];
        for (int k = 0; k < 3; k++) {
                guard[k] = p->n;
                jmp(p, BPF_JNE, BPF_REG_2 + k, k < 2 ? 0 : word(mapped), NEXT, 0);
        }
        emit_v4(p, BPF_REG_5, BPF_REG_7, a, allow, n_allow);
        for (int k = 0; k < 3 && !p->overflow; k++)
                p->insn[guard[k]].off = (int16_t)(p->n - guard[k] - 1);
        for (size_t i = 0; i < a->n6; i++)
                match6(p, a->v6[i], DENY, 0, 0);
        finish(p);
}

static int on_addr(const struct nlmsghdr *h, void *userdata)
{
        struct addrs *a = userdata;
        const struct ifaddrmsg *ifa = NLMSG_DATA(h);
        const struct nlattr *tb[IFA_MAX + 1], *at;

        if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
                return 0;
        nla_parse(h, sizeof(*ifa), tb, ELEMENTSOF(tb));
        at = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (!at)
                return 0;
        if (ifa->ifa_family == AF_INET && nla_len(at) == 4) {
                if (a->n4 >= NET_GUARD_MAX_ADDRS)
                        return -E2BIG;
                a->v4[a->n4++] = word(nla_data(at));
        } else if (ifa->ifa_family == AF_INET6 && nla_len(at) == 16) {
                if (a->n6 >= NET_GUARD_MAX_ADDRS)
                        return -E2BIG;
                for (int k = 0; k < 4; k++)
                        a->v6[a->n6][k] = word((const uint8_t *)nla_data(at) + 4 * k);
                a->n6++;
        }
        return 0;
}

static int host_addrs(struct addrs *a)
{
        _cleanup_close_ int fd = -1;
        struct ifaddrmsg ifa = {.ifa_family = AF_UNSPEC};
        struct nlmsg m;
        int r;

        *a = (struct addrs){0};
        r = nl_open(&fd);
        if (r < 0)
                return r;
        nlmsg_init(&m, RTM_GETADDR, 0, &ifa, sizeof(ifa));
        return nl_dump(fd, &m, on_addr, a);
}

static int bpf_call(int cmd, union bpf_attr *a)
{
        long r = syscall(SYS_bpf, cmd, a, sizeof(*a));
        return r < 0 ? negative_errno() : (int)r;
}

static int prog_load(const struct prog *p, enum bpf_attach_type type)
{
        union bpf_attr a = {
            .prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
            .expected_attach_type = type,
            .insns = (uint64_t)(uintptr_t)p->insn,
            .insn_cnt = (uint32_t)p->n,
            .license = (uint64_t)(uintptr_t) "Apache-2.0",
        };
        return bpf_call(BPF_PROG_LOAD, &a);
}

static int link_create(int prog_fd, int cgroup_fd, enum bpf_attach_type type)
{
        union bpf_attr a = {0};

        a.link_create.prog_fd = (uint32_t)prog_fd;
        a.link_create.target_fd = (uint32_t)cgroup_fd;
        a.link_create.attach_type = type;
        return bpf_call(BPF_LINK_CREATE, &a);
}

int net_guard_cgroup2(char *ret, size_t size)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        int r = -ENOENT;
        FILE *f = fopen("/proc/self/mountinfo", "re");

        if (!f)
                return negative_errno();
        while (getline(&line, &cap, f) > 0) {
                char mnt[512], fstype[32];
                const char *sep = strstr(line, " - ");
                if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
                    sscanf(sep + 3, "%31s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
                        continue;
                r = snprintf(ret, size, "%s", mnt) < (int)size ? 0 : -ENAMETOOLONG;
                break;
        }
        fclose(f);
        return r;
}

/* The shared directory, made if needed: its fd (for the links) and its cgroup.procs. */
static int open_dir(int *ret_dir_fd, char *ret_procs, size_t size, char **ret_error)
{
        char mnt[512], dir[600];
        _cleanup_close_ int dir_fd = -1;
        int r;

        r = net_guard_cgroup2(mnt, sizeof(mnt));
        if (r < 0)
                return error_set(ret_error, r, "no cgroup v2 hierarchy is mounted (%s)", strerror(-r));
        snprintf(dir, sizeof(dir), "%s/" NET_GUARD_CGROUP, mnt);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                r = negative_errno();
                return error_set(ret_error, r, "cannot make the cgroup %s: %s", dir, strerror(-r));
        }
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
                r = negative_errno();
                return error_set(ret_error, r, "cannot open the cgroup %s: %s", dir, strerror(-r));
        }
        if (ret_procs) {
                snprintf(ret_procs, size, "%s/cgroup.procs", dir);
                if (access(ret_procs, W_OK) < 0) {
                        r = negative_errno();
                        return error_set(ret_error, r, "cannot write %s: %s", ret_procs, strerror(-r));
                }
        }
        *ret_dir_fd = TAKE_FD(dir_fd);
        return 0;
}

static int guard_open(struct addrs *a, struct prog *p, const struct net_guard_allow *allow, size_t n_allow,
                      struct net_guard *ret, char **ret_error)
{
        static const enum bpf_attach_type types[NET_GUARD_LINKS] = {
            BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_UDP4_SENDMSG, BPF_CGROUP_INET6_CONNECT,
            BPF_CGROUP_UDP6_SENDMSG};
        _cleanup_close_ int dir_fd = -1;
        struct net_guard g = {.links = {-1, -1, -1, -1}};
        int r;

        if (n_allow > NET_GUARD_MAX_ALLOWS)
                return error_set(ret_error, -E2BIG, "more than %d exceptions", NET_GUARD_MAX_ALLOWS);
        r = host_addrs(a);
        if (r < 0)
                return error_set(ret_error, r, "cannot read the host's addresses: %s", strerror(-r));
        r = open_dir(&dir_fd, g.procs, sizeof(g.procs), ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < NET_GUARD_LINKS; i++) {
                *p = (struct prog){0};
                if (i < 2)
                        build4(p, a, allow, n_allow);
                else
                        build6(p, a, allow, n_allow);
                if (p->overflow) {
                        r = error_set(ret_error, -E2BIG, "the address filter is too large");
                        break;
                }
                int prog_fd = prog_load(p, types[i]);
                if (prog_fd < 0) {
                        r = error_set(ret_error, prog_fd, "cannot load the address filter (BPF): %s",
                                      strerror(-prog_fd));
                        break;
                }
                g.links[i] = link_create(prog_fd, dir_fd, types[i]);
                safe_close(prog_fd);
                if (g.links[i] < 0) {
                        r = error_set(ret_error, g.links[i],
                                      "cannot attach the address filter to the cgroup: %s",
                                      strerror(-g.links[i]));
                        break;
                }
        }
        if (r < 0) {
                net_guard_close(&g);
                return r;
        }
        g.n_denied = a->n4 + a->n6;
        *ret = g;
        return 0;
}

int net_guard_open(const struct net_guard_allow *allow, size_t n_allow, struct net_guard *ret,
                   char **ret_error)
{
        struct addrs *a = malloc(sizeof(*a));
        struct prog *p = malloc(sizeof(*p));
        int r = a && p ? guard_open(a, p, allow, n_allow, ret, ret_error) : -ENOMEM;

        free(a);
        free(p);
        return r;
}

int net_guard_enter(const struct net_guard *g)
{
        int fd = open(g->procs, O_WRONLY | O_CLOEXEC), r;

        if (fd < 0)
                return negative_errno();
        r = write(fd, "0", 1) == 1 ? 0 : negative_errno();
        close(fd);
        return r;
}

void net_guard_close(struct net_guard *g)
{
        for (size_t i = 0; i < NET_GUARD_LINKS; i++)
                g->links[i] = safe_close(g->links[i]);
}

int net_guard_probe(char **ret_reason)
{
        _cleanup_close_ int dir_fd = -1, prog_fd = -1, link_fd = -1;
        struct prog *p;
        int r;

        r = open_dir(&dir_fd, NULL, 0, ret_reason);
        if (r < 0)
                return r;
        /* Allows everything: attaching it for a moment changes nothing. */
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        emit(p, (struct bpf_insn){.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1});
        emit(p, (struct bpf_insn){.code = BPF_JMP | BPF_EXIT});
        prog_fd = prog_load(p, BPF_CGROUP_INET4_CONNECT);
        free(p);
        if (prog_fd < 0)
                return error_set(ret_reason, prog_fd, "cannot load a cgroup BPF program: %s",
                                 strerror(-prog_fd));
        link_fd = link_create(prog_fd, dir_fd, BPF_CGROUP_INET4_CONNECT);
        if (link_fd < 0)
                return error_set(ret_reason, link_fd, "cannot attach a BPF program to a cgroup: %s",
                                 strerror(-link_fd));
        return 0;
}
