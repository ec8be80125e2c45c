/* SPDX-License-Identifier: Apache-2.0 */
/* hako stop [-t SECS] ID...: SIGTERM to the container's process, SIGKILL once SECS (default 10)
 * have passed, as `docker stop`; then waits until it has stopped. A stopped container is no
 * error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "control.h"
#include "log.h"
#include "oci-state.h"
#include "parse.h"
#include "state.h"

#define STOP_DEFAULT_SECS  10
#define STOP_MAX_SECS      86400
#define KILL_WAIT_MS       15000
#define CONTROL_TIMEOUT_MS 10000

/* Through the host process's control socket; a container of an attached `hako run` has none,
 * and its `hako run` forwards the signal (SIGKILL takes the VM with it). */
static int send_signal(const struct oci_state *s, int sig)
{
        char req[32];
        int r;

        snprintf(req, sizeof(req), "kill %d 0", sig);
        r = control_request(s->dir, req, CONTROL_TIMEOUT_MS, NULL);
        if (r < 0 && s->pid > 0 && (r == -ESRCH || r == -ENOENT || sig == SIGKILL))
                r = kill(s->pid, sig) < 0 ? -errno : 0;
        return r;
}

int cli_stop(const char *root, const char *id, unsigned secs)
{
        struct oci_state s;
        int r = oci_state_load(root, id, &s);

        if (r == -ENOENT || r == -EINVAL) {
                log_error("no such container: %s", id);
                return r;
        }
        if (r < 0)
                return log_error_errno(r, "cannot stop container %s: %m", id);
        if (strcmp(s.status, "stopped") != 0) {
                /* Not deliverable (a paused container takes only SIGKILL): no point waiting. */
                r = send_signal(&s, SIGTERM) < 0 ? -ETIMEDOUT
                                                 : oci_state_wait_released(s.dir, (int)secs * 1000);
                if (r == -ETIMEDOUT) {
                        (void)send_signal(&s, SIGKILL);
                        r = oci_state_wait_released(s.dir, KILL_WAIT_MS);
                }
                if (r == -ETIMEDOUT && s.pid > 0) {
                        /* Its host process does not answer: it goes, and its VM with it. */
                        (void)kill(s.pid, SIGKILL);
                        r = oci_state_wait_released(s.dir, KILL_WAIT_MS);
                }
        }
        oci_state_done(&s);
        if (r < 0)
                return log_error_errno(r, "cannot stop container %s: %m", id);
        return 0;
}

int cmd_stop(int argc, char **argv, const struct global_options *g)
{
        static const struct option longopts[] = {{"time", required_argument, NULL, 't'}, {}};
        uint32_t secs = STOP_DEFAULT_SECS;
        int c, ret = 0;

        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+t:", longopts, NULL)) != -1) {
                if (c != 't') {
                        log_error("stop: unknown option '%s' (usage: hako stop [-t SECONDS] ID...)",
                                  argv[optind - 1]);
                        return 1;
                }
                if (parse_uint32(optarg, &secs) < 0 || secs > STOP_MAX_SECS) {
                        log_error("stop: invalid time '%s': seconds, 0-%d", optarg, STOP_MAX_SECS);
                        return 1;
                }
        }
        if (optind >= argc) {
                log_error("stop: usage: hako stop [-t SECONDS] ID...");
                return 1;
        }
        for (int i = optind; i < argc; i++) {
                if (cli_stop(state_root(g->root), argv[i], secs) < 0)
                        ret = 1;
                else
                        printf("%s\n", argv[i]);
        }
        return ret;
}
