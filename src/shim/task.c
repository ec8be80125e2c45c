/* SPDX-License-Identifier: Apache-2.0 */
#include "task.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "hooks.h"
#include "log.h"
#include "macro.h"

struct shim_task *shim_task_find(struct shim *s, const char *id)
{
        for (struct shim_task *t = s->tasks; t; t = t->next)
                if (!strcmp(t->id, id))
                        return t;
        return NULL;
}

struct shim_proc *shim_task_proc(struct shim_task *t, const char *exec_id)
{
        if (!exec_id || !*exec_id)
                return &t->init;
        for (struct shim_proc *p = t->execs; p; p = p->next)
                if (!strcmp(p->exec_id, exec_id))
                        return p;
        return NULL;
}

/* The pid containerd gets for every task and process: the VM's. A guest pid would name some
 * unrelated process on the host; the VM's stands for the whole pod (as with Kata). */
uint32_t shim_task_pid(const struct shim *s)
{
        return s->sb && s->sb->vm ? (uint32_t)s->sb->vm->pid : 0;
}

void shim_timestamp(uint64_t ns, Google__Protobuf__Timestamp *ret)
{
        *ret = (Google__Protobuf__Timestamp)GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ret->seconds = (int64_t)(ns / 1000000000ull);
        ret->nanos = (int32_t)(ns % 1000000000ull);
}

int shim_errno_code(int r)
{
        switch (r) {
        case -ENOENT:
        case -ESRCH:
                return TTRPC_NOT_FOUND;
        case -EEXIST:
                return TTRPC_ALREADY_EXISTS;
        case -EINVAL:
        case -E2BIG:
        case -ENAMETOOLONG:
                return TTRPC_INVALID_ARGUMENT;
        case -EBUSY:
        case -EALREADY:
                return TTRPC_FAILED_PRECONDITION;
        case -EOPNOTSUPP:
                return TTRPC_UNIMPLEMENTED;
        case -EACCES:
        case -EPERM:
                return TTRPC_PERMISSION_DENIED;
        case -ENOSPC:
        case -ENOMEM:
                return TTRPC_RESOURCE_EXHAUSTED;
        case -ETIMEDOUT:
                return TTRPC_DEADLINE_EXCEEDED;
        default:
                return TTRPC_UNKNOWN;
        }
}

void shim_proc_exited(struct shim *s, struct shim_proc *p, int exit_code, uint64_t at_ns)
{
        Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
        Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
        Google__Protobuf__Timestamp ts;

        if (p->state == PROCESS_EXITED)
                return;
        p->state = PROCESS_EXITED;
        p->exit_status = (uint32_t)exit_code;
        p->exited_at_ns = at_ns;
        shim_timestamp(at_ns, &ts);
        ev.container_id = p->task->id;
        ev.id = *p->exec_id ? p->exec_id : p->task->id;
        ev.pid = shim_task_pid(s);
        ev.exit_status = p->exit_status;
        ev.exited_at = &ts;
        (void)publisher_send(s->pub, "/tasks/exit", &ev.base);
        resp.exit_status = p->exit_status;
        resp.exited_at = &ts;
        for (unsigned i = 0; i < p->n_waiters; i++)
                (void)ttrpc_reply(&p->waiters[i], TTRPC_OK, NULL, &resp.base);
        p->n_waiters = 0;
        /* The relay is done: containerd's readers see the end of the streams. */
        shim_stdio_close(&p->io);
        log_debug("task %s%s%s exited with %d", p->task->id, *p->exec_id ? " exec " : "", p->exec_id,
                  exit_code);
}

void shim_proc_done(struct shim_proc *p)
{
        for (unsigned i = 0; i < p->n_waiters; i++)
                (void)ttrpc_reply(&p->waiters[i], TTRPC_NOT_FOUND, "process deleted", NULL);
        p->n_waiters = 0;
        shim_stdio_done(&p->io);
        free(p->spec);
        p->spec = NULL;
}

int shim_task_hooks(struct shim *s, struct shim_task *t, const char *kind, const char *status,
                    char **ret_error)
{
        return hooks_run_state(t->hooks, kind, t->id, status, (pid_t)shim_task_pid(s), t->bundle,
                               t->annotations, ret_error);
}

void shim_task_free(struct shim *s, struct shim_task *t)
{
        for (struct shim_task **pp = &s->tasks; *pp; pp = &(*pp)->next)
                if (*pp == t) {
                        *pp = t->next;
                        s->n_tasks--;
                        break;
                }
        while (t->execs) {
                struct shim_proc *p = t->execs;
                t->execs = p->next;
                shim_proc_done(p);
                free(p);
        }
        shim_proc_done(&t->init);
        /* Unmounted in the shim's namespace before containerd removes the snapshot. */
        if (t->rootfs && umount2(t->rootfs, MNT_DETACH) < 0 && errno != EINVAL)
                log_warning("cannot unmount %s: %m", t->rootfs);
        free(t->rootfs);
        json_decref(t->hooks);
        json_decref(t->annotations);
        free(t->bundle);
        free(t->id);
        free(t);
}
