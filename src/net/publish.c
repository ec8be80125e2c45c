/* SPDX-License-Identifier: Apache-2.0 */
#include "publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "macro.h"

static int parse_port(const char *s, uint16_t *ret)
{
        char *end;
        unsigned long v;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v == 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t)v;
        return 0;
}

int net_publish_parse(const char *spec, struct net_publish *ret, char **ret_error)
{
        struct net_publish p = {.family = AF_UNSPEC};
        char copy[128], *host, *ctr, *proto, *ip = NULL;

        if (strlen(spec) >= sizeof(copy))
                return error_set(ret_error, -EINVAL, "invalid port '%.32s...': too long", spec);
        strcpy(copy, spec);
        proto = strrchr(copy, '/');
        if (proto) {
                *proto++ = 0;
                if (!strcmp(proto, "udp"))
                        p.udp = true;
                else if (strcmp(proto, "tcp") != 0)
                        return error_set(ret_error, -EINVAL, "invalid port '%s': the protocol is tcp or udp",
                                         spec);
        }
        host = copy;
        if (host[0] == '[') { /* [IPv6]:HOST:CTR */
                char *close = strchr(host, ']');
                if (!close || close[1] != ':')
                        return error_set(ret_error, -EINVAL, "invalid port '%s': expected [IPv6]:HOST:CTR",
                                         spec);
                *close = 0;
                ip = host + 1;
                host = close + 2;
                p.family = AF_INET6;
        }
        ctr = strrchr(host, ':');
        if (!ctr)
                return error_set(ret_error, -EINVAL,
                                 "invalid port '%s': expected [IP:]HOST:CONTAINER[/tcp|/udp] (both ports)",
                                 spec);
        *ctr++ = 0;
        if (!ip) {
                char *sep = strrchr(host, ':');
                if (sep) { /* IPv4:HOST */
                        *sep = 0;
                        ip = host;
                        host = sep + 1;
                        p.family = AF_INET;
                }
        }
        if (ip && inet_pton(p.family, ip, p.addr) != 1)
                return error_set(ret_error, -EINVAL, "invalid port '%s': '%s' is not an IP%s address", spec,
                                 ip, p.family == AF_INET6 ? "v6" : "v4");
        if (parse_port(host, &p.host_port) < 0 || parse_port(ctr, &p.container_port) < 0)
                return error_set(ret_error, -EINVAL, "invalid port '%s': ports are numbers from 1 to 65535",
                                 spec);
        *ret = p;
        return 0;
}
