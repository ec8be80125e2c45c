#!/usr/bin/env bash
# OCI runtime benchmarks (issue 3), hako side by side with runc in one run, interleaved:
#   1. create + start + wait + delete of /bin/true (median and breakdown);
#   2. docker run --rm busybox true with --runtime hako and --runtime runc;
#   3. host memory (PSS) of an idle created-but-not-started container.
# usage: bench/oci.sh [BUILD_DIR] [RUNS]   (HAKO_KERNEL/HAKO_INITRD as for the tests)
set -euo pipefail
build=${1:-build}
runs=${2:-11}
hako=$(readlink -f "$build/src/cli/hako")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/hbo.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-/var/tmp/hako-test-images}
. "$here/../tests/integration/clients-lib.sh"
. "$here/lib.sh"
trap 'set +e; dockerd_stop "$work" >/dev/null 2>&1; pkill -KILL -f "$work" 2>/dev/null; rm -rf "$work"' EXIT

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

[ -d "$HAKO_IMAGE_ROOT/busybox/rootfs" ] || "$hako" --root "$work/hr" run --rm busybox true
mkdir -p "$work/bundle" && (cd "$work/bundle" && runc spec) && python3 - "$work/bundle/config.json" "$HAKO_IMAGE_ROOT/busybox/rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[2], "readonly": True}
c["process"]["args"] = ["true"]
c["process"]["terminal"] = False
json.dump(c, open(sys.argv[1], "w"))
PY

# One lifecycle; appends "total create start wait delete" (ms) to $work/RUNTIME.
lifecycle() { # runtime-binary name id
  local rt=$1 root=$work/root-$2 t0 t1 t2 t3 t4
  t0=$(now); "$rt" --root "$root" create --bundle "$work/bundle" "$3" </dev/null >/dev/null
  t1=$(now); "$rt" --root "$root" start "$3"
  t2=$(now)
  until "$rt" --root "$root" state "$3" 2>/dev/null | grep -q '"status": *"stopped"'; do sleep 0.005; done
  t3=$(now); "$rt" --root "$root" delete "$3"
  t4=$(now)
  echo "$(ms "$t0" "$t4") $(ms "$t0" "$t1") $(ms "$t1" "$t2") $(ms "$t2" "$t3") $(ms "$t3" "$t4")" >>"$work/$2"
}
col() { awk -v c="$1" '{print $c}' "$2" | median; }

echo "## create + start + wait + delete of /bin/true ($runs runs each, interleaved; $(nproc) cores)"
lifecycle "$hako" hako warm; lifecycle runc runc warm; : >"$work/hako"; : >"$work/runc"
for i in $(seq "$runs"); do lifecycle "$hako" hako "h$i"; lifecycle runc runc "r$i"; done
printf '%-6s %8s %8s %8s %8s %8s   (median ms)\n' runtime total create start wait delete
for rt in hako runc; do
  printf '%-6s %8s %8s %8s %8s %8s\n' "$rt" "$(col 1 "$work/$rt")" "$(col 2 "$work/$rt")" "$(col 3 "$work/$rt")" \
    "$(col 4 "$work/$rt")" "$(col 5 "$work/$rt")"
done
echo "ratio hako/runc (total): $(awk -v a="$(col 1 "$work/hako")" -v b="$(col 1 "$work/runc")" 'BEGIN {printf "%.1f", a/b}')"

echo
echo "## docker run --rm busybox true ($runs runs each, interleaved; dockerd $(dockerd --version | cut -d' ' -f3 | tr -d ,))"
dockerd_start "$work" "$hako" || { echo "dockerd did not start"; exit 1; }
busybox_image_archive "$hako" "$work/img.tar" hako-test/busybox:latest && dk load -i "$work/img.tar" >/dev/null
: >"$work/dk-hako"; : >"$work/dk-runc"
dk run --rm --network none --runtime hako hako-test/busybox true; dk run --rm --network none --runtime runc hako-test/busybox true
for i in $(seq "$runs"); do
  for rt in hako runc; do
    t0=$(now); dk run --rm --network none --runtime "$rt" hako-test/busybox true; ms "$t0" "$(now)" >>"$work/dk-$rt"
  done
done
h=$(median <"$work/dk-hako"); r=$(median <"$work/dk-runc")
echo "hako: median $h ms (min $(sort -n "$work/dk-hako" | head -1), max $(sort -n "$work/dk-hako" | tail -1))"
echo "runc: median $r ms (min $(sort -n "$work/dk-runc" | head -1), max $(sort -n "$work/dk-runc" | tail -1))"
echo "ratio hako/runc: $(awk -v a="$h" -v b="$r" 'BEGIN {printf "%.1f", a/b}')"
dockerd_stop "$work"

echo
echo "## idle created (not started) container: host PSS of everything that belongs to it"
"$hako" --root "$work/root-idle" create --bundle "$work/bundle" --pid-file "$work/idle.pid" idle </dev/null >/dev/null 2>&1
sleep 3 # let the guest settle
mon=$(cat "$work/idle.pid"); q=0; v=0
for p in $(pgrep -f "qemu-system.*$work/root-idle/idle/"); do q=$((q + $(pss "$p"))); done
for p in $(pgrep -f "virtiofsd.*$work/root-idle/idle/"); do v=$((v + $(pss "$p"))); done
h=$(pss "$mon")
extra=$(guest_ram_unmapped_kb "$(pgrep -f "qemu-system.*$work/root-idle/idle/" | head -1)")
echo "PSS: QEMU $((q/1024)) MB, virtiofsd $((v/1024)) MB ($v kB), host process $h kB, unmapped guest RAM $((extra/1024)) MB, total $(((q+v+h+extra)/1024)) MB"
"$hako" --root "$work/root-idle" delete --force idle
