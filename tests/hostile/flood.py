#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs a command whose stdout floods a pipe that is read with pauses, and measures its memory.

usage: flood.py [--nonblock] [--pause-every MB] [--pause SECONDS] [--timeout SECONDS] -- CMD...

The reader stops for --pause seconds after every --pause-every MB it reads (and once before it
reads anything), so the writer (CMD, hako) sits on a full pipe many times over. --nonblock makes
CMD's end of the pipe non-blocking (the way the shim's fifos are): CMD must then wait for POLLOUT
instead of blocking in write(). VmRSS is sampled every 20 ms; VmHWM (the kernel's own peak) is
read just before CMD exits (it is a zombie only after its last read). Prints one line:

  bytes=N rc=N elapsed_s=F peak_rss_kb=N hwm_kb=N samples=N
"""
import argparse
import fcntl
import os
import subprocess
import sys
import time


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nonblock", action="store_true")
    ap.add_argument("--pause-every", type=float, default=256.0)
    ap.add_argument("--pause", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")

    r, w = os.pipe2(os.O_CLOEXEC)
    if a.nonblock:
        fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
    p = subprocess.Popen(cmd, stdout=w, pass_fds=())
    os.close(w)
    os.set_blocking(r, False)

    total, peak, hwm, samples = 0, 0, 0, 0
    start = time.monotonic()
    next_pause = 0.0
    next_sample = 0.0
    eof = False
    while not eof:
        now = time.monotonic()
        if now - start > a.timeout:
            p.kill()
            break
        if now >= next_sample:
            rss = status_kb(p.pid, "VmRSS")
            h = status_kb(p.pid, "VmHWM")
            if rss is not None:
                samples += 1
                peak = max(peak, rss)
            if h is not None:
                hwm = max(hwm, h)
            next_sample = now + 0.02
        if total >= next_pause * (1 << 20):
            # The reader stops: whatever the writer has now must wait.
            paused_until = time.monotonic() + a.pause
            while time.monotonic() < paused_until:
                rss = status_kb(p.pid, "VmRSS")
                h = status_kb(p.pid, "VmHWM")
                if rss is not None:
                    samples += 1
                    peak = max(peak, rss)
                if h is not None:
                    hwm = max(hwm, h)
                time.sleep(0.02)
            next_pause += a.pause_every
        try:
            chunk = os.read(r, 1 << 20)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        if not chunk:
            eof = True
        total += len(chunk)
    try:
        rc = p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "hung"
    print(f"bytes={total} rc={rc} elapsed_s={time.monotonic() - start:.1f} peak_rss_kb={peak} "
          f"hwm_kb={hwm} samples={samples}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
