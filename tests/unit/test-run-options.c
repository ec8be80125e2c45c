/* SPDX-License-Identifier: Apache-2.0 */
/* `hako run` option parsing and the small parsers behind it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

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

        /* networking */
        is_int(parse(&o, &err, (const char *[]){"run", "busybox", NULL}), 0, "no --network");
        ok(o.network == RUN_NET_USER && o.n_publish == 0, "the user network is the default");
        run_options_done(&o);
        is_int(parse(&o, &err, (const char *[]){"run", "--network", "none", "busybox", NULL}), 0,
               "--network none");
        ok(o.network == RUN_NET_NONE, "none");
        run_options_done(&o);
        is_int(parse(&o, &err, (const char *[]){"run", "--net", "ns:/var/run/netns/x", "busybox", NULL}), 0,
               "--net ns:PATH");
        ok(o.network == RUN_NET_NS && !strcmp(o.netns_path, "/var/run/netns/x"), "ns: path");
        run_options_done(&o);
        is_int(parse(&o, &err,
                     (const char *[]){"run", "-p", "8080:80", "--publish", "127.0.0.1:5353:53/udp", "-p",
                                      "[::1]:8443:443/tcp", "-p", "9000:9000/udp", "-p", "9000:9000",
                                      "busybox", NULL}),
               0, "-p, --publish");
        {
                struct net_publish *p = o.publish;
                uint8_t lo4[4], lo6[16];
                inet_pton(AF_INET, "127.0.0.1", lo4);
                inet_pton(AF_INET6, "::1", lo6);
                ok(o.n_publish == 5, "five ports");
                ok(p[0].family == AF_UNSPEC && p[0].host_port == 8080 && p[0].container_port == 80 &&
                       !p[0].udp,
                   "HOST:CTR is tcp on every address");
                ok(p[1].family == AF_INET && !memcmp(p[1].addr, lo4, 4) && p[1].host_port == 5353 &&
                       p[1].container_port == 53 && p[1].udp,
                   "IPv4:HOST:CTR/udp");
                ok(p[2].family == AF_INET6 && !memcmp(p[2].addr, lo6, 16) && p[2].host_port == 8443 &&
                       !p[2].udp,
                   "[IPv6]:HOST:CTR/tcp");
                ok(p[3].udp && !p[4].udp, "the same port for udp and tcp");
        }
        run_options_done(&o);
        {
                char arg[16];
                const char *args[2 * NET_PUBLISH_MAX + 8] = {"run"};
                int n = 1;
                for (int i = 0; i <= NET_PUBLISH_MAX; i++) {
                        snprintf(arg, sizeof(arg), "%d:1", 1000 + i);
                        args[n++] = "-p";
                        args[n++] = strdup(arg);
                }
                args[n++] = "busybox";
                args[n] = NULL;
                char *argv2[2 * NET_PUBLISH_MAX + 8];
                for (int i = 0; i <= n; i++)
                        argv2[i] = (char *)args[i];
                err = NULL;
                int r = run_options_parse(n, argv2, &o, &err);
                ok(r == -E2BIG && err, "at most %d -p: %s", NET_PUBLISH_MAX, err ? err : "");
                free(err);
                for (int i = 2; i < n - 1; i += 2)
                        free(argv2[i]);
        }

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
            (const char *[]){"run", "-p", "80", "busybox", NULL},
            (const char *[]){"run", "-p", "0:80", "busybox", NULL},
            (const char *[]){"run", "-p", "8080:70000", "busybox", NULL},
            (const char *[]){"run", "-p", "8080:80/sctp", "busybox", NULL},
            (const char *[]){"run", "-p", "1.2.3:8080:80", "busybox", NULL},
            (const char *[]){"run", "-p", "1.2.3.4::80", "busybox", NULL},
            (const char *[]){"run", "-p", "[::1:8080:80", "busybox", NULL},
            (const char *[]){"run", "-p", "a:b", "busybox", NULL},
            (const char *[]){"run", "-p", "+80:80", "busybox", NULL},
            (const char *[]){"run", "--network", "host", "busybox", NULL},
            (const char *[]){"run", "--network", "bridge", "busybox", NULL},
            (const char *[]){"run", "--network", "ns:", "busybox", NULL},
            (const char *[]){"run", "--network", "ns:relative", "busybox", NULL},
            (const char *[]){"run", "--network", "none", "-p", "80:80", "busybox", NULL},
            (const char *[]){"run", "-p", "80:80", "-p", "80:81", "busybox", NULL},
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
