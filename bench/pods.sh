#!/usr/bin/env bash
# Pod benchmarks (issue 9), hako's shim and containerd's runc.v2 side by side in one run, on one
# private containerd, driven by crictl as kubelet does:
#   1. pod start: runp + create + start of one container (interleaved hako / runc);
#   2. the second and third container of a running hako pod: start time and the host memory each
#      adds;
#   3. an idle shim: RSS and PSS (hako's, and runc.v2's beside it);
#   4. a pod's total host PSS (shim, QEMU, virtiofsd) with one container.
# usage: bench/pods.sh [BUILD_DIR] [RUNS]   (HAKO_KERNEL/HAKO_INITRD as for the tests)
set -euo pipefail
build=${1:-build}
runs=${2:-11}
hako=$(readlink -f "$build/src/cli/hako")
shim=$(readlink -f "$build/src/shim/containerd-shim-hako-v2")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/hbp.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-/var/tmp/hako-test-images}
. "$here/../tests/integration/clients-lib.sh"
. "$here/lib.sh"
CRICTL=$(find_crictl) || { echo "no crictl (set CRICTL)"; exit 1; }
trap 'set +e; cri_stop >/dev/null 2>&1; rm -rf "$work"' EXIT

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
kb_sum() { local t=0 p; for p in "$@"; do t=$((t + $(pss "$p"))); done; echo "$t"; }

printf '[hypervisor]\ndefault_memory = 256\n' >"$work/hako.toml"
cri_start "$work" "$shim" "$work/hako.toml" || { echo "containerd did not start"; exit 1; }
cri_images "$work" "$hako"

podcfg() { # name
  printf '{"metadata": {"name": "%s", "namespace": "bench", "uid": "%s"}, "log_directory": "%s/logs/%s", "linux": {"security_context": {"namespace_options": {"network": 0}}}}\n' \
    "$1" "$1" "$work" "$1" >"$work/pod-$1.json"
  echo "$work/pod-$1.json"
}
ctrcfg() { # name
  printf '{"metadata": {"name": "%s"}, "image": {"image": "docker.io/hako-test/busybox:latest"}, "command": ["sleep", "100000"], "log_path": "%s.log", "linux": {"security_context": {"namespace_options": {"pid": 1}}}}\n' \
    "$1" "$1" >"$work/c-$1.json"
  echo "$work/c-$1.json"
}
# One pod start as kubelet does it; prints "total runp create start" (ms) and leaves the pod.
pod_start() { # runtime name
  local p c t0 t1 t2 t3 pj
  pj=$(podcfg "$2")
  t0=$(now); p=$(cri runp --runtime "$1" "$pj")
  t1=$(now); c=$(cri create "$p" "$(ctrcfg "c$2")" "$pj")
  t2=$(now); cri start "$c" >/dev/null
  t3=$(now)
  echo "$(ms "$t0" "$t3") $(ms "$t0" "$t1") $(ms "$t1" "$t2") $(ms "$t2" "$t3")"
}
pod_gone() { cri stopp "$(cri pods -q --name "$1")" >/dev/null; cri rmp "$(cri pods -q --name "$1")" >/dev/null; }
col() { awk -v c="$1" '{print $c}' "$2" | median; }

echo "## pod start: runp + create + start of one container ($runs runs each, interleaved; $(nproc) cores)"
pod_start hako warmh >/dev/null; pod_gone warmh; pod_start runc warmr >/dev/null; pod_gone warmr
: >"$work/res-hako"; : >"$work/res-runc"
for i in $(seq "$runs"); do
  pod_start hako "h$i" >>"$work/res-hako"; pod_gone "h$i"
  pod_start runc "r$i" >>"$work/res-runc"; pod_gone "r$i"
done
printf '%-6s %8s %8s %8s %8s   (median ms)\n' runtime total runp create start
for rt in hako runc; do
  printf '%-6s %8s %8s %8s %8s\n' "$rt" "$(col 1 "$work/res-$rt")" "$(col 2 "$work/res-$rt")" "$(col 3 "$work/res-$rt")" "$(col 4 "$work/res-$rt")"
done
echo "ratio hako/runc (total): $(awk -v a="$(col 1 "$work/res-hako")" -v b="$(col 1 "$work/res-runc")" 'BEGIN {printf "%.1f", a/b}')"

# The processes that are the pod on the host: its shim, QEMU, virtiofsd.
pod_pids() { # sandbox id
  pgrep -f "containerd-shim-hako-v2 .*-id $1|qemu-system-x86_64 -name hako-$1|virtiofsd .*/$1/shared" | tr '\n' ' '
}
pod_pss() { # sandbox id: PSS of the pod's processes plus guest RAM resident but not yet mapped
  local pids q
  pids=$(pod_pids "$1")
  q=$(pgrep -f "qemu-system-x86_64 -name hako-$1" | head -1)
  echo $(( $(kb_sum $pids) + $(guest_ram_unmapped_kb "$q" 2>/dev/null) ))
}

echo
echo "## the second and third container of a running pod ($runs pods)"
: >"$work/add"
for i in $(seq "$runs"); do
  pj=$(podcfg "m$i"); p=$(cri runp "$pj")
  c=$(cri create "$p" "$(ctrcfg "m${i}a")" "$pj"); cri start "$c" >/dev/null
  sleep 2; base=$(pod_pss "$p")
  line=""
  for n in b c; do
    t0=$(now); c=$(cri create "$p" "$(ctrcfg "m$i$n")" "$pj"); cri start "$c" >/dev/null; t=$(ms "$t0" "$(now)")
    sleep 2; after=$(pod_pss "$p")
    line="$line $t $(( (after - base) ))"
    base=$after
  done
  echo "$line" >>"$work/add"
  pod_gone "m$i"
done
echo "second container: create + start median $(col 1 "$work/add") ms, adds median $(col 2 "$work/add") kB of host PSS"
echo "third container:  create + start median $(col 3 "$work/add") ms, adds median $(col 4 "$work/add") kB of host PSS"

echo
echo "## an idle pod with one container: the shim, and the whole pod"
pj=$(podcfg idle); p=$(cri runp "$pj"); c=$(cri create "$p" "$(ctrcfg idlec)" "$pj"); cri start "$c" >/dev/null
pj=$(podcfg idler); pr=$(cri runp --runtime runc "$pj"); cr=$(cri create "$pr" "$(ctrcfg idlerc)" "$pj"); cri start "$cr" >/dev/null
sleep 3
s=$(pgrep -f "containerd-shim-hako-v2 .*-id $p" | head -1)
sr=$(pgrep -f "containerd-shim-runc-v2 .*-id $pr" | head -1)
echo "hako shim: RSS $(rss "$s") kB, PSS $(pss "$s") kB"
echo "runc.v2 shim: RSS $(rss "$sr") kB, PSS $(pss "$sr") kB"
q=0; for x in $(pgrep -f "qemu-system-x86_64 -name hako-$p"); do q=$((q + $(pss "$x"))); done
v=0; for x in $(pgrep -f "virtiofsd .*/$p/shared"); do v=$((v + $(pss "$x"))); done
extra=$(guest_ram_unmapped_kb "$(pgrep -f "qemu-system-x86_64 -name hako-$p" | head -1)")
echo "pod PSS: shim $(pss "$s") kB, QEMU $((q / 1024)) MB, virtiofsd $((v / 1024)) MB ($v kB), unmapped guest RAM $((extra / 1024)) MB, total $(( ($(pss "$s") + q + v + extra) / 1024 )) MB"
