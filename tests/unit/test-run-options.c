/* SPDX-License-Identifier: Apache-2.0 */
/* `hako run` option parsing and the small parsers behind it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "run-options.h"
#include "tap.h"

static int parse(struct run_options *o, char **err, const char *const *args)
{
        int argc = 0;
        char *argv[32];

        while (args[argc]) {
                argv[argc] = (char *)args[argc];
                argc++;
        }
        argv[argc] = NULL;
        *err = NULL;
        return run_options_parse(argc, argv, o, err);
}

int main(void)
{
        struct run_options o;
        char *err;
        uint64_t sz;
        uint32_t u, g, m;
        int sig, hg;

        /* sizes, cpus, users, signals */
        ok(parse_size("128m", &sz) == 0 && sz == 128ull << 20, "128m");
        ok(parse_size("1G", &sz) == 0 && sz == 1ull << 30, "1G");
        ok(parse_size("64KiB", &sz) == 0 && sz == 64ull << 10, "64KiB");
        ok(parse_size("512", &sz) == 0 && sz == 512, "512");
        ok(parse_size("12x", &sz) < 0, "12x rejected");
        ok(parse_size("", &sz) < 0 && parse_size("-1", &sz) < 0, "empty and negative rejected");
        ok(parse_size("99999999999999999999", &sz) < 0, "overflow rejected");
        ok(parse_size("20000000000t", &sz) < 0, "multiplied overflow rejected");
        ok(parse_cpus("1.5", &m) == 0 && m == 1500, "cpus 1.5");
        ok(parse_cpus("2", &m) == 0 && m == 2000, "cpus 2");
        ok(parse_cpus("0", &m) < 0 && parse_cpus("abc", &m) < 0 && parse_cpus(".", &m) < 0,
           "bad cpus rejected");
        ok(parse_user("1000:100", &u, &g, &hg) == 0 && u == 1000 && g == 100 && hg, "user 1000:100");
        ok(parse_user("7", &u, &g, &hg) == 0 && u == 7 && !hg, "user 7");
        ok(parse_user("root", &u, &g, &hg) < 0 && parse_user("1:", &u, &g, &hg) < 0,
           "non-numeric user rejected");
        ok(parse_signal("KILL", &sig) == 0 && sig == SIGKILL, "KILL");
        ok(parse_signal("sigterm", &sig) == 0 && sig == SIGTERM, "sigterm");
        ok(parse_signal("15", &sig) == 0 && sig == 15, "15");
        ok(parse_signal("RTMIN+2", &sig) == 0 && sig == SIGRTMIN + 2, "RTMIN+2");
        ok(parse_signal("0", &sig) < 0 && parse_signal("65", &sig) < 0 && parse_signal("FOO", &sig) < 0,
           "bad signals rejected");

        /* hako run */
        is_int(
            parse(&o, &err, (const char *[]){"run",  "--rm", "--name",  "c1",     "-e",  "A=1",        "-w",
                                             "/tmp", "-u",   "5:6",     "--cpus", "1.5", "--memory",   "256m",
                                             "-i",   "-t",   "busybox", "sh",     "-c",  "echo -e hi", NULL}),
            0, "a full command line parses");
        ok(o.rm && o.interactive && o.tty && !strcmp(o.name, "c1"), "flags");
        ok(o.c.n_env == 1 && !strcmp(o.c.env[0], "A=1"), "env");
        ok(!strcmp(o.c.cwd, "/tmp") && o.c.has_user && o.c.uid == 5 && o.c.gid == 6, "cwd and user");
        ok(o.c.cpus_milli == 1500 && o.vcpus == 2, "cpus: quota and vCPUs");
        ok(o.c.memory_bytes == 256ull << 20 && o.vm_memory_mib == 256 + RUN_VM_OVERHEAD_MIB,
           "memory: limit and VM size");
        ok(!strcmp(o.image, "busybox") && o.c.n_args == 3 && !strcmp(o.c.args[2], "echo -e hi"),
           "options stop at IMAGE; the command keeps its own flags");
        run_options_done(&o);

        is_int(parse(&o, &err, (const char *[]){"run", "busybox", NULL}), 0, "image alone");
        ok(o.c.args == NULL && o.vcpus == 1 && o.vm_memory_mib == RUN_DEFAULT_VM_MIB, "defaults");
        run_options_done(&o);

        is_int(
            parse(&o, &err, (const char *[]){"run", "-v", "/tmp:/data:ro", "-v", "/:/host", "busybox", NULL}),
            0, "volumes");
        ok(o.c.n_volumes == 2 && o.c.volumes[0].readonly && !o.c.volumes[1].readonly &&
               !strcmp(o.c.volumes[0].container, "/data"),
           "volume modes");
        run_options_done(&o);

        const char *const *bad[] = {
            (const char *[]){"run", NULL},
            (const char *[]){"run", "--rm", NULL},
            (const char *[]){"run", "--bogus", "busybox", NULL},
            (const char *[]){"run", "--name", "a/b", "busybox", NULL},
            (const char *[]){"run", "--name", "..", "busybox", NULL},
            (const char *[]){"run", "-v", "relative:/x", "busybox", NULL},
            (const char *[]){"run", "-v", "/tmp", "busybox", NULL},
            (const char *[]){"run", "-v", "/tmp:/x:rx", "busybox", NULL},
            (const char *[]){"run", "-v", "/no/such/path:/x", "busybox", NULL},
            (const char *[]){"run", "-v", "/tmp:/", "busybox", NULL},
            (const char *[]){"run", "-w", "relative", "busybox", NULL},
            (const char *[]){"run", "-u", "root", "busybox", NULL},
            (const char *[]){"run", "--cpus", "0", "busybox", NULL},
            (const char *[]){"run", "--memory", "1k", "busybox", NULL},
            (const char *[]){"run", "--memory", "lots", "busybox", NULL},
            (const char *[]){"run", "-e", "=x", "busybox", NULL},
            (const char *[]){"run", "--name", NULL},
            (const char *[]){"run", "--machine", "q35", "busybox", NULL},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = parse(&o, &err, bad[i]);
                ok(r == -EINVAL && err && !strchr(err, '\n'), "rejected with a one-line message: %s%s%s",
                   bad[i][1] ? bad[i][1] : "(nothing)", bad[i][1] && bad[i][2] ? " " : "",
                   bad[i][1] && bad[i][2] ? bad[i][2] : "");
                free(err);
        }
        done_testing();
        return exit_status();
}
