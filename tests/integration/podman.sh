#!/usr/bin/env bash
# podman (Debian's 4.3, with conmon) with hako as its OCI runtime (--runtime): storage and state
# under a temporary directory, the image loaded from an archive built here. TAP.
# usage: podman.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD point at the guest image)
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=$(readlink -f "${1:?usage: podman.sh HAKO_BINARY}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
command -v podman >/dev/null || { echo "1..0 # SKIP podman not installed"; exit 0; }

work=$(mktemp -d /tmp/hpm.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
. "$here/tap-lib.sh"
. "$here/clients-lib.sh"
pm() {
  podman --root "$work/storage" --runroot "$work/run" --tmpdir "$work/tmp" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --runtime "$work/hako-runtime" "$@"
}
rund() { out=$(pm "$@" 2>"$work/err" </dev/null); rc=$?; err=$(cat "$work/err"); }
img=localhost/hako-test/busybox:latest
# No CAP_SYS_RESOURCE on the test machines: podman must not try to raise the hard rlimits.
R=(--network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

cleanup() {
  pm rm -f -a -t 0 >/dev/null 2>&1
  reap_under "$work"
  rm -rf "$work"
}
trap cleanup EXIT

hako_runtime_wrapper "$work/hako-runtime" "$HAKO"
busybox_image_archive "$HAKO" "$work/img.tar" hako-test/busybox:latest && pm load -i "$work/img.tar" >/dev/null 2>&1
check "podman load of a locally built image" 0 "$?"

rund run --rm "${R[@]}" "$img" sh -c 'echo out; echo err >&2; exit 3'
check "run: exit code, stdout and stderr apart" "3 out err" "$rc $out $err"
check "run -i: stdin" "hello" "$(echo hello | pm run --rm -i "${R[@]}" "$img" cat 2>&1)"
rund run --rm -t "${R[@]}" "$img" tty
check "run -t: a terminal" "0 /dev/pts/0" "$rc $(tr -d '\r' <<<"$out")"
rund run --rm -e FOO=bar -w /tmp -u 1000:1001 "${R[@]}" "$img" sh -c 'echo $FOO $(pwd) $(id -u) $(id -g)'
check "run -e -w -u" "0 bar /tmp 1000 1001" "$rc $out"

rund run -d --name web "${R[@]}" "$img" sleep 1000
check "run -d" 0 "$rc"
rund exec web sh -c 'echo in-exec; exit 4'
check "exec: output and exit code" "4 in-exec" "$rc $out"
check "exec -i: stdin" "piped" "$(echo piped | pm exec -i web cat 2>&1)"
rund exec -t web tty
check "exec -t: a terminal" "0 /dev/pts/0" "$rc $(tr -d '\r' <<<"$out")"
t0=$(date +%s%N)
rund stop -t 2 web
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "stop: SIGKILL after the timeout (137)" "0 137" "$rc $(pm inspect -f '{{.State.ExitCode}}' web)"
check "stop: waited for the timeout" 1 "$([ "$ms" -ge 2000 ] && echo 1 || echo "$ms ms")"
pm rm web >/dev/null 2>&1

check "no containers left" "" "$(pm ps -aq)"
check "no VM or virtiofsd left" "" "$(pgrep -f "qemu-system.*$work|virtiofsd.*$work")"
tap_done
