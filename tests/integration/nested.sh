#!/usr/bin/env bash
# Nested containers (docs/nested.md): podman run, podman build and runc inside a hako container
# that is not privileged but holds the capabilities an engine needs, and inside a privileged one,
# under hako run, Docker, podman and a CRI pod; plus an AI-agent-shaped sandbox with no
# capabilities. The test image (Debian 12 with podman, crun, runc, fuse-overlayfs, uidmap,
# iptables) is built by tests/images/nested.sh from Debian's mirror and cached outside the tree;
# the inner image is busybox, imported inside from a tarball. No network beyond the mirror.
# usage: nested.sh HAKO_BINARY [SHIM_BINARY]   (HAKO_KERNEL / HAKO_INITRD set). TAP.
#   NESTED_QUICK=1 (the default with a sanitizer build): podman run only, no build or runc, in
#   every case; otherwise the hako run and Docker cases also run runc and podman build inside.
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=$(readlink -f "${1:?usage: nested.sh HAKO_BINARY [SHIM_BINARY]}")
SHIM=${2:+$(readlink -f "$2")}
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
bash "$here/../images/nested.sh" >&2 || { echo "Bail out! cannot build the nested test image"; exit 1; }
IMG=$(bash "$here/../images/nested.sh" --print-path)

work=$(mktemp -d /tmp/hns.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
. "$here/tap-lib.sh"
. "$here/clients-lib.sh"
root=$work/hako
hk() { "$HAKO" --root "$root" "$@"; }
pm() {
  podman --root "$work/storage" --runroot "$work/run" --tmpdir "$work/tmp" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --runtime "$work/hako-runtime" "$@"
}
cleanup() {
  [ -z "${CRI_WORK:-}" ] || cri_stop
  [ -z "${DK_WORK:-}" ] || dockerd_stop "$work"
  pm rm -f -a -t 0 >/dev/null 2>&1
  reap_under "$work"
  rm -rf "$work"
}
trap cleanup EXIT

# What a non-privileged nested-engine recipe grants.
CAPS="SYS_ADMIN SYS_RESOURCE NET_ADMIN MKNOD SETUID SETGID SYS_CHROOT NET_RAW SYS_PTRACE"
CAP_ARGS=(); for c in $CAPS; do CAP_ARGS+=(--cap-add "$c"); done

# Runs inside the outer container. full: podman run with crun and with runc, podman build of a
# two-step Containerfile and a run of the result; quick: podman run only. Prints timings (ms).
inner() { # full|quick
  cat <<SH
ms() { echo \$((\$(date +%s%N) / 1000000)); }
podman import /inner-busybox.tar inner >/dev/null 2>&1 || echo import-failed
t0=\$(ms); podman run --rm inner echo nested-run-ok; t1=\$(ms)
echo "T run=\$((t1 - t0))"
echo "driver=\$(podman info --format '{{.Store.GraphDriverName}}')"
if [ $1 = full ]; then
  podman --runtime runc run --rm inner echo nested-runc-ok
  printf 'FROM localhost/inner\nRUN echo built-inside > /built.txt\n' >/tmp/Containerfile
  t0=\$(ms); podman build -q -t built -f /tmp/Containerfile /tmp >/dev/null && t1=\$(ms) && echo "T build=\$((t1 - t0))"
  podman run --rm localhost/built cat /built.txt
fi
SH
}
# The twelve walls (issue 11) and the errors that show them; none may appear.
WALLS='read-only file system|subtree_control|no such file or directory.*cgroup|final child|sd-bus|sd_bus|oom_score_adj|device not found|/proc/sys|not supported over overlayfs|mount_program|Permission denied'
walls() { grep -Ei "$WALLS" <<<"$1" | head -3; }
# check_nested NAME MODE OUTPUT RC
check_nested() {
  local name=$1 mode=$2 out=$3 rc=$4 want="0 nested-run-ok driver=overlay" got
  got="$rc $(grep -o 'nested-run-ok' <<<"$out" | head -1) $(grep -o 'driver=[a-z-]*' <<<"$out" | head -1)"
  if [ "$mode" = full ]; then
    want="$want nested-runc-ok built-inside"
    got="$got $(grep -o 'nested-runc-ok' <<<"$out" | head -1) $(grep -o 'built-inside' <<<"$out" | head -1)"
  fi
  local what="podman run"; [ "$mode" = full ] && what="podman run, runc, podman build"
  if [ "$want" = "$got" ]; then ok "$name: $what inside ($(grep '^T ' <<<"$out" | tr '\n' ' ' | sed 's/ $//'))"
  else not_ok "$name: nested podman" "expected: $want" "got:      $got" "$(tail -8 <<<"$out")"; fi
  check "$name: none of the twelve walls" "" "$(walls "$out")"
}
# The sanitizer build checks the host side: podman run inside is enough there (the build and
# runc inside test the guest, which is the same in both builds), keeping the suite's time down.
ldd "$HAKO" 2>/dev/null | grep -q libasan && NESTED_QUICK=1
MODE1=${NESTED_QUICK:+quick}; MODE1=${MODE1:-full}
MODE2=$MODE1

# --- hako run --------------------------------------------------------------------------------
out=$(hk run --rm --name nst1 "${CAP_ARGS[@]}" "$IMG/rootfs" sh -c "$(inner "$MODE1")" 2>&1); rc=$?
check_nested "hako run --cap-add" "$MODE1" "$out" "$rc"
out=$(hk run --rm --name nst2 --privileged "$IMG/rootfs" sh -c "
  $(inner quick)
  grep -E '^(CapEff|Seccomp):' /proc/self/status | tr -s '\t ' ' ' | tr '\n' ' '; echo
  touch /proc/sys/kernel/hostname && echo procsys-rw
  ls /dev/fuse /dev/net/tun /dev/kmsg | tr '\n' ' '; echo
  for d in $(lsblk -dnpo NAME 2>/dev/null | head -4 | tr '\n' ' '); do head -c1 \$d >/dev/null 2>&1 && echo host-device-readable:\$d; done
  true" 2>&1); rc=$?
check_nested "hako run --privileged" quick "$out" "$rc"
check "hako run --privileged: all capabilities, no seccomp, writable /proc/sys" "CapEff: 000001ffffffffff Seccomp: 0 procsys-rw" \
  "$(grep -o 'CapEff.*Seccomp: [0-9]' <<<"$out") $(grep -o procsys-rw <<<"$out")"
check "hako run --privileged: guest devices fuse, tun, kmsg" "/dev/fuse /dev/kmsg /dev/net/tun" "$(grep -o '^/dev/fuse.*tun' <<<"$out")"
check "hako run --privileged: no host block device readable inside" "" "$(grep -o 'host-device-readable.*' <<<"$out")"
check "hako run: no disk, VM or state left" "||" \
  "$(ls /var/lib/hako/disks 2>/dev/null | grep -E '^nst[12]-')|$(pgrep -f "qemu-system.*$root|virtiofsd.*$root")|$(ls "$root" 2>/dev/null)"

# --- Docker (--runtime hako) ----------------------------------------------------------------
if command -v dockerd >/dev/null && dockerd_start "$work" "$HAKO"; then
  dk import "$IMG/rootfs.tar" hako-test/nested:1 >/dev/null
  check "docker import of the nested image" 0 "$?"
  D=(--runtime hako --network none)
  out=$(dk run --rm "${D[@]}" "${CAP_ARGS[@]}" hako-test/nested:1 sh -c "$(inner "$MODE2")" 2>&1); rc=$?
  check_nested "docker --cap-add" "$MODE2" "$out" "$rc"
  out=$(dk run --rm "${D[@]}" --privileged hako-test/nested:1 sh -c "
    $(inner quick)
    grep -E '^(CapEff|Seccomp):' /proc/self/status | tr -s '\t ' ' ' | tr '\n' ' '; echo
    ls /dev | tr '\n' ' ' >/tmp/devs; echo devs: \$(cat /tmp/devs)
    for d in $(ls /dev | grep -E '^(vd|sd|nvme|loop|dm-|kvm|mem$|port$)' | sed 's|^|/dev/|' | tr '\n' ' '); do
      head -c1 \$d >/dev/null 2>&1 && echo host-device-readable:\$d; done
    true" 2>&1); rc=$?
  check_nested "docker --privileged" quick "$out" "$rc"
  # Docker 20.10 knows capabilities up to CAP_AUDIT_READ (0x3fffffffff).
check "docker --privileged: all capabilities, no seccomp" "CapEff: 0000003fffffffff Seccomp: 0" "$(grep -o 'CapEff.*Seccomp: [0-9]' <<<"$out")"
  check "docker --privileged: none of the host's devices answers inside" "" "$(grep -o 'host-device-readable.*' <<<"$out")"

  # An AI agent's sandbox: uid 1001, no capabilities, no new privileges, an init reaper as PID 1,
  # a read-only and a read-write volume; each property asserted from inside.
  mkdir -p "$work/ro" "$work/rw" && echo ro-data >"$work/ro/f" && echo host-secret >"$work/secret"
  chown 1001 "$work/rw"
  out=$(dk run --rm "${D[@]}" -u 1001:1001 --cap-drop ALL --security-opt no-new-privileges --init \
    -v "$work/ro:/ro:ro" -v "$work/rw:/rw" hako-test/nested:1 sh -c "
    echo uid=\$(id -u)
    grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -s '\t ' ' ' | tr '\n' ' '; echo
    echo pid1=\$(cat /proc/1/comm)
    sh -c 'sleep 0.1 & exec true'; sleep 0.3; echo zombies=\$(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l)
    cat /ro/f; echo x >/ro/g 2>/dev/null || echo ro-refused
    echo from-agent >/rw/out && echo rw-ok
    echo procs=\$(ls -d /proc/[0-9]* | wc -l) host-dockerd=\$(grep -l dockerd /proc/[0-9]*/comm 2>/dev/null | wc -l)
    cat $work/secret 2>/dev/null || echo host-path-unreachable" 2>&1); rc=$?
  check "agent sandbox: uid 1001, CapEff 0, no-new-privs" "0 uid=1001 CapEff: 0000000000000000 NoNewPrivs: 1" \
    "$rc $(grep -o 'uid=[0-9]*' <<<"$out") $(grep -o 'CapEff.*NoNewPrivs: [0-9]' <<<"$out")"
  check "agent sandbox: an init reaper is PID 1 and reaps" "pid1=docker-init zombies=0" \
    "$(grep -o 'pid1=.*' <<<"$out") $(grep -o 'zombies=[0-9]*' <<<"$out")"
  check "agent sandbox: read-only volume refused, read-write volume reaches the host" "ro-data ro-refused rw-ok from-agent" \
    "$(grep -E '^(ro-data|ro-refused|rw-ok)$' <<<"$out" | tr '\n' ' ')$(cat "$work/rw/out" 2>/dev/null)"
  check "agent sandbox: no host process visible, no host path reachable" "host-dockerd=0 host-path-unreachable" \
    "$(grep -o 'host-dockerd=[0-9]*' <<<"$out") $(grep -o 'host-path-unreachable' <<<"$out")"
  check "agent sandbox: few processes (its own PID namespace)" 1 "$(n=$(grep -o 'procs=[0-9]*' <<<"$out" | cut -d= -f2); [ "${n:-99}" -le 6 ] && echo 1 || echo "$n")"

  # What runc does with the same commands on this host, side by side (it is expected to fail:
  # the host's root lacks CAP_SYS_RESOURCE and /dev/fuse is not passed without privileges).
  out=$(dk run --rm --runtime runc --network none "${CAP_ARGS[@]}" hako-test/nested:1 sh -c "$(inner quick)" 2>&1); rc=$?
  echo "# runc, same image and capabilities: rc=$rc: $(grep -v '^T ' <<<"$out" | grep -Ei 'error|fail|not' | head -2 | tr '\n' ' ')"
  dockerd_stop "$work"; DK_WORK=
else
  ok "docker: skipped (dockerd not available) # SKIP"
fi

# --- podman (--runtime hako) ----------------------------------------------------------------
hako_runtime_wrapper "$work/hako-runtime" "$HAKO"
pm import "$IMG/rootfs.tar" localhost/hako-test/nested:1 >/dev/null 2>&1
check "podman import of the nested image" 0 "$?"
# The host's podman drops SYS_RESOURCE from --cap-add here (this host's root lacks it) and hands
# the container its own 8 MiB memlock limit, which the engine inside then cannot raise: the limit
# is lifted (in the guest), the 18446744073709551615 podman writes for it read as RLIM_INFINITY.
out=$(pm run --rm --network none --ulimit memlock=-1:-1 "${CAP_ARGS[@]}" \
  localhost/hako-test/nested:1 sh -c "$(inner quick)" 2>&1); rc=$?
check_nested "podman --cap-add" quick "$out" "$rc"
pm rmi -f localhost/hako-test/nested:1 >/dev/null 2>&1

# --- a CRI pod (containerd, the shim) --------------------------------------------------------
if [ -n "$SHIM" ] && command -v containerd >/dev/null && CRICTL=$(find_crictl) && cri_start "$work/cri" "$SHIM"; then
  cri_images "$work/cri" "$HAKO" && python3 "$here/mkimage.py" "$IMG/rootfs" hako-test/nested:1 "$work/cri/nested.tar" &&
    c images import "$work/cri/nested.tar" >/dev/null
  check "CRI: images imported" 0 "$?"
  printf '{"metadata":{"name":"nested","namespace":"default","uid":"n1"},"linux":{"security_context":{"namespace_options":{"network":0}}}}' >"$work/cri/pod.json"
  printf '{"metadata":{"name":"engine"},"image":{"image":"docker.io/hako-test/nested:1"},"command":["sleep","600"],"linux":{"security_context":{"capabilities":{"add_capabilities":[%s]}}}}' \
    "$(for c in $CAPS; do printf '"%s",' "$c"; done | sed 's/,$//')" >"$work/cri/ctr.json"
  pod=$(cri runp "$work/cri/pod.json" 2>"$work/err") && ctr_id=$(cri create "$pod" "$work/cri/ctr.json" "$work/cri/pod.json" 2>>"$work/err") &&
    cri start "$ctr_id" >/dev/null 2>>"$work/err"
  check "CRI: a pod whose container holds the engine's capabilities starts" 0 "$?"
  out=$(cri exec "${ctr_id:-none}" sh -c "$(inner quick)" 2>&1); rc=$?
  check_nested "CRI pod" quick "$out" "$rc"
  cri rmp -f "${pod:-none}" >/dev/null 2>&1
  check "CRI: no VM left" "" "$(pgrep -f "qemu-system.*$work/cri")"
  cri_stop; CRI_WORK=
else
  ok "CRI: skipped (no shim, containerd or crictl) # SKIP"
fi

check "no VM or virtiofsd left" "" "$(pgrep -f "qemu-system.*$work|virtiofsd.*$work")"
tap_done
