/* SPDX-License-Identifier: Apache-2.0 */
/* The network mode a command uses: --net-mode, else the configuration's [network] mode (the same
 * file the shim reads, $HAKO_CONFIG or HAKO_CONFIG_DEFAULT; a missing default file means the
 * built-in default, tcfilter). */
#include <stdlib.h>

#include "commands.h"
#include "hako-config.h"
#include "log.h"

int cli_net_mode(const struct global_options *g, enum net_mode *ret)
{
        struct hako_config cfg;
        char *error = NULL;
        int r;

        if (g->net_mode) {
                if (net_mode_parse(g->net_mode, ret) < 0) {
                        log_error("invalid --net-mode '%s': tcfilter, macvtap or none", g->net_mode);
                        return 1;
                }
                return 0;
        }
        r = hako_config_load(getenv("HAKO_CONFIG"), &cfg, &error);
        if (r < 0) {
                log_error("%s", error ? error : "cannot read the configuration");
                free(error);
                return 1;
        }
        *ret = cfg.net_mode;
        hako_config_done(&cfg);
        return 0;
}
