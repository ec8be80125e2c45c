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
