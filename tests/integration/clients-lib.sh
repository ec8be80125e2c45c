# Sourced by the tests and benchmarks that drive hako through real clients (docker, podman,
# containerd): the runtime wrapper, the busybox image archive, and a private dockerd with hako
# registered as the runtime "hako", everything under $1.
# dockerd_start WORK HAKO_BINARY  (HAKO_KERNEL/HAKO_INITRD exported)   dockerd_stop WORK
# dk ARGS...  runs the docker client against it (after dockerd_start).

# The runtime as dockerd's shim calls it, with the guest image of the caller's environment.
hako_runtime_wrapper() { # out-path hako-binary
  cat >"$1" <<SH
#!/bin/sh
export HAKO_KERNEL='$HAKO_KERNEL' HAKO_INITRD='$HAKO_INITRD' HAKO_BOOT_TIMEOUT='${HAKO_BOOT_TIMEOUT:-60}'
exec '$2' "\$@"
SH
  chmod +x "$1"
}

dockerd_start() {
  DK_WORK=$1
  hako_runtime_wrapper "$1/hako-runtime" "$2"
  cat >"$1/daemon.json" <<JSON
{"runtimes": {"hako": {"path": "$1/hako-runtime"}},
 "bridge": "none", "iptables": false, "ip6tables": false, "ip-masq": false}
JSON
  dockerd --config-file "$1/daemon.json" --data-root "$1/data" --exec-root "$1/x" \
    --pidfile "$1/docker.pid" -H "unix://$1/d.sock" >"$1/dockerd.log" 2>&1 &
  for _ in $(seq 150); do dk info >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

# Debian's client, the daemon's own version, when another docker is first on PATH.
DOCKER_CLI=$([ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker)
dk() { "$DOCKER_CLI" -H "unix://$DK_WORK/d.sock" "$@"; }

dockerd_stop() {
  local ids pid
  ids=$(dk ps -aq 2>/dev/null)
  [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1 || true
  pid=$(cat "$1/docker.pid" 2>/dev/null)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  reap_under "$1"
}

# Kills every process whose command line names DIR and unmounts what is mounted below it.
reap_under() {
  for p in $(pgrep -f "$1"); do kill -9 "$p" 2>/dev/null || true; done
  { grep " $1" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  return 0
}

# The built-in busybox rootfs as an image archive (docker load / podman load / ctr import).
busybox_image_archive() { # hako-binary out.tar name:tag
  local rootfs=$HAKO_IMAGE_ROOT/busybox/rootfs
  [ -d "$rootfs" ] || "$1" --root "$(dirname "$2")/hako-img-root" run --rm busybox true >/dev/null 2>&1
  python3 "$(dirname "${BASH_SOURCE[0]}")/mkimage.py" "$rootfs" "$3" "$2"
}

# A private containerd with its CRI plugin, the shim as runtime "hako" (io.containerd.hako.v2,
# the default) and runc.v2 as "runc", for the pod tests and benchmarks: root, state, socket and
# the shim's state under $1. The shim comes from a wrapper on containerd's PATH that gives it the
# guest image of the caller's environment; $3 is the hako flavour's configuration file.
# cri_start WORK SHIM_BINARY [CONFIG]   then cri ARGS... (crictl) and c ARGS... (ctr -n k8s.io).
# containerd runs in a network namespace of its own (the node's, for the test): its CNI bridge
# (10.215.0.0/24, bridge hkcni0) and the pods' veths never touch the host's network.
cri_start() {
  local work=$1 shim=$2 config=${3:-}
  CRI_WORK=$work
  CRI_NETNS=hkcri-$$
  mkdir -p "$work/bin" "$work/cni" "$work/logs"
  ip netns add "$CRI_NETNS" && ip -n "$CRI_NETNS" link set lo up || return 1
  cat >"$work/cni/10-hako-test.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "hako-test",
 "plugins": [{"type": "bridge", "bridge": "hkcni0", "isGateway": true, "ipMasq": false,
              "ipam": {"type": "host-local", "dataDir": "$work/cni-ipam",
                       "ranges": [[{"subnet": "10.215.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
JSON
  cat >"$work/bin/containerd-shim-hako-v2" <<SH
#!/bin/sh
export HAKO_KERNEL='$HAKO_KERNEL' HAKO_INITRD='$HAKO_INITRD' HAKO_BOOT_TIMEOUT='${HAKO_BOOT_TIMEOUT:-60}'
export HAKO_ROOT='$work/hako' HAKO_CONFIG='$config'
# A sanitizer build's reports would go to the serving shim's stderr, /dev/null: into files instead.
[ -n "\${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS="\$ASAN_OPTIONS:log_path=$work/sanitizer"
[ -n "\${UBSAN_OPTIONS:-}" ] && export UBSAN_OPTIONS="\$UBSAN_OPTIONS:log_path=$work/sanitizer"
exec '$shim' "\$@"
SH
  chmod +x "$work/bin/containerd-shim-hako-v2"
  cat >"$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
[grpc]
  address = "$work/c.sock"
[plugins."io.containerd.grpc.v1.cri"]
  # Root here lacks CAP_SYS_RESOURCE: a sandbox's oom_score_adj of -998 cannot be set.
  restrict_oom_score_adj = true
  sandbox_image = "docker.io/hako-test/pause:1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = "$work/cni"
    bin_dir = "/usr/lib/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "hako"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hako]
      runtime_type = "io.containerd.hako.v2"
      pod_annotations = ["org.hako.*"]
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
TOML
  cat >>"$work/config.toml" <<<"${CRI_EXTRA_CONFIG:-}"
  PATH="$work/bin:$PATH" nsenter --net="/var/run/netns/$CRI_NETNS" containerd --config "$work/config.toml" \
    >"$work/containerd.log" 2>&1 &
  echo $! >"$work/containerd.pid"
  for _ in $(seq 100); do cri version >/dev/null 2>&1 && break; sleep 0.2; done
  cri version >/dev/null 2>&1
}
# In the node's namespace: CRI's streaming server (exec, attach) listens on its loopback.
cri() { on_node "$CRICTL" --runtime-endpoint "unix://$CRI_WORK/c.sock" --image-endpoint "unix://$CRI_WORK/c.sock" --timeout 120s "$@"; }
c() { ctr --address "$CRI_WORK/c.sock" -n k8s.io "$@"; }
cri_stop() {
  local pid
  cri rmp -f -a >/dev/null 2>&1
  pid=$(cat "$CRI_WORK/containerd.pid" 2>/dev/null)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  reap_under "$CRI_WORK"
  [ -z "${CRI_NETNS:-}" ] || ip netns del "$CRI_NETNS" 2>/dev/null
  return 0
}
# Runs a command in the node's network namespace (cri_start's).
on_node() { nsenter --net="/var/run/netns/$CRI_NETNS" "$@"; }
# The pause image (a static binary that waits for a signal) and the busybox image, imported.
cri_images() { # work hako-binary
  mkdir -p "$1/pauseroot"
  printf '#include <signal.h>\n#include <unistd.h>\nstatic void done(int s) { (void)s; _exit(0); }\nint main(void) { signal(SIGTERM, done); signal(SIGINT, done); for (;;) pause(); }\n' >"$1/pause.c"
  gcc -static -O2 -o "$1/pauseroot/pause" "$1/pause.c" &&
    python3 "$(dirname "${BASH_SOURCE[0]}")/mkimage.py" "$1/pauseroot" hako-test/pause:1 "$1/pause.tar" /pause &&
    c images import "$1/pause.tar" >/dev/null &&
    busybox_image_archive "$2" "$1/busybox.tar" hako-test/busybox:latest &&
    c images import "$1/busybox.tar" >/dev/null
}
# crictl: $CRICTL, else on PATH, else the workplace's shared tools (beside the checkout, or in
# /work/shared for a clone elsewhere). Debian does not package it.
find_crictl() {
  local here
  here=$(dirname "${BASH_SOURCE[0]}")
  if [ -n "${CRICTL:-}" ] && [ -x "$CRICTL" ]; then echo "$CRICTL"
  elif command -v crictl >/dev/null; then command -v crictl
  elif [ -x "$here/../../../shared/tools/crictl-path" ]; then "$here/../../../shared/tools/crictl-path"
  elif [ -x /work/shared/tools/crictl-path ]; then /work/shared/tools/crictl-path
  else return 1; fi
}
