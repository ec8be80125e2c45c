/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

/* "512", "64k", "128m", "2g" (also "128M", "128MiB", "128mb") → bytes. */
int parse_size(const char *s, uint64_t *ret);
/* A decimal unsigned number that fits in 32 bits. */
int parse_uint32(const char *s, uint32_t *ret);
/* "2", "1.5", "0.25" → millicpus. */
int parse_cpus(const char *s, uint32_t *ret_millis);
/* "UID[:GID]" numeric. */
int parse_user(const char *s, uint32_t *ret_uid, uint32_t *ret_gid, int *ret_has_gid);
/* "9", "KILL", "SIGKILL", "sigkill" → 9. */
int parse_signal(const char *s, int *ret);
/* "aa:bb:cc:dd:ee:ff" ⇄ 6 bytes. */
void format_mac(const uint8_t mac[6], char ret[18]);
int parse_mac(const char *s, uint8_t ret[6]);
