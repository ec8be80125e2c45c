#!/usr/bin/env bash
# containerd 1.6 (Debian's) with its runc shim pointed at hako (`ctr run --runc-binary`): a private
# containerd with root, state and socket under a temporary directory. TAP.
# usage: containerd.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD point at the guest image)
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=$(readlink -f "${1:?usage: containerd.sh HAKO_BINARY}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
command -v containerd >/dev/null && command -v ctr >/dev/null || { echo "1..0 # SKIP containerd not installed"; exit 0; }

work=$(mktemp -d /tmp/hct.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
. "$here/tap-lib.sh"
. "$here/clients-lib.sh"
c() { ctr --address "$work/c.sock" "$@"; }
rund() { out=$(c "$@" 2>"$work/err" </dev/null); rc=$?; err=$(cat "$work/err"); }
img=docker.io/hako-test/busybox:latest
RB=(--runc-binary "$work/hako-runtime" --runc-root "$work/hako-root")

cleanup() {
  for t in $(c task ls -q 2>/dev/null); do c task kill -s KILL "$t" >/dev/null 2>&1; c task rm -f "$t" >/dev/null 2>&1; done
  for t in $(c containers ls -q 2>/dev/null); do c containers rm "$t" >/dev/null 2>&1; done
  [ -f "$work/containerd.pid" ] && kill "$(cat "$work/containerd.pid")" 2>/dev/null
  sleep 0.5
  reap_under "$work"
  rm -rf "$work"
}
trap cleanup EXIT

hako_runtime_wrapper "$work/hako-runtime" "$HAKO"
cat >"$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/c.sock"
TOML
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
echo $! >"$work/containerd.pid"
for _ in $(seq 100); do c version >/dev/null 2>&1 && break; sleep 0.2; done
c version >/dev/null 2>&1 || { echo "Bail out! containerd did not start"; tail -20 "$work/containerd.log" | sed 's/^/# /'; exit 1; }

busybox_image_archive "$HAKO" "$work/img.tar" hako-test/busybox:latest && c images import "$work/img.tar" >/dev/null
check "ctr images import of a locally built image" 0 "$?"

rund run --rm "${RB[@]}" "$img" r1 sh -c 'echo out; echo err >&2; exit 3'
# (no stdin test: ctr does not pass on the end of its input, with runc either)
check "run: exit status, stdout and stderr apart" "3 out err" "$rc $out $err"

# In the background, as a user would run it in another terminal: ctr exits with the task's status.
c run --rm "${RB[@]}" "$img" bg sh -c 'trap "exit 6" TERM; echo ready >/tmp/ready; while :; do sleep 0.1; done' \
  </dev/null >"$work/bg.out" 2>&1 &
bg=$!
for _ in $(seq 300); do c task exec --exec-id probe bg cat /tmp/ready 2>/dev/null | grep -q ready && break; sleep 0.2; done
rund task exec --exec-id e1 bg sh -c 'echo in-exec; exit 4'
check "task exec: output and exit status" "4 in-exec" "$rc $out"
rund task ls
check "task ls: running" 1 "$(grep -c 'bg .*RUNNING' <<<"$out")"
rund task kill -s SIGTERM bg
check "task kill -s SIGTERM" 0 "$rc"
wait "$bg"
check "ctr run exits with the container's status" 6 "$?"

check "no VM or virtiofsd left" "" "$(pgrep -f "qemu-system.*$work|virtiofsd.*$work")"
check "hako's state root is empty" "" "$(ls -A "$work/hako-root/default" 2>/dev/null)"
tap_done
