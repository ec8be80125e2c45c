/* SPDX-License-Identifier: Apache-2.0 */
/* hako spec: write a starter config.json, as `runc spec`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "macro.h"
#include "spec.h"

int cmd_oci_spec(int argc, char **argv, const struct global_options *g)
{
        static const struct option longopts[] = {
            {"bundle", required_argument, NULL, 'b'}, {"rootless", no_argument, NULL, 'r'}, {}};
        _cleanup_free_ char *path = NULL, *out = NULL;
        _cleanup_close_ int fd = -1;
        const char *bundle = ".";
        json_t *spec;
        int c;
        (void)g;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+b:", longopts, NULL)) != -1) {
                if (c == 'b')
                        bundle = optarg;
                else if (c != 'r') {
                        log_error("spec: unknown option '%s'", argv[optind - 1]);
                        return 1;
                }
        }
        if (asprintf(&path, "%s/config.json", bundle) < 0)
                return 1;
        spec = spec_default();
        if (!spec)
                return 1;
        /* runc's defaults: an interactive shell on a terminal, a read-only rootfs. */
        json_object_set_new(json_object_get(spec, "process"), "terminal", json_true());
        json_object_set_new(json_object_get(spec, "root"), "readonly", json_true());
        json_object_set_new(spec, "hostname", json_string("hako"));
        out = json_dumps(spec, JSON_INDENT(8) | JSON_PRESERVE_ORDER);
        json_decref(spec);
        if (!out)
                return 1;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
                if (errno == EEXIST)
                        log_error("File %s exists. Remove it first", path);
                else
                        log_error_errno(-errno, "cannot write %s: %m", path);
                return 1;
        }
        if (write(fd, out, strlen(out)) != (ssize_t)strlen(out)) {
                log_error_errno(-errno, "cannot write %s: %m", path);
                return 1;
        }
        return 0;
}
