#!/usr/bin/env bash
# The cost of the VMM's jail (docs/security.md), jailed and unjailed interleaved in one run:
#   1. `hako run --rm --network none busybox true` from a template (median of RUNS each), with the
#      restored agent's re-execution included in both;
#   2. an idle sandbox's host memory: PSS of QEMU (plus the guest RAM the template's memfd holds
#      that QEMU has not mapped yet) and virtiofsd, jailed and not.
# usage: bench/jail.sh [BUILD_DIR] [RUNS]   (HAKO_KERNEL/HAKO_INITRD as for the tests)
set -euo pipefail
build=${1:-build}
runs=${2:-15}
hako=$(readlink -f "$build/src/cli/hako")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/hbj.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-/var/tmp/hako-test-images}
. "$here/lib.sh"
trap 'set +e; "$hako" --root "$work/r" rm -f bj-jail bj-nojail >/dev/null 2>&1; rm -rf "$work"' EXIT
printf '[hypervisor]\njail = false\n' >"$work/nojail.toml"
run() { if [ "$1" = jail ]; then HAKO_CONFIG= "$hako" --root "$work/r" "${@:2}"; else HAKO_CONFIG="$work/nojail.toml" "$hako" --root "$work/r" "${@:2}"; fi; }

for m in jail nojail; do run "$m" run --rm --network none busybox true; done # templates exist
: >"$work/jail"; : >"$work/nojail"
for i in $(seq "$runs"); do
  for m in jail nojail; do
    t0=$(date +%s%N); run "$m" run --rm --network none busybox true; echo $((($(date +%s%N) - t0) / 1000000)) >>"$work/$m"
  done
done
j=$(median <"$work/jail"); n=$(median <"$work/nojail")
echo "hako run --rm busybox true, median of $runs: jailed $j ms, not jailed $n ms (jail: $(awk -v a="$j" -v b="$n" 'BEGIN {printf "%+d", a - b}') ms)"

for m in jail nojail; do
  run "$m" run -d --name "bj-$m" --network none busybox sleep 600 >/dev/null
done
sleep 3
for m in jail nojail; do
  q=$(pgrep -f "qemu-system.*hako-bj-$m( |$)" | head -1)
  v=$(pgrep -f "virtiofsd.*/bj-$m/" | tr '\n' ' ')
  kb=$(( $(pss "$q") + $(guest_ram_unmapped_kb "$q" 2>/dev/null) ))
  for p in $v; do kb=$((kb + $(pss "$p"))); done
  echo "idle sandbox ($m): QEMU + virtiofsd PSS $((kb / 1024)) MB ($kb kB)"
done
