#!/usr/bin/env python3
"""Runs a command on a fresh pty of the given size and copies its output to stdout.
usage: pty-run.py [--resize RxC] ROWS COLS CMD...   (--resize: change the size once the
command printed 'ready', then wait for it to exit)"""
import fcntl, os, select, struct, sys, termios

args = sys.argv[1:]
resize = None
if args[0] == "--resize":
    resize = tuple(int(x) for x in args[1].split("x"))
    args = args[2:]
rows, cols, cmd = int(args[0]), int(args[1]), args[2:]

master, slave = os.openpty()
# The size is set before the command starts, as a real terminal would have it.
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for i in range(3):
        os.dup2(slave, i)
    os.execvp(cmd[0], cmd)
os.close(slave)
buf = b""
resized = False
while True:
    r, _, _ = select.select([master], [], [], 60)
    if not r:
        break
    try:
        data = os.read(master, 65536)
    except OSError:
        break
    if not data:
        break
    buf += data
    if resize and not resized and b"ready" in buf:
        # Changing the size makes the kernel send SIGWINCH to the pty's foreground group (hako).
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", resize[0], resize[1], 0, 0))
        resized = True
_, status = os.waitpid(pid, 0)
out = buf.decode(errors="replace")
if resize:
    out = out.replace("ready", "").strip()
sys.stdout.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
