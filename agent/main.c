/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "macro.h"

/* hako-agent: PID 1 of the guest. Sets the system up, then serves the host over ttRPC. */

static _noreturn_ void die(void)
{
        /* PID 1 must not exit (the kernel would panic with a less useful message). A reboot ends
         * the VM at once under QEMU's -no-reboot, so the host notices; power-off can hang without
         * ACPI. */
        sync();
        reboot(RB_AUTOBOOT);
        for (;;)
                pause();
}

int main(int argc, char **argv)
{
        struct agent_config cfg;
        int fd = -1, r;

        log_set_prefix("hako-agent");
        /* --reexec FD: the same guest, set up already; serve the host on the inherited channel. */
        if (argc == 3 && !strcmp(argv[1], "--reexec")) {
                fd = atoi(argv[2]);
                if (fd < 3 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                        die();
        } else if (getpid() == 1) {
                r = agent_init_system();
                if (r < 0) {
                        log_error_errno(r, "early setup failed: %m");
                        die();
                }
        }
        agent_init_parse_cmdline(&cfg);
        log_set_level(cfg.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
        setvbuf(stderr, NULL, _IOLBF, 0);

        /* A host gone mid-write must give us EPIPE, not kill PID 1. */
        signal(SIGPIPE, SIG_IGN);

        agent_policy_load();
        r = agent_evloop_init();
        if (r >= 0)
                r = agent_server_init();
        if (r < 0) {
                log_error_errno(r, "setup: %m");
                die();
        }
        if (fd >= 0) {
                agent_server_attach(fd, true);
                r = 0;
        } else if (cfg.vsock) {
                r = agent_transport_listen_vsock(&fd);
                if (r >= 0)
                        agent_server_set_listener(fd);
        } else {
                r = agent_transport_open_serial(&fd);
                if (r >= 0)
                        agent_server_attach(fd, true);
        }
        if (r < 0) {
                log_error_errno(r, "opening the host channel: %m");
                die();
        }
        log_debug("ready");
        r = agent_evloop_run();
        log_error_errno(r, "event loop: %m");
        die();
}
