/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "hv.h"

struct global_options {
        const char *root; /* state root; NULL: $HAKO_ROOT or /run/hako */
        enum hv_accel accel;
        int boot_timeout_ms;
        bool debug;
};

int cmd_run(int argc, char **argv, const struct global_options *g);
int cmd_check(int argc, char **argv, const struct global_options *g);
int cmd_version(int argc, char **argv, const struct global_options *g);
int cmd_rm(int argc, char **argv, const struct global_options *g);
int cmd_ps(int argc, char **argv, const struct global_options *g);
