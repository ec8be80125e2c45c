#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of fuzz-shim-requests, fuzz-shim-guest and fuzz-config (stdlib only):

  shim-requests  ttRPC byte streams of containerd.task.v2.Task requests, what containerd sends the
                 shim (hand-encoded protobuf, framing from gen-corpus.py)
  shim-guest     agent answers the shim decodes from the guest: StatsContainerResponse and others
  config         hako.toml files (valid ones and one of each error) and JSON annotation objects

    tests/fuzz/gen-shim-corpus.py [CORPUS_DIR]     (default: tests/fuzz/corpus)

Files named gen-* are owned by this script and rewritten on each run; other files (inputs found by
libFuzzer, named found-*) are left alone."""

import importlib.util
import json
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("gen_corpus", os.path.join(_here, "gen-corpus.py"))
g = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(g)
varint, key, f_varint, f_bytes, frame = g.varint, g.key, g.f_varint, g.f_bytes, g.frame
REQ, RESP, DATA = g.REQ, g.RESP, g.DATA

SERVICE = "containerd.task.v2.Task"
SERVER_MAX_FRAME = 8 << 10  # the fuzzer's server limit
FUZZ_MAX_FRAME = 64 << 10  # the fuzzer's decode limit


def request(method, payload=b"", service=SERVICE, timeout=0, metadata=()):
    return g.request(method, payload, service=service, timeout=timeout, metadata=metadata)


def any_(type_url, value):
    if isinstance(value, (dict, list)):
        value = json.dumps(value, separators=(",", ":"))
    return f_bytes(1, type_url) + f_bytes(2, value)


def mount(typ, source, options, target=""):
    m = f_bytes(1, typ) + f_bytes(2, source)
    if target:
        m += f_bytes(3, target)
    for o in options:
        m += f_bytes(4, o)
    return m


# --- containerd.task.v2 requests -------------------------------------------------------------------

BUNDLE = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/web"
FIFO = "/run/containerd/fifo/1234/web-"
SNAP = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/"
OVERLAY = mount("overlay", "overlay", ["index=off", "lowerdir=" + SNAP + "2/fs:" + SNAP + "1/fs",
                                       "upperdir=" + SNAP + "3/fs", "workdir=" + SNAP + "3/work"])
BIND = mount("bind", SNAP + "4/fs", ["rbind", "ro", "nosuid", "nodev", "noexec", "relatime"])
RUNTIME_OPTIONS = any_("runtimeoptions.v1.Options",
                       f_bytes(1, "io.containerd.hako.v1") + f_bytes(2, "/etc/hako/hako-small.toml"))

SANDBOX_SPEC = {
    "ociVersion": "1.0.2",
    "process": {"args": ["/pause"], "cwd": "/"},
    "annotations": {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "sb",
                    "org.hako.vcpus": "2"},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                             {"type": "network", "path": "/var/run/netns/cni-1234"}],
              "cgroupsPath": "kubepods-besteffort-pod1.slice:cri-containerd:sb"},
}
CONTAINER_SPEC = {
    "ociVersion": "1.0.2",
    "process": {"args": ["/bin/sh", "-c", "sleep 1"], "cwd": "/", "env": ["PATH=/bin"]},
    "annotations": {"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "sb"},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc", "path": "/proc/13/ns/ipc"},
                             {"type": "uts", "path": "/proc/13/ns/uts"}, {"type": "mount"},
                             {"type": "network", "path": "/proc/13/ns/net"}]},
}
PROCESS = {"args": ["/bin/ls", "-l"], "cwd": "/", "env": ["PATH=/bin"], "terminal": False,
           "user": {"uid": 0, "gid": 0}}
RESOURCES = {"cpu": {"shares": 1024, "quota": 200000, "period": 100000, "cpus": "0-1"},
             "memory": {"limit": 536870912, "swap": 536870912}, "pids": {"limit": 100}}


def create(id_="web", rootfs=(OVERLAY,), options=RUNTIME_OPTIONS, terminal=False, checkpoint=""):
    m = f_bytes(1, id_) + f_bytes(2, BUNDLE)
    for r in rootfs:
        m += f_bytes(3, r)
    if terminal:
        m += f_varint(4, 1)
    m += f_bytes(5, FIFO + "0") + f_bytes(6, FIFO + "1") + f_bytes(7, FIFO + "2")
    if checkpoint:
        m += f_bytes(8, checkpoint)
    if options:
        m += f_bytes(10, options)
    return m


def exec_(spec=PROCESS, id_="web", exec_id="exec-1", terminal=False, type_url=None):
    url = type_url or "types.containerd.io/opencontainers/runtime-spec/1/Process"
    m = f_bytes(1, id_) + f_bytes(2, exec_id)
    if terminal:
        m += f_varint(3, 1)
    m += f_bytes(4, FIFO + "e0") + f_bytes(5, FIFO + "e1") + f_bytes(6, FIFO + "e2")
    if spec is not None:
        m += f_bytes(7, any_(url, spec))
    return m


def update(resources=RESOURCES, annotations=(("io.kubernetes.cri.container-type", "container"),)):
    m = f_bytes(1, "web")
    if resources is not None:
        m += f_bytes(2, any_("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources", resources))
    for k, v in annotations:
        m += f_bytes(3, f_bytes(1, k) + f_bytes(2, v))
    return m


def id_exec(id_="web", exec_id=""):
    return f_bytes(1, id_) + (f_bytes(2, exec_id) if exec_id else b"")


SHIM_REQUESTS = {
    "State": id_exec("web", "exec-1"),
    "Create": create(),
    "Start": id_exec(),
    "Delete": id_exec("web", "exec-1"),
    "Pids": f_bytes(1, "web"),
    "Pause": f_bytes(1, "web"),
    "Resume": f_bytes(1, "web"),
    "Checkpoint": f_bytes(1, "web") + f_bytes(2, "/var/lib/checkpoint") +
    f_bytes(3, any_("containerd.runc.v1.CheckpointOptions", b"\x08\x01")),
    "Kill": id_exec() + f_varint(3, 9) + f_varint(4, 1),
    "Exec": exec_(),
    "ResizePty": id_exec("web", "exec-1") + f_varint(3, 132) + f_varint(4, 43),
    "CloseIO": id_exec("web", "exec-1") + f_varint(3, 1),
    "Update": update(),
    "Wait": id_exec(),
    "Stats": f_bytes(1, "web"),
    "Connect": f_bytes(1, "web"),
    "Shutdown": f_bytes(1, "web") + f_varint(2, 1),
}


def shim_requests():
    c = {}
    for i, (method, payload) in enumerate(SHIM_REQUESTS.items()):
        c["req-" + method] = frame(request(method, payload, timeout=10_000_000_000), stream=2 * i + 1)

    # Create: the rootfs mounts containerd hands over, and the runtime options
    c["create-bind"] = frame(request("Create", create(rootfs=(BIND,))))
    c["create-two-mounts"] = frame(request("Create", create(rootfs=(BIND, OVERLAY))))
    c["create-no-rootfs"] = frame(request("Create", create(rootfs=(), options=b"")))
    c["create-flag-words"] = frame(request("Create", create(rootfs=(mount("ext4", "/dev/vdb", [
        "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "mand", "noatime",
        "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime", "nosuid", "rbind",
        "relatime", "remount", "ro", "rw", "strictatime", "suid", "sync", "errors=remount-ro", ""]),))))
    c["create-long-options"] = frame(request("Create", create(rootfs=(mount("overlay", "overlay", [
        "lowerdir=" + ":".join(SNAP + "%d/fs" % i for i in range(60))]),))))
    c["create-many-options"] = frame(request("Create", create(rootfs=(mount("overlay", "overlay",
                                                                            ["o%d" % i for i in range(300)]),))))
    c["create-bad-options-any"] = frame(request("Create", create(options=any_("runtimeoptions.v1.Options",
                                                                              b"\x0a\xff"))))
    c["create-other-options"] = frame(request("Create", create(options=any_(
        "containerd.runc.v1.Options", f_varint(2, 1) + f_bytes(5, "/usr/bin/runc")))))
    c["create-checkpoint"] = frame(request("Create", create(checkpoint="/var/lib/ckpt")))
    c["create-bad-id"] = frame(request("Create", create(id_="../../etc")))

    # Exec and Update: JSON in an Any, with the pod functions run on it
    c["exec-container-spec"] = frame(request("Exec", exec_(CONTAINER_SPEC)))
    c["exec-sandbox-spec"] = frame(request("Exec", exec_(SANDBOX_SPEC)))
    c["exec-foreign-ns"] = frame(request("Exec", exec_({"linux": {"namespaces": [
        {"type": "network", "path": "/var/run/netns/x"}, {"type": "ipc", "path": "/proc/12/ns/ipc"},
        {"type": "uts", "path": "/proc/13/ns/../x"}, {"type": "pid", "path": "/proc/13/ns/"}]}})))
    c["exec-two-netns"] = frame(request("Exec", exec_({"linux": {"namespaces": [
        {"type": "network"}, {"type": "network", "path": 5}, {"type": "network", "path": ""}]}})))
    c["exec-odd-json"] = frame(request("Exec", exec_({"annotations": {
        "io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": ""},
        "linux": {"namespaces": {"type": "network"}}, "args": []})))
    c["exec-json-array"] = frame(request("Exec", exec_([1, 2, {"linux": None}])))
    c["exec-json-dup"] = frame(request("Exec", exec_('{"args":["a"],"args":["b"]}')))
    c["exec-json-deep"] = frame(request("Exec", exec_("[" * 3000 + "]" * 3000)))
    c["exec-json-truncated"] = frame(request("Exec", exec_('{"args":["/bin/sh"')))
    c["exec-no-spec"] = frame(request("Exec", exec_(None)))
    c["exec-bad-exec-id"] = frame(request("Exec", exec_(exec_id="a/b")))
    c["update-sandbox-spec"] = frame(request("Update", update(SANDBOX_SPEC)))
    c["update-no-resources"] = frame(request("Update", update(None, annotations=())))
    c["update-many-annotations"] = frame(request("Update", update(annotations=[("k%d" % i, "v")
                                                                               for i in range(200)])))

    # whole sessions, as containerd drives a pod: sandbox, container, exec, teardown
    session = [("Connect", SHIM_REQUESTS["Connect"]), ("Create", create("sb", options=RUNTIME_OPTIONS)),
               ("Start", id_exec("sb")), ("Create", create("web", rootfs=(BIND,))), ("Start", id_exec("web")),
               ("Wait", id_exec("web")), ("Exec", exec_()), ("Start", id_exec("web", "exec-1")),
               ("ResizePty", SHIM_REQUESTS["ResizePty"]), ("CloseIO", SHIM_REQUESTS["CloseIO"]),
               ("Wait", id_exec("web", "exec-1")), ("Update", update()), ("Stats", f_bytes(1, "web")),
               ("Pids", f_bytes(1, "web")), ("Kill", SHIM_REQUESTS["Kill"]), ("Delete", id_exec("web")),
               ("Shutdown", f_bytes(1, "sb"))]
    c["session-pod"] = b"".join(frame(request(m, p), 2 * i + 1) for i, (m, p) in enumerate(session))
    c["session-waits"] = b"".join(frame(request("Wait", id_exec("web", "e%d" % i)), 2 * i + 1) for i in range(12))

    # what the server must refuse or survive
    c["unknown-method"] = frame(request("Frobnicate", b"\x0a\x01x"))
    c["other-service"] = frame(request("Create", create(), service="containerd.task.v3.Task"))
    c["undecodable-payload"] = frame(request("Kill", b"\x0f\x01"))
    c["undecodable-envelope"] = frame(b"\x0a\xff\xff")
    c["even-stream"] = frame(request("Connect"), 1) + frame(request("Connect"), 2) + frame(request("Connect"), 3)
    c["response-frame"] = frame(request("Connect"), 1) + frame(g.response(), 3, RESP) + frame(request("Connect"), 5)
    c["data-frame"] = frame(request("Connect"), 1) + frame(b"x", 3, DATA) + frame(request("Connect"), 5)
    c["oversized-then-valid"] = frame(f_bytes(1, SERVICE) + f_bytes(2, "Create") +
                                      f_bytes(3, b"\x00" * (SERVER_MAX_FRAME + 16)), 1) + \
        frame(request("Connect", SHIM_REQUESTS["Connect"]), 3)
    c["oversized-even-then-valid"] = frame(b"", 4, length=SERVER_MAX_FRAME + 1) + b"\x00" * (SERVER_MAX_FRAME + 1) + \
        frame(request("State", SHIM_REQUESTS["State"]), 5)
    c["oversized-decoder"] = frame(b"", 1, length=FUZZ_MAX_FRAME + 1) + b"\x00" * 32
    c["huge-length"] = frame(request("Connect"), 1) + frame(b"", 3, length=0xFFFFFFFF)
    c["truncated"] = frame(request("Create", create()))[:-7]
    c["zero-frames"] = frame(b"", 1) * 40
    c["many-small"] = b"".join(frame(request("Pids", f_bytes(1, "w")), 2 * i + 1) for i in range(300))
    c["wrong-wiretype"] = frame(request("Create", key(3, 0) + varint(5) + key(1, 0) + varint(1)))
    c["unknown-fields"] = frame(request("State", f_varint(99, 1) + f_bytes(100, b"zz") + SHIM_REQUESTS["State"]))
    c["garbage"] = bytes((i * 53 + 7) & 0xFF for i in range(400))
    return c


# --- agent answers (guest -> shim) ------------------------------------------------------------------

def stat_key(k, v):
    return f_bytes(1, k) + f_varint(2, v)


def io_stat(major, minor, rb, wb, rio, wio):
    return f_varint(1, major) + f_varint(2, minor) + f_varint(3, rb) + f_varint(4, wb) + f_varint(5, rio) + \
        f_varint(6, wio)


def stats(memory_max=536870912, swap_max=0, stat=(), events=(), io=()):
    m = f_varint(1, 123456) + f_varint(2, 100000) + f_varint(3, 23456) + f_varint(4, 50) + f_varint(5, 3) + \
        f_varint(6, 9000) + f_varint(7, 104857600)
    if memory_max:
        m += f_varint(8, memory_max)
    m += f_varint(9, 4096)
    if swap_max:
        m += f_varint(10, swap_max)
    m += f_varint(11, 7) + f_varint(12, 1024)
    for k, v in stat:
        m += f_bytes(13, stat_key(k, v))
    for k, v in events:
        m += f_bytes(14, stat_key(k, v))
    for e in io:
        m += f_bytes(15, io_stat(*e))
    return m


MEMORY_STAT = [("anon", 1 << 20), ("file", 2 << 20), ("kernel_stack", 16384), ("slab", 65536),
               ("inactive_file", 1 << 19), ("active_file", 1 << 18), ("pgfault", 1000), ("pgmajfault", 3),
               ("workingset_refault", 0), ("thp_collapse_alloc", 1), ("not_a_key", 42)]
MEMORY_EVENTS = [("low", 0), ("high", 2), ("max", 5), ("oom", 1), ("oom_kill", 1), ("oom_group_kill", 9)]
IO = [(8, 0, 4096, 8192, 1, 2), (253, 1, 1 << 40, 1 << 41, 1 << 20, 1 << 21)]
U64 = (1 << 64) - 1


def shim_guest():
    c = {}
    c["stats-full"] = stats(stat=MEMORY_STAT, events=MEMORY_EVENTS, io=IO)
    c["stats-no-limit"] = stats(memory_max=0, swap_max=0)
    c["stats-swap-limit"] = stats(swap_max=1 << 30, stat=[("anon", 5)])
    c["stats-empty"] = b""
    c["stats-max-values"] = b"".join(f_varint(i, U64) for i in range(1, 13)) + \
        f_bytes(13, stat_key("anon", U64)) + f_bytes(14, stat_key("oom_kill", U64)) + \
        f_bytes(15, io_stat(0xFFFFFFFF, 0xFFFFFFFF, U64, U64, U64, U64))
    c["stats-many-io"] = stats(io=[(8, i, i, i, i, i) for i in range(40)])
    c["stats-many-keys"] = stats(stat=[("k%d" % i, i) for i in range(70)] + [("inactive_file", 77)],
                                 events=[("x%d" % i, i) for i in range(66)] + [("oom_kill", 3)])
    c["stats-dup-keys"] = stats(stat=[("anon", 1), ("anon", 2), ("file", 3)], events=[("oom", 1), ("oom", 4)])
    c["stats-empty-entries"] = f_bytes(13, b"") + f_bytes(14, b"") + f_bytes(15, b"")
    c["stats-key-bytes"] = stats(stat=[(b"anon\x00x", 5), (b"\xff\xfe", 6)], events=[("", 1)])
    c["oom-event"] = f_bytes(1, "web")
    c["oom-event-bad-id"] = f_bytes(1, "../../x")
    c["create-pid"] = f_varint(1, 4242)
    c["pids-packed"] = f_bytes(1, b"".join(varint(p) for p in [1, 7, 42, 4242, 0xFFFFFFFF]))
    c["pids-unpacked"] = b"".join(f_varint(1, p) for p in [1, 7, 42])
    c["pids-many"] = f_bytes(1, b"".join(varint(p) for p in range(1, 5000)))
    c["pids-overlong"] = f_bytes(1, b"\xff" * 10 + b"\x01")
    c["garbage"] = bytes((i * 29 + 3) & 0xFF for i in range(200))
    return c


# --- configuration ---------------------------------------------------------------------------------

CONFIG_FULL = """# hako's configuration
[hypervisor]
path = "qemu-system-x86_64"
machine = "microvm"
accel = "kvm"
kernel = "/usr/local/share/hako/vmlinux"
initrd = '/usr/local/share/hako/initrd.img'
kernel_params = "quiet\\tloglevel=3 \\"x\\" \\\\"
default_vcpus = 2
default_memory = 512
max_vcpus = 8
max_memory = 8192
templates = false
debug_console = true
enable_annotations = ["vcpus", "memory", "kernel_params"]
"""

CONFIG_ARRAY = """[hypervisor]
enable_annotations = [
  "vcpus",     # how many
  # a comment line inside
  'memory',
  "kernel_params"
  "machine",
]   # after
default_vcpus = 1
"""

CONFIG_ERRORS = {
    "unknown-section": "[hypervisor]\ndefault_vcpus = 1\n[qemu]\n",
    "unknown-key": "[hypervisor]\nfrobnicate = 1\n",
    "bad-type": "[hypervisor]\ndefault_vcpus = \"2\"\n",
    "bad-bool": "[hypervisor]\ntemplates = yes\n",
    "unterminated-string": "[hypervisor]\nkernel = \"/boot/vmlinuz\n",
    "bad-escape": "[hypervisor]\nkernel = \"a\\qb\"\n",
    "vcpus-zero": "[hypervisor]\ndefault_vcpus = 0\n",
    "vcpus-65": "[hypervisor]\ndefault_vcpus = 65\n",
    "memory-64": "[hypervisor]\ndefault_memory = 64\n",
    "memory-huge": "[hypervisor]\nmax_memory = 1048577\n",
    "int-overflow": "[hypervisor]\ndefault_vcpus = 99999999999999999999\n",
    "int-trailing": "[hypervisor]\ndefault_vcpus = 2x\n",
    "malformed-array": "[hypervisor]\nenable_annotations = [\"a\" \"b\"]\n",
    "array-number": "[hypervisor]\nenable_annotations = [\"a\", 1]\n",
    "array-unterminated": "[hypervisor]\nenable_annotations = [\n  \"a\",\n",
    "array-too-long": "[hypervisor]\nenable_annotations = [" + ", ".join('"a%d"' % i for i in range(65)) + "]\n",
    "outside-section": "default_vcpus = 1\n[hypervisor]\n",
    "vcpus-above-max": "[hypervisor]\ndefault_vcpus = 4\nmax_vcpus = 2\n",
    "memory-above-max": "[hypervisor]\ndefault_memory = 1024\nmax_memory = 512\n",
    "section-unterminated": "[hypervisor\n",
    "section-trailing": "[hypervisor] x\n",
    "section-empty": "[]\n",
    "no-equals": "[hypervisor]\ndefault_vcpus 1\n",
    "uppercase-key": "[hypervisor]\nPath = \"x\"\n",
    "bad-accel": "[hypervisor]\naccel = \"hvf\"\n",
    "bad-machine": "[hypervisor]\nmachine = \"q35\"\n",
    "trailing-garbage": "[hypervisor]\npath = \"a\" \"b\"\n",
    "nul-byte": "[hypervisor]\npath = \"a\x00b\"\n",
    "long-string": "[hypervisor]\nkernel_params = \"" + "x" * 5000 + "\"\n",
    "long-key": "[hypervisor]\n" + "k" * 70 + " = 1\n",
    "error-late": "# c\n\n[hypervisor]\n\n# c\ndefault_vcpus = 1\nenable_annotations = [\n \"a\",\n\n]\nbogus = 2\n",
}

ANNOTATIONS = {
    "sizes": {"org.hako.vcpus": "4", "org.hako.memory": "1024"},
    "memory-suffix": {"org.hako.memory": "512m"},
    "memory-suffixes": {"org.hako.memory": "2GiB"},
    "kernel-params": {"org.hako.kernel_params": "quiet loglevel=3"},
    "kernel-params-quote": {"org.hako.kernel_params": "init=\"/bin/sh\""},
    "machine-templates": {"org.hako.machine": "pc", "org.hako.templates": "false",
                          "org.hako.debug_console": "true"},
    "kernel-path": {"org.hako.kernel": "/etc/hostname", "org.hako.initrd": "relative"},
    "unknown": {"org.hako.frobnicate": "1", "org.hako.": "x"},
    "not-hako": {"io.kubernetes.cri.container-type": "sandbox", "org.hakox.vcpus": "99", "org": 1},
    "not-string": {"org.hako.vcpus": 4},
    "out-of-range": {"org.hako.vcpus": "65", "org.hako.memory": "64"},
    "above-max": {"org.hako.vcpus": "9", "org.hako.memory": "4097"},
}


def config():
    c = {"full": CONFIG_FULL, "array": CONFIG_ARRAY, "minimal": "[hypervisor]\n", "empty": "",
         "comments": "# only\n   # comments\n\n", "crlf": CONFIG_FULL.replace("\n", "\r\n"),
         "no-newline": "[hypervisor]\ndefault_vcpus = 3"}
    for name, text in CONFIG_ERRORS.items():
        c["err-" + name] = text
    for name, obj in ANNOTATIONS.items():
        c["json-" + name] = json.dumps(obj)
    c["json-not-object"] = '["org.hako.vcpus"]'
    c["json-dup"] = '{"org.hako.vcpus":"2","org.hako.vcpus":"3"}'
    return {k: v.encode("latin-1") if isinstance(v, str) else v for k, v in c.items()}


def write(out, corpus):
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.startswith("gen-"):
            os.unlink(os.path.join(out, name))
    for name, data in sorted(corpus.items()):
        with open(os.path.join(out, "gen-" + name), "wb") as f:
            f.write(data)
    print(f"wrote {len(corpus)} files to {out}")


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(_here, "corpus")
    write(os.path.join(top, "shim-requests"), shim_requests())
    write(os.path.join(top, "shim-guest"), shim_guest())
    write(os.path.join(top, "config"), config())


if __name__ == "__main__":
    main()
