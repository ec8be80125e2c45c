#!/usr/bin/env python3
"""Plays the caller of `hako create --console-socket`: listens on SOCKET, receives the pty master
with SCM_RIGHTS, sets its size to 40x100, writes INPUT to it and copies what comes out to OUTFILE until EOF/EIO or 30 s.

usage: console-socket.py SOCKET OUTFILE INPUT"""
import array
import fcntl
import os
import select
import socket
import struct
import sys
import termios
import time


def main():
    path, outfile, data = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    print("listening", flush=True)
    conn, _ = srv.accept()
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(fds.itemsize))
    for level, typ, cdata in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(cdata[: len(cdata) - (len(cdata) % fds.itemsize)])
    master = fds[0]
    # As a terminal emulator would: the container must see this size.
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    with open(outfile + ".name", "w") as f:
        f.write(msg.decode())
    sent = False
    deadline = time.time() + 30
    with open(outfile, "wb") as out:
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.5)
            if not sent:
                os.write(master, data)
                sent = True
            if master in r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out.write(chunk)
                out.flush()


if __name__ == "__main__":
    main()
