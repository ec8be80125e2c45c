/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration a command runs with: the file the shim reads too ($HAKO_CONFIG or
 * HAKO_CONFIG_DEFAULT; a missing default file means the built-in defaults), loaded once. The
 * network mode is --net-mode, else the file's [network] mode. */
#include <stdlib.h>

#include "commands.h"
#include "hako-config.h"
#include "log.h"

static struct hako_config config;
static bool loaded;

static int load(void)
{
        char *error = NULL;
        int r;

        if (loaded)
                return 0;
        r = hako_config_load(getenv("HAKO_CONFIG"), &config, &error);
        if (r < 0) {
                log_error("%s", error ? error : "cannot read the configuration");
                free(error);
                return r;
        }
        loaded = true;
        return 0;
}

int cli_net_mode(const struct global_options *g, enum net_mode *ret)
{
        if (g->net_mode) {
                if (net_mode_parse(g->net_mode, ret) < 0) {
                        log_error("invalid --net-mode '%s': tcfilter, macvtap or none", g->net_mode);
                        return 1;
                }
                return 0;
        }
        if (load() < 0)
                return 1;
        *ret = config.net_mode;
        return 0;
}

int cli_tuning(struct sandbox_tuning *ret)
{
        if (load() < 0)
                return 1;
        *ret = hako_config_tuning(&config);
        return 0;
}
