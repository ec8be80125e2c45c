/* SPDX-License-Identifier: Apache-2.0 */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"

int parse_uint32(const char *s, uint32_t *ret)
{
        char *end;
        unsigned long long v;

        if (!s || !isdigit((unsigned char)*s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;
        uint64_t mult = 1;

        if (!s || !isdigit((unsigned char)*s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -ERANGE;
        switch (tolower((unsigned char)*end)) {
        case 0:
                break;
        case 'b':
                end++;
                break;
        case 'k':
                mult = 1ull << 10;
                end++;
                break;
        case 'm':
                mult = 1ull << 20;
                end++;
                break;
        case 'g':
                mult = 1ull << 30;
                end++;
                break;
        case 't':
                mult = 1ull << 40;
                end++;
                break;
        default:
                return -EINVAL;
        }
        if (mult > 1 && (!strcasecmp(end, "ib") || !strcasecmp(end, "b")))
                end += strlen(end);
        if (*end)
                return -EINVAL;
        if (v > UINT64_MAX / mult)
                return -ERANGE;
        *ret = v * mult;
        return 0;
}

int parse_cpus(const char *s, uint32_t *ret_millis)
{
        uint64_t whole = 0, frac = 0, scale = 1000;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        for (; isdigit((unsigned char)*p); p++) {
                whole = whole * 10 + (uint64_t)(*p - '0');
                if (whole > 1024)
                        return -ERANGE;
        }
        if (*p == '.') {
                p++;
                for (; isdigit((unsigned char)*p); p++) {
                        if (scale > 1) {
                                scale /= 10;
                                frac += (uint64_t)(*p - '0') * scale;
                        }
                }
        }
        if (*p || p == s)
                return -EINVAL;
        uint64_t m = whole * 1000 + frac;
        if (m == 0)
                return -ERANGE;
        *ret_millis = (uint32_t)m;
        return 0;
}

int parse_user(const char *s, uint32_t *ret_uid, uint32_t *ret_gid, int *ret_has_gid)
{
        _cleanup_free_ char *copy = strdup(s ? s : "");
        uint32_t uid, gid = 0;
        int r;

        if (!copy)
                return -ENOMEM;
        char *colon = strchr(copy, ':');
        if (colon)
                *colon = 0;
        r = parse_uint32(copy, &uid);
        if (r < 0)
                return -EINVAL;
        if (colon) {
                r = parse_uint32(colon + 1, &gid);
                if (r < 0)
                        return -EINVAL;
        }
        *ret_uid = uid;
        *ret_gid = gid;
        *ret_has_gid = colon != NULL;
        return 0;
}

static const struct {
        const char *name;
        int sig;
} signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

int parse_signal(const char *s, int *ret)
{
        uint32_t n;

        if (!s || !*s)
                return -EINVAL;
        if (parse_uint32(s, &n) == 0) {
                if (n < 1 || n > 64)
                        return -EINVAL;
                *ret = (int)n;
                return 0;
        }
        if (!strncasecmp(s, "SIG", 3))
                s += 3;
        for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
                if (!strcasecmp(s, signal_names[i].name)) {
                        *ret = signal_names[i].sig;
                        return 0;
                }
        if (!strncasecmp(s, "RTMIN", 5) || !strncasecmp(s, "RTMAX", 5)) {
                int base = !strncasecmp(s, "RTMIN", 5) ? SIGRTMIN : SIGRTMAX;
                int off = 0;
                if (s[5]) {
                        if ((s[5] != '+' && s[5] != '-') || parse_uint32(s + 6, &n) < 0)
                                return -EINVAL;
                        off = s[5] == '+' ? (int)n : -(int)n;
                }
                if (base + off < SIGRTMIN || base + off > SIGRTMAX)
                        return -EINVAL;
                *ret = base + off;
                return 0;
        }
        return -EINVAL;
}

void format_mac(const uint8_t mac[6], char ret[18])
{
        snprintf(ret, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int parse_mac(const char *s, uint8_t ret[6])
{
        unsigned v[6];
        int n = 0;

        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &n) != 6 ||
            s[n] != 0)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                ret[i] = (uint8_t)v[i];
        return 0;
}
