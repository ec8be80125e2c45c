/* SPDX-License-Identifier: Apache-2.0 */
/* `hako run` option parsing and the small parsers behind it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "caps.h"
#include "parse.h"
#include "run-options.h"
#include "seccomp-profile.h"
#include "tap.h"

/* Whether a spec's seccomp object allows a syscall unconditionally (a rule without args). */
static bool rule_allows(json_t *seccomp, const char *name)
{
        size_t i, j;
        json_t *rule, *n;

        json_array_foreach(json_object_get(seccomp, "syscalls"), i, rule)
        {
                if (strcmp(json_string_value(json_object_get(rule, "action")) ?: "", "SCMP_ACT_ALLOW") != 0 ||
                    json_object_get(rule, "args"))
                        continue;
                json_array_foreach(json_object_get(rule, "names"), j, n)
                {
                        if (!strcmp(json_string_value(n), name))
                                return true;
                }
        }
        return false;
}

static json_t *security_spec(const struct spec_security *sec, uint32_t uid, char **err)
{
        json_t *spec = spec_default();

        json_object_set_new(json_object_get(json_object_get(spec, "process"), "user"), "uid",
                            json_integer(uid));
        *err = NULL;
        if (spec_apply_security(spec, sec, err) < 0) {
                json_decref(spec);
                return NULL;
        }
        return spec;
}

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

        /* Docker's security flags */
        is_int(parse(&o, &err,
                     (const char *[]){"run", "--cap-add", "sys_admin", "--cap-add", "CAP_NET_ADMIN",
                                      "--cap-drop", "net_raw", "--privileged", "--security-opt",
                                      "no-new-privileges", "--security-opt", "seccomp=unconfined", "--init",
                                      "--read-only", "-d", "busybox", NULL}),
               0, "security flags parse");
        ok(o.sec.cap_add == ((UINT64_C(1) << 21) | (UINT64_C(1) << 12)) && o.sec.cap_drop == UINT64_C(1)
                                                                                                 << 13,
           "--cap-add/--cap-drop: any case, with or without CAP_");
        ok(o.sec.privileged && o.sec.no_new_privileges && o.sec.seccomp == SPEC_SECCOMP_UNCONFINED &&
               o.sec.init && o.sec.read_only && o.detach,
           "--privileged, --security-opt, --init, --read-only, -d");
        run_options_done(&o);
        is_int(parse(&o, &err, (const char *[]){"run", "busybox", NULL}), 0, "no security flags");
        ok(o.sec.seccomp == SPEC_SECCOMP_DEFAULT && o.sec.docker_caps && !o.sec.no_new_privileges,
           "Docker's default profile and capabilities by default");
        run_options_done(&o);
        is_int(parse(&o, &err,
                     (const char *[]){"run", "--security-opt", "no-new-privileges=false", "--security-opt",
                                      "label=disable", "--security-opt", "apparmor:unconfined", "--cap-add",
                                      "all", "busybox", NULL}),
               0, "no-new-privileges=false, label, apparmor, ALL");
        ok(!o.sec.no_new_privileges && o.sec.cap_add == CAPS_ALL_WORD, "values");
        run_options_done(&o);

        {
                uint64_t c;
                ok(caps_parse("Sys_Admin", &c) == 0 && c == UINT64_C(1) << 21,
                   "caps_parse: case-insensitive");
                ok(caps_parse("CAP_CHECKPOINT_RESTORE", &c) == 0 && c == UINT64_C(1) << 40,
                   "the guest's last cap");
                ok(caps_parse("CAP_", &c) < 0 && caps_parse("", &c) < 0 && caps_parse("NOPE", &c) < 0,
                   "unknown names rejected");
                uint64_t def = caps_docker_default();
                ok(def == UINT64_C(0xa80425fb), "Docker's default set");
                ok(caps_tweak(def, 0, 0, true) == CAPS_ALL, "privileged: all");
                ok(caps_tweak(def, CAPS_ALL_WORD, UINT64_C(1) << 16, false) ==
                       (CAPS_ALL & ~(UINT64_C(1) << 16)),
                   "add ALL, drop one");
                ok(caps_tweak(def, 1, CAPS_ALL_WORD, false) == 1, "drop ALL, add one");
                ok(caps_tweak(def, CAPS_ALL_WORD, CAPS_ALL_WORD, false) == CAPS_ALL, "add ALL and drop ALL");
                ok(caps_tweak(def, UINT64_C(1) << 21, 1, false) == ((def & ~UINT64_C(1)) | UINT64_C(1) << 21),
                   "base - drop + add");
        }
        {
                struct spec_security sec = {.seccomp = SPEC_SECCOMP_DEFAULT, .docker_caps = true};
                json_t *spec = security_spec(&sec, 0, &err), *lx = json_object_get(spec, "linux");
                json_t *sc = json_object_get(lx, "seccomp");
                json_t *caps = json_object_get(json_object_get(spec, "process"), "capabilities");
                ok(spec && json_is_object(sc), "default: a seccomp object");
                ok(!strcmp(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO") &&
                       json_array_size(json_object_get(sc, "architectures")) == 3,
                   "default: ERRNO, x86-64 with its sub-architectures");
                ok(rule_allows(sc, "read") && rule_allows(sc, "chroot") && rule_allows(sc, "arch_prctl") &&
                       rule_allows(sc, "ptrace"),
                   "allows read, chroot (CAP_SYS_CHROOT), arch_prctl (amd64), ptrace (minKernel 4.8)");
                ok(!rule_allows(sc, "mount") && !rule_allows(sc, "unshare") && !rule_allows(sc, "bpf") &&
                       !rule_allows(sc, "sync_file_range2") && !rule_allows(sc, "reboot"),
                   "not mount/unshare/bpf (SYS_ADMIN), arm's calls, reboot (SYS_BOOT)");
                ok(json_array_size(json_object_get(caps, "effective")) == 14 &&
                       json_array_size(json_object_get(caps, "bounding")) == 14,
                   "root: Docker's 14 capabilities in every set");
                ok(json_is_array(json_object_get(lx, "maskedPaths")), "masked paths kept");
                json_decref(spec);

                sec.cap_add = UINT64_C(1) << 21;
                sec.cap_drop = UINT64_C(1) << 18;
                spec = security_spec(&sec, 1001, &err);
                sc = json_object_get(json_object_get(spec, "linux"), "seccomp");
                caps = json_object_get(json_object_get(spec, "process"), "capabilities");
                ok(rule_allows(sc, "mount") && rule_allows(sc, "unshare") && !rule_allows(sc, "chroot"),
                   "+SYS_ADMIN -SYS_CHROOT: the profile follows the bounding set");
                ok(!json_object_get(caps, "effective") && !json_object_get(caps, "permitted") &&
                       json_array_size(json_object_get(caps, "bounding")) == 14,
                   "uid 1001: only a bounding set");
                json_decref(spec);

                sec = (struct spec_security){.seccomp = SPEC_SECCOMP_DEFAULT,
                                             .docker_caps = true,
                                             .privileged = true,
                                             .read_only = true,
                                             .init = true,
                                             .no_new_privileges = true};
                spec = security_spec(&sec, 0, &err);
                lx = json_object_get(spec, "linux");
                json_t *proc = json_object_get(spec, "process"), *mnt;
                size_t i;
                bool sys_rw = false, init_bind = false;
                ok(!json_object_get(lx, "seccomp") && !json_object_get(lx, "maskedPaths") &&
                       !json_object_get(lx, "readonlyPaths"),
                   "privileged: no seccomp, nothing masked or read-only");
                ok(json_array_size(json_object_get(json_object_get(proc, "capabilities"), "effective")) ==
                       CAPS_COUNT,
                   "privileged: every capability");
                json_t *devs = json_object_get(json_object_get(lx, "resources"), "devices");
                ok(json_array_size(devs) == 1 &&
                       json_is_true(json_object_get(json_array_get(devs, 0), "allow")) &&
                       !json_object_get(json_array_get(devs, 0), "major"),
                   "privileged: the device cgroup allows all (no device is listed)");
                ok(!json_object_get(lx, "devices"), "privileged: no host device");
                json_array_foreach(json_object_get(spec, "mounts"), i, mnt)
                {
                        const char *d = json_string_value(json_object_get(mnt, "destination"));
                        char *opts = json_dumps(json_object_get(mnt, "options"), JSON_COMPACT);
                        if (!strcmp(d, "/sys"))
                                sys_rw = !strstr(opts, "\"ro\"");
                        if (!strcmp(d, SPEC_CONTAINER_INIT))
                                init_bind = !strcmp(json_string_value(json_object_get(mnt, "source")),
                                                    SPEC_GUEST_INIT);
                        free(opts);
                }
                ok(sys_rw, "privileged wins over --read-only for /sys");
                ok(json_is_true(json_object_get(json_object_get(spec, "root"), "readonly")), "--read-only");
                ok(init_bind &&
                       !strcmp(json_string_value(json_array_get(json_object_get(proc, "args"), 0)),
                               SPEC_CONTAINER_INIT) &&
                       !strcmp(json_string_value(json_array_get(json_object_get(proc, "args"), 1)), "--") &&
                       !strcmp(json_string_value(json_array_get(json_object_get(proc, "args"), 2)), "sh"),
                   "--init: tini bound from the guest, prepended to the args");
                ok(json_is_true(json_object_get(proc, "noNewPrivileges")), "no-new-privileges");
                json_decref(spec);

                sec = (struct spec_security){.seccomp = SPEC_SECCOMP_KEEP};
                spec = security_spec(&sec, 0, &err);
                ok(!json_object_get(json_object_get(spec, "linux"), "seccomp") &&
                       json_array_size(json_object_get(
                           json_object_get(json_object_get(spec, "process"), "capabilities"), "ambient")) ==
                           0 &&
                       json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"),
                                       "ambient"),
                   "a bundle without flags keeps its own");
                json_decref(spec);
        }
        {
                const char *const profiles[] = {
                    "{\"defaultAction\":\"SCMP_ACT_BOGUS\"}",
                    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"name\":\"a\",\"names\":[\"b\"],"
                    "\"action\":\"SCMP_ACT_ALLOW\"}]}",
                    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86\"],"
                    "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}]}",
                    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"a\"],\"action\":"
                    "\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"4\"}}]}",
                    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"action\":\"SCMP_ACT_ALLOW\"}]}",
                    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":{}}",
                };
                for (size_t i = 0; i < ELEMENTSOF(profiles); i++) {
                        json_t *p = json_loads(profiles[i], 0, NULL), *out = NULL;
                        err = NULL;
                        ok(p && seccomp_from_profile(p, 0, &out, &err) == -EINVAL && err && !out,
                           "bad profile %zu rejected: %s", i, err ? err : "");
                        free(err);
                        json_decref(p);
                }
                json_t *p = json_loads("{\"syscalls\":[]}", 0, NULL), *out = p;
                ok(seccomp_from_profile(p, 0, &out, &err) == 0 && !out,
                   "no default action, no rules: no seccomp");
                json_decref(p);
                p = json_loads("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":38,\"syscalls\":["
                               "{\"names\":[\"a\"],\"action\":\"SCMP_ACT_ERRNO\",\"excludes\":{\"minKernel\":"
                               "\"6.0\"}},{\"name\":\"b\",\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,"
                               "\"excludes\":{\"caps\":[\"CAP_KILL\",\"CAP_SYS_TIME\"]}}]}",
                               0, NULL);
                ok(seccomp_from_profile(p, UINT64_C(1) << 25, &out, &err) == 0 &&
                       json_array_size(json_object_get(out, "syscalls")) == 0 &&
                       json_integer_value(json_object_get(out, "defaultErrnoRet")) == 38,
                   "excludes: a kernel new enough, or any one of the caps, drops the rule");
                json_decref(out);
                ok(seccomp_from_profile(p, 0, &out, &err) == 0 &&
                       json_array_size(json_object_get(out, "syscalls")) == 1 &&
                       json_integer_value(json_object_get(json_array_get(json_object_get(out, "syscalls"), 0),
                                                          "errnoRet")) == 1,
                   "name becomes names, errnoRet kept");
                json_decref(out);
                json_decref(p);
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
            (const char *[]){"run", "--cap-add", "NOPE", "busybox", NULL},
            (const char *[]){"run", "--cap-drop", "CAP_", "busybox", NULL},
            (const char *[]){"run", "--security-opt", "foo", "busybox", NULL},
            (const char *[]){"run", "--security-opt", "foo=bar", "busybox", NULL},
            (const char *[]){"run", "--security-opt", "no-new-privileges=yes", "busybox", NULL},
            (const char *[]){"run", "--security-opt", "seccomp=", "busybox", NULL},
            (const char *[]){"run", "--security-opt", "systempaths=confined", "busybox", NULL},
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
