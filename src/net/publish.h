/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* A published port (`hako run -p [IP:]HOST:CTR[/tcp|/udp]`): connections to HOST on the host
 * (on IP only, when given) reach CTR in the container through the user network. */

#define NET_PUBLISH_MAX 64

struct net_publish {
        int family; /* AF_UNSPEC: every address of the host; AF_INET/AF_INET6: addr only */
        uint8_t addr[16];
        uint16_t host_port, container_port;
        bool udp;
};

/* "8080:80", "127.0.0.1:8080:80/tcp", "[::1]:5353:53/udp". -EINVAL with a one-line message. */
int net_publish_parse(const char *spec, struct net_publish *ret, char **ret_error);
