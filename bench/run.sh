#!/usr/bin/env bash
# hako benchmarks (issue targets): run latency with a breakdown, boot reliability, idle memory,
# agent round trip. usage: bench/run.sh [BUILD_DIR] [RUNS] [RELIABILITY_RUNS]
# Needs HAKO_KERNEL/HAKO_INITRD (test.sh shows how) or an installed guest image.
set -euo pipefail
build=${1:-build}
runs=${2:-21}
rel=${3:-100}
hako=$(readlink -f "$build/src/cli/hako")
work=$(mktemp -d /tmp/hako-bench.XXXXXX)
export HAKO_ROOT=$work/state HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-/var/tmp/hako-test-images}
trap 'set +e; pkill -KILL -f "$work" 2>/dev/null; rm -rf "$work"' EXIT

. "$(dirname "$0")/lib.sh"

echo "## hako run --rm busybox true ($runs runs each, template restore and cold boot interleaved; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
"$hako" run --rm busybox true # warm the page cache and the busybox image; builds the VM template if needed
HAKO_TEMPLATE=0 "$hako" run --rm busybox true
: > "$work/times-template"; : > "$work/times-cold"
for i in $(seq "$runs"); do
  for mode in template cold; do
    s=$(date +%s%N)
    if [ $mode = cold ]; then t=0; else t=1; fi
    HAKO_TEMPLATE=$t HAKO_TIMING=1 "$hako" run --rm busybox true 2>>"$work/timing-$mode"
    e=$(date +%s%N)
    echo $(( (e - s) / 1000000 )) >> "$work/times-$mode"
  done
done
for mode in template cold; do
  echo "### $mode ($(grep -c "boot=$mode" "$work/timing-$mode") of $runs runs came up that way)"
  echo "wall time: median $(median < "$work/times-$mode") ms (min $(sort -n "$work/times-$mode" | head -1), max $(sort -n "$work/times-$mode" | tail -1))"
  for k in prepare_ms vm_spawn_ms boot_to_agent_ms sandbox_setup_ms container_create_start_ms run_ms teardown_ms total_ms; do
    printf '  %-26s median %s ms\n' "$k" "$(grep -o "$k=[0-9]*" "$work/timing-$mode" | cut -d= -f2 | median)"
  done
done
echo "ratio cold/template (median wall): $(echo "$(median < "$work/times-cold") $(median < "$work/times-template")" | awk '{printf "%.2f", $1/$2}')"
echo "(vm_spawn_ms: QEMU start, plus loading the template when restoring; boot_to_agent_ms: kernel boot, or"
echo " the restored agent's first answer; sandbox_setup_ms: clock, RNG reseed, PCI rescan for the hot-added"
echo " virtio-fs device and its mount; the process start/exit of hako is wall time minus total_ms)"

echo
echo "## reliability: $rel consecutive runs of 'hako run --rm busybox true' (each bounded by 30 s)"
fails=0; hangs=0
for i in $(seq "$rel"); do
  set +e
  HAKO_BOOT_TIMEOUT=20 timeout -s KILL 30 "$hako" run --rm busybox true 2>>"$work/rel-errors"
  rc=$?
  set -e
  if [ $rc = 137 ]; then hangs=$((hangs+1)); elif [ $rc != 0 ]; then fails=$((fails+1)); fi
done
echo "runs: $rel, failures: $fails, hangs: $hangs"
[ -s "$work/rel-errors" ] && { echo "errors:"; sort "$work/rel-errors" | uniq -c | head; }

echo
echo "## idle sandbox memory: hako run busybox sleep 1000 (128 MiB guest RAM)"
mkdir -p "$work/ready"
# PID 1 of the container ignores SIGTERM without a handler (as under Docker), hence the trap.
"$hako" run --rm --name idlebench -v "$work/ready:/r" busybox sh -c 'trap "exit 0" TERM; touch /r/ok; sleep 1000 & wait' >/dev/null 2>&1 &
hpid=$!
for _ in $(seq 600); do [ -e "$work/ready/ok" ] && break; sleep 0.1; done
sleep 3 # let the guest settle
q=0; v=0
for p in $(pgrep -f "hako-idlebench"); do q=$((q + $(pss "$p"))); done
for p in $(pgrep -f "$work/state/idlebench/shared"); do v=$((v + $(pss "$p"))); done
h=$(pss "$hpid")
extra=$(guest_ram_unmapped_kb "$(pgrep -f "hako-idlebench" | head -1)")
echo "PSS: QEMU $((q/1024)) MB, virtiofsd $((v/1024)) MB, hako $((h/1024)) MB ($h kB), unmapped guest RAM $((extra/1024)) MB, total $(((q+v+h+extra)/1024)) MB"
kill -TERM "$hpid"; wait "$hpid" 2>/dev/null || true

echo
echo "## agent round trip"
"$build/bench/agent-rtt" 2000
