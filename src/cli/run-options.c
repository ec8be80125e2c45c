/* SPDX-License-Identifier: Apache-2.0 */
#include "run-options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "caps.h"
#include "disk.h"
#include "error.h"
#include "macro.h"
#include "parse.h"
#include "seccomp-profile.h"
#include "state.h"

static int push(char ***v, size_t *n, const char *s)
{
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = strdup(s);
        if (!nv[*n])
                return -ENOMEM;
        nv[++*n] = NULL;
        return 0;
}

static int parse_volume(const char *arg, struct container_opts *c, char **ret_error)
{
        _cleanup_free_ char *copy = strdup(arg);
        char *host, *ctr, *mode;
        struct stat st;

        if (!copy)
                return -ENOMEM;
        host = copy;
        ctr = strchr(host, ':');
        if (!ctr)
                return error_set(ret_error, -EINVAL, "invalid volume '%s': expected HOST:CONTAINER[:ro|rw]",
                                 arg);
        *ctr++ = 0;
        mode = strchr(ctr, ':');
        if (mode)
                *mode++ = 0;
        if (mode && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
                return error_set(ret_error, -EINVAL, "invalid volume '%s': mode must be ro or rw", arg);
        if (host[0] != '/' || ctr[0] != '/')
                return error_set(ret_error, -EINVAL, "invalid volume '%s': both paths must be absolute", arg);
        if (stat(host, &st) < 0)
                return error_set(ret_error, -EINVAL, "volume source %s does not exist", host);
        if (!strcmp(ctr, "/"))
                return error_set(ret_error, -EINVAL,
                                 "invalid volume '%s': cannot mount over the container's /", arg);

        struct volume *v = realloc(c->volumes, (c->n_volumes + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        c->volumes = v;
        v = &v[c->n_volumes];
        v->host = realpath(host, NULL);
        v->container = strdup(ctr);
        v->readonly = mode && !strcmp(mode, "ro");
        if (!v->host || !v->container) {
                free(v->host);
                free(v->container);
                return -ENOMEM;
        }
        c->n_volumes++;
        return 0;
}

static int parse_network(const char *arg, struct run_options *o, char **ret_error)
{
        if (!strcmp(arg, "user"))
                o->network = RUN_NET_USER;
        else if (!strcmp(arg, "none"))
                o->network = RUN_NET_NONE;
        else if (!strncmp(arg, "ns:", 3)) {
                if (arg[3] != '/')
                        return error_set(
                            ret_error, -EINVAL,
                            "invalid --network '%s': ns: takes an absolute path (ns:/var/run/netns/NAME)",
                            arg);
                o->network = RUN_NET_NS;
                o->netns_path = arg + 3;
        } else if (!strcmp(arg, "host"))
                return error_set(
                    ret_error, -EINVAL,
                    "--network host is not possible: the container has its own kernel in a VM; use the "
                    "default user network and publish ports with -p");
        else
                return error_set(ret_error, -EINVAL, "invalid --network '%s': user, none or ns:PATH", arg);
        return 0;
}

static int parse_publish(const char *arg, struct run_options *o, char **ret_error)
{
        struct net_publish p, *v;
        int r;

        if (o->n_publish >= NET_PUBLISH_MAX)
                return error_set(ret_error, -E2BIG, "too many -p (at most %d)", NET_PUBLISH_MAX);
        r = net_publish_parse(arg, &p, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < o->n_publish; i++)
                if (o->publish[i].host_port == p.host_port && o->publish[i].udp == p.udp)
                        return error_set(ret_error, -EINVAL,
                                         "invalid port '%s': host port %u/%s is published twice", arg,
                                         p.host_port, p.udp ? "udp" : "tcp");
        v = realloc(o->publish, (o->n_publish + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        o->publish = v;
        v[o->n_publish++] = p;
        return 0;
}

static int parse_cap(const char *arg, uint64_t *set, char **ret_error)
{
        uint64_t bit;

        if (caps_parse(arg, &bit) < 0) {
                /* Docker's words, with the name as it normalizes it. */
                _cleanup_free_ char *name = NULL;
                if (asprintf(&name, "%s%s", strncasecmp(arg, "CAP_", 4) ? "CAP_" : "", arg) < 0)
                        return -ENOMEM;
                for (char *p = name; *p; p++)
                        *p = (char)toupper((unsigned char)*p);
                return error_set(ret_error, -EINVAL, "unknown capability: \"%s\"", name);
        }
        *set |= bit;
        return 0;
}

/* strconv.ParseBool's words, as Docker reads no-new-privileges=VALUE. */
static int parse_go_bool(const char *s, bool *ret)
{
        static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
        static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
                        *ret = !strcmp(s, yes[i]);
                        return 0;
                }
        return -EINVAL;
}

static int parse_seccomp_file(const char *path, struct run_options *o, char **ret_error)
{
        _cleanup_free_ char *error = NULL;
        json_t *profile = NULL, *check = NULL;
        int r;

        /* Read now, as Docker's client does: a bad file is an error before anything starts. */
        r = seccomp_load_file(path, &profile, ret_error);
        if (r < 0)
                return r;
        r = seccomp_from_profile(profile, 0, &check, &error);
        json_decref(check);
        if (r < 0) {
                json_decref(profile);
                return error_set(ret_error, r, "invalid seccomp profile %s: %s", path,
                                 error ? error : strerror(-r));
        }
        json_decref(o->sec.seccomp_profile);
        o->sec.seccomp_profile = profile;
        o->sec.seccomp = SPEC_SECCOMP_PROFILE;
        return 0;
}

/* --security-opt, as Docker's client and daemon read it (KEY=VALUE, or the old KEY:VALUE). */
static int parse_security_opt(const char *arg, struct run_options *o, char **ret_error)
{
        _cleanup_free_ char *key = NULL;
        const char *sep, *val;
        bool b;

        if (!strcmp(arg, "no-new-privileges")) {
                o->sec.no_new_privileges = true;
                return 0;
        }
        if (!strcmp(arg, "disable")) /* label=disable's old spelling */
                return 0;
        sep = strchr(arg, '=') ?: strchr(arg, ':');
        if (!sep)
                goto invalid;
        key = strndup(arg, (size_t)(sep - arg));
        if (!key)
                return -ENOMEM;
        val = sep + 1;
        if (!strcmp(key, "no-new-privileges")) {
                if (parse_go_bool(val, &b) < 0)
                        goto invalid;
                o->sec.no_new_privileges = b;
        } else if (!strcmp(key, "seccomp")) {
                if (!strcmp(val, "unconfined")) {
                        json_decref(o->sec.seccomp_profile);
                        o->sec.seccomp_profile = NULL;
                        o->sec.seccomp = SPEC_SECCOMP_UNCONFINED;
                } else if (!*val)
                        goto invalid;
                else
                        return parse_seccomp_file(val, o, ret_error);
        } else if (!strcmp(key, "systempaths")) {
                if (strcmp(val, "unconfined") != 0)
                        goto invalid;
                o->sec.systempaths_unconfined = true;
        } else if (strcmp(key, "apparmor") != 0 && strcmp(key, "label") != 0)
                /* apparmor and label are accepted and have no effect, as with Docker on a host
                 * without AppArmor or SELinux: the guest kernel has neither. */
                goto invalid;
        return 0;
invalid:
        return error_set(ret_error, -EINVAL,
                         "invalid --security-opt: \"%s\" (no-new-privileges[=true|false], "
                         "seccomp=unconfined|PROFILE.json, systempaths=unconfined, apparmor=..., label=...)",
                         arg);
}

int run_options_parse(int argc, char **argv, struct run_options *ret, char **ret_error)
{
        enum {
                OPT_RM = 0x100,
                OPT_NAME,
                OPT_CPUS,
                OPT_MEMORY,
                OPT_MACHINE,
                OPT_DEBUG,
                OPT_NETWORK,
                OPT_CAP_ADD,
                OPT_CAP_DROP,
                OPT_PRIVILEGED,
                OPT_SECURITY_OPT,
                OPT_INIT,
                OPT_READ_ONLY,
                OPT_DISK_SIZE,
        };
        static const struct option longopts[] = {
            {"rm", no_argument, NULL, OPT_RM},
            {"name", required_argument, NULL, OPT_NAME},
            {"env", required_argument, NULL, 'e'},
            {"workdir", required_argument, NULL, 'w'},
            {"user", required_argument, NULL, 'u'},
            {"volume", required_argument, NULL, 'v'},
            {"cpus", required_argument, NULL, OPT_CPUS},
            {"memory", required_argument, NULL, OPT_MEMORY},
            {"interactive", no_argument, NULL, 'i'},
            {"tty", no_argument, NULL, 't'},
            {"machine", required_argument, NULL, OPT_MACHINE},
            {"debug", no_argument, NULL, OPT_DEBUG},
            {"network", required_argument, NULL, OPT_NETWORK},
            {"net", required_argument, NULL, OPT_NETWORK},
            {"publish", required_argument, NULL, 'p'},
            {"cap-add", required_argument, NULL, OPT_CAP_ADD},
            {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
            {"privileged", no_argument, NULL, OPT_PRIVILEGED},
            {"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
            {"init", no_argument, NULL, OPT_INIT},
            {"read-only", no_argument, NULL, OPT_READ_ONLY},
            {"disk-size", required_argument, NULL, OPT_DISK_SIZE},
            {"detach", no_argument, NULL, 'd'},
            {},
        };
        struct run_options o = {
            .vcpus = 1,
            .vm_memory_mib = RUN_DEFAULT_VM_MIB,
            /* An image gets what Docker gives one; run.c keeps a bundle's own. */
            .sec = {.seccomp = SPEC_SECCOMP_DEFAULT, .docker_caps = true},
        };
        int c, r = 0;

        *ret_error = NULL;
        optind = 0; /* full reset: parsing may happen more than once in a process (tests) */
        opterr = 0;
        /* '+': options stop at IMAGE; everything after it is the command. */
        while ((c = getopt_long(argc, argv, "+:e:w:u:v:itdm:p:", longopts, NULL)) != -1) {
                switch (c) {
                case OPT_RM:
                        o.rm = true;
                        break;
                case OPT_NAME:
                        if (!state_id_valid(optarg))
                                r = error_set(ret_error, -EINVAL,
                                              "invalid name '%s': use 1-64 of [a-zA-Z0-9_.-]", optarg);
                        o.name = optarg;
                        break;
                case 'e':
                        if (!strchr(optarg, '=')) {
                                /* Docker's -e KEY takes KEY from the caller's environment. */
                                const char *val = getenv(optarg);
                                if (!val)
                                        break;
                                _cleanup_free_ char *kv = NULL;
                                if (asprintf(&kv, "%s=%s", optarg, val) < 0)
                                        r = -ENOMEM;
                                else
                                        r = push(&o.c.env, &o.c.n_env, kv);
                        } else if (optarg[0] == '=')
                                r = error_set(ret_error, -EINVAL, "invalid environment variable '%s'",
                                              optarg);
                        else
                                r = push(&o.c.env, &o.c.n_env, optarg);
                        break;
                case 'w':
                        if (optarg[0] != '/')
                                r = error_set(ret_error, -EINVAL,
                                              "invalid working directory '%s': must be absolute", optarg);
                        o.c.cwd = optarg;
                        break;
                case 'u':
                        if (parse_user(optarg, &o.c.uid, &o.c.gid, &c) < 0)
                                r = error_set(ret_error, -EINVAL,
                                              "invalid user '%s': expected UID[:GID] (numeric)", optarg);
                        o.c.has_user = true;
                        o.c.has_gid = c;
                        break;
                case 'v':
                        r = parse_volume(optarg, &o.c, ret_error);
                        break;
                case OPT_CPUS: {
                        uint32_t m;
                        if (parse_cpus(optarg, &m) < 0 || m > 64000)
                                r = error_set(ret_error, -EINVAL,
                                              "invalid --cpus '%s': expected a number like 1, 2 or 0.5",
                                              optarg);
                        else {
                                o.c.cpus_milli = m;
                                o.vcpus = (m + 999) / 1000;
                        }
                        break;
                }
                case OPT_MEMORY:
                case 'm': {
                        uint64_t b;
                        if (parse_size(optarg, &b) < 0 || b < (6u << 20) || b > (1ull << 40))
                                r = error_set(
                                    ret_error, -EINVAL,
                                    "invalid --memory '%s': expected a size like 256m or 1g (at least 6m)",
                                    optarg);
                        else {
                                o.c.memory_bytes = b;
                                o.vm_memory_mib = MAX((uint64_t)RUN_DEFAULT_VM_MIB,
                                                      ((b + (1u << 20) - 1) >> 20) + RUN_VM_OVERHEAD_MIB);
                        }
                        break;
                }
                case OPT_DISK_SIZE: {
                        uint64_t b;
                        if (parse_size(optarg, &b) < 0 || (b && (b < DISK_SIZE_MIN || b > DISK_SIZE_MAX)))
                                r = error_set(
                                    ret_error, -EINVAL,
                                    "invalid --disk-size '%s': 0 (no disk) or a size from 64m to 16t",
                                    optarg);
                        else {
                                o.disk_size = b;
                                o.disk_size_set = true;
                        }
                        break;
                }
                case 'i':
                        o.interactive = true;
                        break;
                case 't':
                        o.tty = true;
                        break;
                case OPT_MACHINE:
                        if (strcmp(optarg, "microvm") != 0 && strcmp(optarg, "pc") != 0)
                                r = error_set(ret_error, -EINVAL, "invalid --machine '%s': microvm or pc",
                                              optarg);
                        o.machine = optarg;
                        break;
                case OPT_DEBUG:
                        o.debug = true;
                        break;
                case OPT_NETWORK:
                        r = parse_network(optarg, &o, ret_error);
                        break;
                case 'p':
                        r = parse_publish(optarg, &o, ret_error);
                        break;
                case 'd':
                        o.detach = true;
                        break;
                case OPT_CAP_ADD:
                        r = parse_cap(optarg, &o.sec.cap_add, ret_error);
                        break;
                case OPT_CAP_DROP:
                        r = parse_cap(optarg, &o.sec.cap_drop, ret_error);
                        break;
                case OPT_PRIVILEGED:
                        o.sec.privileged = true;
                        break;
                case OPT_SECURITY_OPT:
                        r = parse_security_opt(optarg, &o, ret_error);
                        break;
                case OPT_INIT:
                        o.sec.init = true;
                        break;
                case OPT_READ_ONLY:
                        o.sec.read_only = true;
                        break;
                case ':':
                        r = error_set(ret_error, -EINVAL, "option '%s' needs a value", argv[optind - 1]);
                        break;
                default:
                        r = error_set(ret_error, -EINVAL, "unknown option '%s' (see 'hako run --help')",
                                      argv[optind - 1]);
                        break;
                }
                if (r < 0)
                        goto fail;
        }
        if (o.n_publish && o.network != RUN_NET_USER) {
                r = error_set(ret_error, -EINVAL,
                              "-p publishes ports of the user network: not with --network %s",
                              o.network == RUN_NET_NONE ? "none" : "ns:PATH");
                goto fail;
        }
        if (optind >= argc) {
                r = error_set(ret_error, -EINVAL,
                              "'hako run' needs an IMAGE (for example: hako run --rm busybox echo hi)");
                goto fail;
        }
        o.image = argv[optind++];
        if (optind < argc) {
                o.c.args = calloc((size_t)(argc - optind) + 1, sizeof(char *));
                if (!o.c.args) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (int i = optind; i < argc; i++) {
                        o.c.args[o.c.n_args] = strdup(argv[i]);
                        if (!o.c.args[o.c.n_args++]) {
                                r = -ENOMEM;
                                goto fail;
                        }
                }
        }
        o.c.tty = o.tty;
        *ret = o;
        return 0;
fail:
        run_options_done(&o);
        return r;
}

void run_options_done(struct run_options *o)
{
        for (size_t i = 0; i < o->c.n_env; i++)
                free(o->c.env[i]);
        free(o->c.env);
        for (size_t i = 0; i < o->c.n_args; i++)
                free(o->c.args[i]);
        free(o->c.args);
        for (size_t i = 0; i < o->c.n_volumes; i++) {
                free(o->c.volumes[i].host);
                free(o->c.volumes[i].container);
        }
        free(o->c.volumes);
        free(o->publish);
        json_decref(o->sec.seccomp_profile);
        *o = (struct run_options){0};
}
