/* SPDX-License-Identifier: Apache-2.0 */
#include "run-options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "macro.h"
#include "parse.h"
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

int run_options_parse(int argc, char **argv, struct run_options *ret, char **ret_error)
{
        enum { OPT_RM = 0x100, OPT_NAME, OPT_CPUS, OPT_MEMORY, OPT_MACHINE, OPT_DEBUG, OPT_NETWORK };
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
            {},
        };
        struct run_options o = {.vcpus = 1, .vm_memory_mib = RUN_DEFAULT_VM_MIB};
        int c, r = 0;

        *ret_error = NULL;
        optind = 0; /* full reset: parsing may happen more than once in a process (tests) */
        opterr = 0;
        /* '+': options stop at IMAGE; everything after it is the command. */
        while ((c = getopt_long(argc, argv, "+:e:w:u:v:itm:p:", longopts, NULL)) != -1) {
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
        *o = (struct run_options){0};
}
