#!/usr/bin/env bash
# The VMM's jail (src/hv/jail.h, docs/security.md), asserted from /proc for running sandboxes:
# QEMU's uid (one per sandbox), capabilities, seccomp, namespaces, limits and the files it can
# see; a root-only host path unreadable as its uid; virtiofsd's own confinement; the jail off
# by configuration. TAP.
# usage: jail.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD point at the guest image)
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=$(readlink -f "${1:?usage: jail.sh HAKO_BINARY}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
work=$(mktemp -d /tmp/hjl.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
. "$here/tap-lib.sh"
root=$work/root
hk() { "$HAKO" --root "$root" "$@"; }
cleanup() {
  for id in j1 j2 j3; do hk rm -f "$id" >/dev/null 2>&1; done
  for p in $(pgrep -f "$work"); do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

status() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
qemu_of() { pgrep -f "qemu-system.*hako-$1( |$)" | head -1; }
wait_qemu() { local p; for _ in $(seq 100); do p=$(qemu_of "$1"); [ -n "$p" ] && { echo "$p"; return; }; sleep 0.1; done; }

hk run -d --name j1 --network none -v "$work:/w:ro" busybox sleep 600 >/dev/null
hk run -d --name j2 --network none busybox sleep 600 >/dev/null
q1=$(wait_qemu j1); q2=$(wait_qemu j2)
check "two sandboxes' QEMUs run" 1 "$([ -n "$q1" ] && [ -n "$q2" ] && echo 1)"
u1=$(status "$q1" Uid); u2=$(status "$q2" Uid)
check "QEMU runs as a uid of the jail range, not root" 1 "$([ "${u1:-0}" -ge 1879048192 ] && echo 1 || echo "uid $u1")"
check "each sandbox's QEMU has a uid of its own" 1 "$([ -n "$u1" ] && [ "$u1" != "$u2" ] && echo 1 || echo "$u1 $u2")"
check "its gid is its own too, no supplementary groups" "$u1 " "$(status "$q1" Gid) $(awk '$1 == "Groups:" {print $2}' "/proc/$q1/status")"
check "no capabilities: effective, permitted, bounding, ambient" "0000000000000000 0000000000000000 0000000000000000 0000000000000000" \
  "$(status "$q1" CapEff) $(status "$q1" CapPrm) $(status "$q1" CapBnd) $(status "$q1" CapAmb)"
check "no new privileges, seccomp filter (QEMU's -sandbox)" "1 2" "$(status "$q1" NoNewPrivs) $(status "$q1" Seccomp)"
same=""
for ns in mnt pid ipc net; do
  [ "$(readlink "/proc/$q1/ns/$ns")" = "$(readlink /proc/self/ns/$ns)" ] && same="$same $ns"
done
check "own mount, PID, IPC and network namespaces" "" "$same"
check "PID 1 of its PID namespace" 1 "$(awk '$1 == "NSpid:" {print $NF}' "/proc/$q1/status")"
check "its root holds only what it needs" "bin dev etc hako lib lib64 proc sbin tmp usr" "$(ls "/proc/$q1/root" | tr '\n' ' ' | sed 's/ $//')"
check "/hako: the kernel and the initrd" "initrd vmlinux" "$(ls "/proc/$q1/root/hako" | tr '\n' ' ' | sed 's/ $//')"
check "of its state directory, only the console log (at its host path)" "console.log" "$(ls "/proc/$q1/root$root/j1")"
check "no host paths in its root (/root, /etc/shadow, /run, /var/lib/hako, the test's files)" "" \
  "$(for p in /root /etc/shadow /run /var/lib/hako "$work/images" "$work/root-only" "$root/j2"; do [ -e "/proc/$q1/root$p" ] && echo "$p"; done)"
check "its root is read-only" 1 "$(grep -E ' / / ro,' "/proc/$q1/mountinfo" >/dev/null && echo 1)"
check "limits: open files 4096, processes 1024, no core dumps, address space bounded" "4096 1024 0 bounded" \
  "$(awk '/Max open files/ {f=$4} /Max processes/ {p=$3} /Max core file size/ {c=$5} /Max address space/ {a=($5 == "unlimited" ? "unlimited" : "bounded")} END {print f, p, c, a}' "/proc/$q1/limits")"
echo secret >"$work/root-only" && chmod 600 "$work/root-only"
check "a root-only host file is unreadable as QEMU's uid" 1 \
  "$(setpriv --reuid="$u1" --regid="$u1" --clear-groups cat "$work/root-only" >/dev/null 2>&1 || echo 1)"
check "QEMU's uid cannot signal the other sandbox's QEMU" 1 \
  "$(setpriv --reuid="$u1" --regid="$u1" --clear-groups kill -0 "$q2" 2>/dev/null || echo 1)"
check "the guest still works (exec into the jailed VM)" "hi" "$(hk exec j1 echo hi 2>&1)"
check "a read-only volume stays read-only with a remount inside (privileged is not needed: root in the guest)" 1 \
  "$(hk exec j1 sh -c 'touch /w/x 2>/dev/null' || [ ! -e "$work/x" ] && echo 1)"

# virtiofsd forks: the parent only waits (no capabilities); the child serves the guest.
vfs_parent=$(pgrep -f "virtiofsd.*$root/j1/" | head -1)
vfs=$(pgrep -P "$vfs_parent" | head -1)
check "virtiofsd: the waiting parent has no capabilities" 0000000000000000 "$(status "$vfs_parent" CapEff)"
check "virtiofsd: the server has a seccomp filter and no CAP_SYS_ADMIN" "2 0" \
  "$(status "$vfs" Seccomp) $(( (0x$(status "$vfs" CapEff) >> 21) & 1 ))"
check "virtiofsd: its own mount namespace (sandbox=namespace)" 1 \
  "$([ "$(readlink "/proc/$vfs/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && echo 1)"

# The sandbox's own host process (the monitor of a detached run) after start-up (harden.h).
mon=$(for p in $(pgrep -f "hako.*j1"); do [ "$(status "$p" Name)" = hako ] && echo "$p"; done | head -1)
bnd=$((0x$(status "$mon" CapBnd)))
check "the host process: seccomp filter, no new privileges" "2 1" "$(status "$mon" Seccomp) $(status "$mon" NoNewPrivs)"
check "the host process: no SYS_MODULE, SYS_RAWIO, SYS_BOOT, SYS_TIME, MAC_ADMIN, BPF left" "0 0 0 0 0 0" \
  "$(for c in 16 17 22 25 33 39; do printf '%s ' $(( (bnd >> c) & 1 )); done | sed 's/ $//')"
check "the host process: exactly one seccomp filter (ours)" 1 \
  "$(grep -q 'Seccomp_filters:[[:space:]]*1' "/proc/$mon/status" && echo 1)"

uidfile=/run/hako/jail-ids/$u1
hk stop -t 1 j1 >/dev/null 2>&1; hk rm -f j1 >/dev/null 2>&1
check "the uid is free again after the sandbox ends" 1 "$(flock -n "$uidfile" true && echo 1)"
check "no jail directory left in the state" "" "$(ls -d "$root"/j1 2>/dev/null)"

printf '[hypervisor]\njail = false\n' >"$work/nojail.toml"
HAKO_CONFIG=$work/nojail.toml hk run -d --name j3 --network none busybox sleep 600 >/dev/null
q3=$(wait_qemu j3)
check "jail = false: QEMU runs as root (the configuration's choice)" 0 "$(status "$q3" Uid)"
hk rm -f j2 j3 >/dev/null 2>&1
# A container cannot talk to its own agent: the port is not in its /dev, and a privileged one that
# makes the node from /sys gets EBUSY (a virtio-serial port opens once; the agent holds it).
out=$(hk run --rm --network none --privileged busybox sh -c '
  ls /dev | grep -c vport
  d=$(cat /sys/class/virtio-ports/*/dev 2>/dev/null | head -1)
  mknod /tmp/p c ${d%:*} ${d#*:} && { echo x >/tmp/p; } 2>&1 | grep -o "resource busy"' 2>&1)
check "a privileged container cannot open the agent's port (not in /dev; EBUSY when made)" "0 resource busy" "$(echo $out)"

# Restores of one template: each agent re-executes itself after fresh entropy (its own ASLR and
# canary); the host checks the instance changed, here two restores must differ from each other.
inst() { hk --debug run --rm --network none busybox true 2>&1 | sed -n 's/.*agent re-executed after the restore (instance \([0-9a-f]*\), template.s \([0-9a-f]*\)).*/\1 \2/p'; }
hk run --rm --network none busybox true >/dev/null 2>&1 # the template exists
a=$(inst); b=$(inst)
check "restored VMs: the agent re-executed, with instances of its own" 1 \
  "$([ -n "$a" ] && [ -n "$b" ] && [ "${a% *}" != "${b% *}" ] && [ "${a#* }" = "${b#* }" ] && [ "${a% *}" != "${a#* }" ] && echo 1 || echo "$a / $b")"
check "no VM left" "" "$(pgrep -f "qemu-system.*$root")"
tap_done
