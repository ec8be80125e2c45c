/* SPDX-License-Identifier: Apache-2.0 */
/* Agent round trip: boots one sandbox and times N Health calls over the real channel
 * (virtio-serial here). Prints median and p99 in microseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent-client.h"
#include "sandbox.h"
#include "state.h"

static int cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 1000;
        char id[13], *err = NULL;
        struct sandbox *sb;
        struct arena a;
        double *t;

        if (n < 1 || n > 1000000)
                return 2;
        t = calloc((size_t)n, sizeof(*t));
        state_new_id(id);
        struct sandbox_config cfg = {.id = id, .vcpus = 1, .memory_mib = 128, .boot_timeout_ms = 60000};
        if (!t || sandbox_create(&cfg, &sb, &err) < 0) {
                fprintf(stderr, "agent-rtt: cannot boot: %s\n", err ? err : "?");
                return 1;
        }
        arena_init(&a, (size_t)64 * 1024);
        for (int i = 0; i < n; i++) {
                Hako__Agent__V1__HealthRequest req = HAKO__AGENT__V1__HEALTH_REQUEST__INIT;
                ProtobufCMessage *resp;
                arena_reset(&a);
                double t0 = now_us();
                if (agent_call(&sb->agent, "Health", &req.base, &hako__agent__v1__health_response__descriptor,
                               10000, &a, &resp, NULL) < 0) {
                        fprintf(stderr, "agent-rtt: call %d failed\n", i);
                        sandbox_destroy(sb, false);
                        return 1;
                }
                t[i] = now_us() - t0;
        }
        qsort(t, (size_t)n, sizeof(*t), cmp);
        printf("agent Health round trip over virtio-serial: n=%d median=%.0f us p99=%.0f us min=%.0f us\n", n,
               t[n / 2], t[(int)(n * 0.99)], t[0]);
        arena_done(&a);
        sandbox_destroy(sb, false);
        free(t);
        return 0;
}
