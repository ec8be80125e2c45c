/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

enum image_kind {
        IMAGE_BUILTIN, /* the busybox image hako assembles from the host's busybox-static */
        IMAGE_BUNDLE,  /* an OCI bundle: config.json + rootfs */
        IMAGE_ROOTFS,  /* a plain root filesystem directory */
};

struct image {
        enum image_kind kind;
        char *rootfs;     /* host path of the root filesystem */
        char *bundle_dir; /* IMAGE_BUNDLE only */
};

#define IMAGE_ROOT_DEFAULT "/var/lib/hako/images"
#define BUSYBOX_STATIC     "/bin/busybox"

/* Resolves IMAGE as the CLI takes it; assembles the busybox image on first use. */
int image_resolve(const char *name, struct image *ret, char **ret_error);
void image_done(struct image *img);
