#!/usr/bin/env python3
"""Runs a command as a child subreaper, as containerd-shim and conmon do: orphaned descendants
(the containers' host processes, once `hako create` exits) are reparented to us, and we record
"PID EXITCODE" for each one we reap in LOGFILE. Exits with the command's own status.

usage: subreaper.py LOGFILE COMMAND [ARGS...]"""
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    log, cmd = sys.argv[1], sys.argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    child = os.fork()
    if child == 0:
        os.execvp(cmd[0], cmd)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            sys.exit(1)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            code = 128 - code
        if pid == child:
            sys.exit(code)
        with open(log, "a") as f:
            f.write(f"{pid} {code}\n")


if __name__ == "__main__":
    main()
