#!/usr/bin/env bash
# Nested containers (issue 11), under one private dockerd with hako and runc side by side:
#   1. `podman run --rm` and `podman build` (FROM busybox + one RUN) inside a hako container that
#      holds the engine capabilities but is not privileged (median of RUNS rounds), and what runc
#      does with the same image, capabilities and commands in the same run;
#   2. the sandbox's host memory (PSS of QEMU + virtiofsd + the hako process) and the scratch
#      disk's allocated size after a podman build;
#   3. the scratch disk's cost on `hako run --rm busybox true` ([storage] disk_size = 0 against
#      the default, interleaved).
# usage: bench/nested.sh [BUILD_DIR] [RUNS]   (HAKO_KERNEL/HAKO_INITRD as for the tests)
set -euo pipefail
build=${1:-build}
runs=${2:-3}
hako=$(readlink -f "$build/src/cli/hako")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/hbn.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-/var/tmp/hako-test-images}
. "$here/../tests/integration/clients-lib.sh"
. "$here/lib.sh"
trap 'set +e; dockerd_stop "$work" >/dev/null 2>&1; rm -rf "$work"' EXIT
bash "$here/../tests/images/nested.sh" >&2
IMG=$(bash "$here/../tests/images/nested.sh" --print-path)
CAPS=(); for c in SYS_ADMIN SYS_RESOURCE NET_ADMIN MKNOD SETUID SETGID SYS_CHROOT NET_RAW SYS_PTRACE; do CAPS+=(--cap-add "$c"); done

dockerd_start "$work" "$hako" || { echo "dockerd did not start"; exit 1; }
dk import "$IMG/rootfs.tar" hako-test/nested:1 >/dev/null
inner='ms() { echo $(($(date +%s%N) / 1000000)); }
podman import /inner-busybox.tar inner >/dev/null 2>&1
t0=$(ms); podman run --rm inner true && echo "run $(($(ms) - t0))"
printf "FROM localhost/inner\nRUN echo built > /built.txt\n" >/tmp/Containerfile
t0=$(ms); podman build -q -t built -f /tmp/Containerfile /tmp >/dev/null && echo "build $(($(ms) - t0))"'

echo "== podman inside a container with the engine capabilities (not privileged), $runs rounds"
: >"$work/runs"; : >"$work/builds"
for i in $(seq "$runs"); do
  out=$(dk run --rm --runtime hako --network none "${CAPS[@]}" hako-test/nested:1 sh -c "$inner" 2>&1)
  awk '/^run /{print $2}' <<<"$out" >>"$work/runs"; awk '/^build /{print $2}' <<<"$out" >>"$work/builds"
  runc_out=$(dk run --rm --runtime runc --network none "${CAPS[@]}" hako-test/nested:1 sh -c "$inner" 2>&1 || true)
done
echo "hako: podman run --rm median $(median <"$work/runs") ms, podman build median $(median <"$work/builds") ms ($(wc -l <"$work/builds") of $runs builds ok)"
echo "runc: $(grep -m1 -iE 'error|denied|fail' <<<"$runc_out" || echo "${runc_out:0:200}")"

echo "== host memory and disk after a podman build"
id=$(dk run -d --runtime hako --network none "${CAPS[@]}" hako-test/nested:1 sleep 1000)
dk exec "$id" sh -c "$inner" >/dev/null 2>&1
disk=$(ls -t /var/lib/hako/disks/*.img | head -1)
pids=$(pgrep -f "hako-$id|virtiofsd.*$id" | tr '\n' ' ')
qemu=$(pgrep -f "qemu-system.*hako-$id" | head -1)
kb=$(( $(for p in $pids $(pgrep -f "hako.*create.*$id" || true); do pss "$p"; done | paste -sd+ | bc) + $(guest_ram_unmapped_kb "$qemu" 2>/dev/null) ))
echo "sandbox host PSS after the build: $((kb / 1024)) MB (QEMU, virtiofsd, hako)"
echo "scratch disk: $(du -m "$disk" | cut -f1) MB allocated of $(($(stat -c %s "$disk") >> 30)) GiB"
dk rm -f "$id" >/dev/null

echo "== scratch disk cost on hako run --rm busybox true ($((runs * 4)) each, interleaved)"
printf '[storage]\ndisk_size = 0\n' >"$work/nodisk.toml"
: >"$work/with"; : >"$work/without"
HAKO_CONFIG= "$hako" --root "$work/r" run --rm busybox true
HAKO_CONFIG="$work/nodisk.toml" "$hako" --root "$work/r" run --rm busybox true
for i in $(seq $((runs * 4))); do
  t0=$(date +%s%N); HAKO_CONFIG= "$hako" --root "$work/r" run --rm busybox true; echo $((($(date +%s%N) - t0) / 1000000)) >>"$work/with"
  t0=$(date +%s%N); HAKO_CONFIG="$work/nodisk.toml" "$hako" --root "$work/r" run --rm busybox true; echo $((($(date +%s%N) - t0) / 1000000)) >>"$work/without"
done
w=$(median <"$work/with"); wo=$(median <"$work/without")
echo "hako run --rm busybox true: with the disk $w ms, without $wo ms (median; +$((${w%.*} - ${wo%.*})) ms)"
