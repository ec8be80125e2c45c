#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpus for fuzz-ttrpc-frames: ttRPC byte streams (10-byte header: be32 length,
be32 stream id, u8 type, u8 flags, then protobuf) with hand-encoded protobuf (stdlib only).

    tests/fuzz/gen-corpus.py [OUTDIR]     (default: tests/fuzz/corpus/ttrpc-frames)

Files named gen-* are owned by this script and rewritten on each run; other files in OUTDIR (inputs
found by libFuzzer, named found-*) are left alone."""

import os
import struct
import sys

SERVICE = "hako.agent.v1.Agent"
REQ, RESP, DATA = 1, 2, 3
FUZZ_MAX_FRAME = 64 << 10  # the fuzzer's reader limit


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def f_varint(field, v):
    return key(field, 0) + varint(v)


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return key(field, 2) + varint(len(b)) + b


def f_fixed64(field, v):
    return key(field, 1) + struct.pack("<Q", v)


def f_fixed32(field, v):
    return key(field, 5) + struct.pack("<I", v)


def frame(payload, stream=1, typ=REQ, flags=0, length=None):
    return struct.pack(">IIBB", len(payload) if length is None else length, stream, typ, flags) + payload


def request(method, payload=b"", service=SERVICE, timeout=0, metadata=()):
    m = f_bytes(1, service) + f_bytes(2, method)
    if payload:
        m += f_bytes(3, payload)
    if timeout:
        m += f_varint(4, timeout)
    for k, v in metadata:
        m += f_bytes(5, f_bytes(1, k) + f_bytes(2, v))
    return m


def response(code=0, message="", payload=b""):
    st = b""
    if code:
        st += f_varint(1, code)
    if message:
        st += f_bytes(2, message)
    m = f_bytes(1, st)
    if payload:
        m += f_bytes(2, payload)
    return m


SPEC = b'{"ociVersion":"1.0.2","process":{"args":["/bin/sh"],"cwd":"/"},"root":{"path":"/run/hako/c/web/rootfs"}}'
PROC = b'{"args":["/bin/ls","-l"],"cwd":"/","env":["PATH=/bin"]}'

storage = f_bytes(1, "virtiofs") + f_bytes(2, "hakoshared") + f_bytes(3, "/run/hako/shared") + \
    f_bytes(4, "ro") + f_bytes(4, "nodev")
rootfs = f_bytes(1, "/run/hako/shared/web/rootfs") + f_varint(2, 1)

REQUESTS = {
    "Health": b"",
    "CreateSandbox": f_bytes(1, "sb-1") + f_bytes(2, "box") + f_bytes(3, storage) +
    f_bytes(3, f_bytes(1, "tmpfs") + f_bytes(3, "/tmp")) + f_varint(4, 1764000000123456789),
    "CreateContainer": f_bytes(1, "web") + f_bytes(2, SPEC) + f_bytes(3, rootfs) + f_varint(4, 1) +
    f_varint(5, 24) + f_varint(6, 80),
    "StartContainer": f_bytes(1, "web"),
    "RemoveContainer": f_bytes(1, "web"),
    "ExecProcess": f_bytes(1, "web") + f_bytes(2, "exec-1") + f_bytes(3, PROC) + f_varint(5, 50) +
    f_varint(6, 132),
    "SignalProcess": f_bytes(1, "web") + f_bytes(2, "") + f_varint(3, 15) + f_varint(4, 1),
    "WaitProcess": f_bytes(1, "web") + f_bytes(2, "exec-1"),
    "WriteStdin": f_bytes(1, "web") + f_bytes(2, "exec-1") + f_bytes(3, b"echo hi\n"),
    "CloseStdin": f_bytes(1, "web") + f_bytes(2, "exec-1"),
    "ReadStdout": f_bytes(1, "web") + f_bytes(2, "exec-1") + f_varint(3, 65536),
    "ReadStderr": f_bytes(1, "web") + f_bytes(2, "") + f_varint(3, 4096),
    "TtyWinResize": f_bytes(1, "web") + f_bytes(2, "") + f_varint(3, 40) + f_varint(4, 120),
    "StatsContainer": f_bytes(1, "web"),
    "RemoveProcess": f_bytes(1, "web") + f_bytes(2, "exec-1"),
    "UpdateContainer": f_bytes(1, "web") + f_bytes(2, '{"memory":{"limit":536870912},"cpu":{"quota":50000}}'),
    "ListProcesses": f_bytes(1, "web"),
    "PauseContainer": f_bytes(1, "web") + f_varint(2, 1),
    "GetOOMEvent": b"",
    "OnlineResources": b"",
    "DestroySandbox": b"",
}

RESPONSES = {
    "health": f_bytes(1, "0.1.0") + f_varint(2, 3) + f_bytes(3, "6.1.0-hako") + f_varint(4, 123456789),
    "wait": f_varint(1, 0) + f_varint(2, 0),
    "wait-neg": f_varint(1, -1) + f_varint(2, 9),  # negative int32: 10-byte varint
    "write": f_varint(1, 8),
    "read": f_bytes(1, b"total 0\r\n\x1b[0m"),
    "read-eof": b"",
    "stats": b"".join(f_varint(i, (1 << (4 * i)) - 1) for i in range(1, 13)) +
    f_bytes(13, f_bytes(1, "inactive_file") + f_varint(2, 4096)) + f_bytes(14, f_bytes(1, "oom_kill") + f_varint(2, 1)) +
    f_bytes(15, f_varint(1, 8) + f_varint(2, 0) + f_varint(3, 1 << 30) + f_varint(5, 12)),
    "create": f_varint(1, 4242),
    "exec": f_varint(1, 4243),
    "pids": f_bytes(1, b"".join(varint(p) for p in [1, 7, 4242])),
    "oom": f_bytes(1, "web"),
    "online": f_varint(1, 4) + f_varint(2, 2048),
}


def corpus():
    c = {}
    for i, (method, payload) in enumerate(REQUESTS.items()):
        c["req-" + method] = frame(request(method, payload, timeout=5_000_000_000), stream=2 * i + 1)
    for name, payload in RESPONSES.items():
        c["resp-" + name] = frame(response(payload=payload), stream=3, typ=RESP)
    c["resp-err-notfound"] = frame(response(5, "container \"web\" not found"), stream=5, typ=RESP)
    c["resp-err-payload"] = frame(response(13, "internal", payload=b"\x08\x01"), stream=5, typ=RESP)
    c["resp-empty"] = frame(b"", stream=1, typ=RESP)

    # whole sessions: several frames back to back
    c["session-run"] = b"".join([
        frame(request("Health"), 1),
        frame(request("CreateSandbox", REQUESTS["CreateSandbox"]), 3),
        frame(request("CreateContainer", REQUESTS["CreateContainer"]), 5),
        frame(request("StartContainer", REQUESTS["StartContainer"]), 7),
        frame(request("WaitProcess", REQUESTS["WaitProcess"]), 9),
        frame(request("DestroySandbox"), 11),
    ])
    c["session-responses"] = b"".join(
        frame(response(payload=p), 2 * i + 1, RESP) for i, p in enumerate(RESPONSES.values()))
    c["session-mixed-types"] = frame(request("Health"), 1) + frame(b"", 1, DATA, 1) + \
        frame(response(payload=RESPONSES["health"]), 1, RESP) + frame(b"\x00" * 5, 0, 0x7F, 0xFF)

    # odd but valid requests
    c["req-unknown-method"] = frame(request("Frobnicate", b"\x0a\x01x"))
    c["req-other-service"] = frame(request("Health", service="grpc.health.v1.Health"))
    c["req-metadata"] = frame(request("Health", metadata=[("trace-id", "abc"), ("", ""), ("k", "v" * 100)]))
    c["req-bad-ids"] = frame(request("StartContainer", f_bytes(1, "../../etc")), 1) + \
        frame(request("StartContainer", f_bytes(1, "a/b")), 3) + \
        frame(request("StartContainer", f_bytes(1, "x" * 65)), 5) + \
        frame(request("StartContainer", f_bytes(1, "..")), 7) + \
        frame(request("StartContainer", f_bytes(1, "caf\xc3\xa9".encode("latin-1"))), 9) + \
        frame(request("StartContainer", f_bytes(1, b"a\x00/../b")), 11)
    c["req-dup-fields"] = frame(request("CreateContainer", f_bytes(3, rootfs) + f_bytes(3, f_varint(3, 1)) +
                                        f_bytes(1, "a") + f_bytes(1, "b")))
    c["req-unknown-fields"] = frame(request("Health", f_varint(99, 1) + f_fixed64(100, 7) +
                                            f_fixed32(101, 9) + f_bytes(102, b"zz")))
    c["req-group-wiretype"] = frame(request("Health", key(5, 3) + key(5, 4)))
    c["req-many-storages"] = frame(request("CreateSandbox", f_bytes(3, b"") * 3000))
    c["req-many-metadata"] = frame(request("Health", metadata=[("", "")] * 2000))
    c["req-overlong-varint"] = frame(request("ReadStdout", f_bytes(1, "c") + key(3, 0) + b"\x80" * 9 + b"\x01"))
    c["req-wrong-wiretype"] = frame(request("StartContainer", f_varint(1, 5)))
    c["req-negative-timeout"] = frame(request("Health", timeout=-1))

    # framing edge cases
    c["frame-zero-length"] = frame(b"", 1, REQ)
    c["frame-zero-lengths"] = frame(b"", 1) * 20
    c["frame-at-limit"] = frame(f_bytes(3, b"\x00" * (FUZZ_MAX_FRAME - 4)), 1)
    c["frame-over-limit"] = frame(b"", 1, length=FUZZ_MAX_FRAME + 1) + b"\x00" * 64
    c["frame-huge-length"] = frame(b"", 1, length=0xFFFFFFFF)
    c["frame-after-valid-over"] = frame(request("Health"), 1) + frame(b"", 3, length=1 << 31)
    c["frame-truncated-header"] = frame(request("Health"))[:7]
    c["frame-truncated-body"] = frame(request("CreateContainer", REQUESTS["CreateContainer"]))[:-5]
    c["frame-length-short"] = frame(request("Health"), length=len(request("Health")) - 3) + b"\x00" * 16
    c["frame-length-long"] = frame(request("Health"), length=len(request("Health")) + 3)
    c["frame-stream-ids"] = frame(request("Health"), 0) + frame(request("Health"), 0xFFFFFFFF) + \
        frame(request("Health"), 2)

    # protobuf garbage inside well-formed frames
    c["pb-truncated-string"] = frame(key(1, 2) + varint(100) + b"hako")
    c["pb-huge-string-len"] = frame(key(2, 2) + varint(0xFFFFFFFF) + b"abc")
    c["pb-huge-bytes-len"] = frame(key(3, 2) + varint((1 << 64) - 1) + b"\x00")
    c["pb-endless-varint"] = frame(key(4, 0) + b"\xff" * 12)
    c["pb-field-zero"] = frame(b"\x00\x01\x02")
    c["pb-wiretype-7"] = frame(b"\x0f" + b"\x01" * 8)
    c["pb-nested-deep"] = frame(request("CreateContainer", f_bytes(3, f_bytes(3, f_bytes(3, b"\x08\x01")))))
    c["pb-status-garbage"] = frame(f_bytes(1, b"\x08" + b"\xff" * 10 + b"\x12\x40"), 1, RESP)
    c["pb-payload-truncated"] = frame(f_bytes(1, SERVICE) + f_bytes(2, "ExecProcess") + key(3, 2) +
                                      varint(500) + REQUESTS["ExecProcess"])
    c["garbage-ascii"] = b"GET / HTTP/1.1\r\nHost: hako\r\n\r\n"
    c["garbage-bytes"] = bytes((i * 37 + 11) & 0xFF for i in range(300))
    c["garbage-zeros"] = b"\x00" * 64
    c["garbage-ff"] = b"\xff" * 32
    return c


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "corpus", "ttrpc-frames")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.startswith("gen-"):
            os.unlink(os.path.join(out, name))
    c = corpus()
    for name, data in sorted(c.items()):
        with open(os.path.join(out, "gen-" + name), "wb") as f:
            f.write(data)
    print(f"wrote {len(c)} files to {out}")


if __name__ == "__main__":
    main()
