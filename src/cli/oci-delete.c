/* SPDX-License-Identifier: Apache-2.0 */
/* hako delete: end a container and remove every trace of it, as `runc delete`. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "control.h"
#include "fileio.h"
#include "log.h"
#include "oci-state.h"
#include "remove.h"
#include "state.h"

#define RELEASE_TIMEOUT_MS 15000

/* Stops the host process (which stops the VM and releases the directory), by request, else by
 * SIGKILL when it does not answer. */
static int shutdown_monitor(const struct oci_state *s)
{
        int r = control_request(s->dir, "shutdown", 10000, NULL);

        if (r < 0 && r != -ESRCH && s->pid > 0)
                kill(s->pid, SIGKILL);
        r = oci_state_wait_released(s->dir, RELEASE_TIMEOUT_MS);
        if (r == -ETIMEDOUT && s->pid > 0) {
                kill(s->pid, SIGKILL);
                r = oci_state_wait_released(s->dir, RELEASE_TIMEOUT_MS);
        }
        return r;
}

int cmd_oci_delete(int argc, char **argv, const struct global_options *g)
{
        static const struct option longopts[] = {{"force", no_argument, NULL, 'f'}, {}};
        _cleanup_free_ char *error = NULL, *warning = NULL;
        const char *root = state_root(g->root);
        struct oci_state s;
        bool force = false;
        int c, r;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+f", longopts, NULL)) != -1) {
                if (c != 'f') {
                        log_error("delete: unknown option '%s'", argv[optind - 1]);
                        return 1;
                }
                force = true;
        }
        if (optind != argc - 1) {
                log_error("delete: usage: hako delete [--force] ID");
                return 1;
        }
        r = oci_state_open(root, argv[optind], &s, &error);
        if (r == -ENOENT && force) {
                state_gc(root);
                return 0; /* runc: forcing the delete of what is not there is not an error */
        }
        if (r < 0) {
                log_error("%s", error ? error : strerror(-r));
                return 1;
        }
        if (!strcmp(s.status, "running") || !strcmp(s.status, "paused")) {
                if (!force) {
                        log_error("cannot delete container %s that is not stopped: %s", s.id, s.status);
                        oci_state_done(&s);
                        return 1;
                }
        }
        if (strcmp(s.status, "stopped") != 0)
                r = shutdown_monitor(&s);
        else
                /* Stopped, but its host process may still be tearing the VM down. */
                r = oci_state_wait_released(s.dir, RELEASE_TIMEOUT_MS);
        if (r >= 0)
                r = oci_remove(root, &s, &warning);
        if (r < 0) {
                log_error_errno(r, "cannot delete container %s: %m", s.id);
                oci_state_done(&s);
                return 1;
        }
        if (warning)
                log_warning("poststop hook: %s", warning);
        oci_state_done(&s);
        /* What other dead owners left under the root goes too (a killed `hako run`'s user network
         * directory, a killed create's half-made state), as every create and list does. */
        state_gc(root);
        return 0;
}
