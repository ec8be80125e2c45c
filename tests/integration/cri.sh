#!/usr/bin/env bash
# Kubernetes pods through containerd's CRI and containerd-shim-hako-v2, driven by crictl as
# kubelet would: a private containerd 1.6 (its own root, state and socket under a temporary
# directory), the pause and busybox images imported locally. Every pod is one microVM. TAP.
# usage: cri.sh HAKO_BINARY SHIM_BINARY   (HAKO_KERNEL / HAKO_INITRD point at the guest image)
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=$(readlink -f "${1:?usage: cri.sh HAKO_BINARY SHIM_BINARY}")
SHIM=$(readlink -f "${2:?usage: cri.sh HAKO_BINARY SHIM_BINARY}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
command -v containerd >/dev/null && command -v ctr >/dev/null || { echo "1..0 # SKIP containerd not installed"; exit 0; }
. "$here/clients-lib.sh"
CRICTL=$(find_crictl) || { echo "1..0 # SKIP no crictl (set CRICTL, or see ../shared/tools/crictl-path)"; exit 0; }

work=$(mktemp -d /tmp/hcri.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
. "$here/tap-lib.sh"
cleanup() { cri_stop; rm -rf "$work"; }
trap cleanup EXIT

# A flavour for the bad-input tests: a configuration with a syntax error, named by a second
# runtime's options as a RuntimeClass would.
printf '[hypervisor]\ndefault_vcpus = "two\n' >"$work/broken.toml"
CRI_EXTRA_CONFIG="
[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.broken]
  runtime_type = \"io.containerd.hako.v2\"
  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.broken.options]
    ConfigPath = \"$work/broken.toml\""
printf '[hypervisor]\ndefault_memory = 256\nenable_annotations = ["vcpus", "memory"]\n' >"$work/hako.toml"
if ! cri_start "$work" "$SHIM" "$work/hako.toml"; then
  echo "Bail out! containerd did not start"; tail -20 "$work/containerd.log" | sed 's/^/# /'; exit 1
fi
cri_images "$work" "$HAKO"
check "pause and busybox images imported" 0 "$?"

img=docker.io/hako-test/busybox:latest
# pod NAME [PID_NAMESPACE_MODE] [ANNOTATIONS_JSON] [CGROUP_PARENT] [NETWORK_MODE]: a pod config
# (the pod's own network, from the test's CNI bridge, unless NETWORK_MODE is 2, the node's).
pod() {
  cat >"$work/pod-$1.json" <<JSON
{"metadata": {"name": "$1", "namespace": "default", "uid": "uid-$1"}, "log_directory": "$work/logs/$1",
 "annotations": ${3:-{\}},
 "linux": {"cgroup_parent": "${4:-}", "security_context": {"namespace_options": {"network": ${5:-0}, "pid": ${2:-1}}}}}
JSON
  echo "$work/pod-$1.json"
}
cgroup_test=hakotest-$$
# ctrcfg NAME COMMAND_JSON [PID_MODE] [MEMORY_LIMIT] [HOST_DIR_ON_/data] [CPU_QUOTA]: a container
# config; the PID namespace is the container's own (1) unless the pod shares one (0), as kubelet
# sets it; the CPU quota is per 100000 us.
ctrcfg() {
  python3 - "$work/c-$1.json" "$1" "$2" "${3:-1}" "${4:-0}" "${5:-}" "${6:-0}" "$img" <<'PY'
import json, sys
path, name, cmd, pid, mem, vol, quota, img = sys.argv[1:]
c = {"metadata": {"name": name}, "image": {"image": img}, "command": json.loads(cmd), "log_path": name + ".log",
     "linux": {"security_context": {"namespace_options": {"pid": int(pid)}}}}
if int(mem):
    c["linux"]["resources"] = {"memory_limit_in_bytes": int(mem)}
if int(quota):
    c["linux"].setdefault("resources", {}).update({"cpu_quota": int(quota), "cpu_period": 100000})
if vol:
    c["mounts"] = [{"container_path": "/data", "host_path": vol}]
json.dump(c, open(path, "w"))
PY
  echo "$work/c-$1.json"
}
# run_ctr POD_ID POD_JSON NAME COMMAND_JSON [PID_MODE] [MEMORY_LIMIT] [HOST_DIR]: create and start;
# the id in $cid.
run_ctr() {
  cid=$(cri create "$1" "$(ctrcfg "$3" "$4" "${5:-1}" "${6:-0}" "${7:-}" "${8:-0}")" "$2" 2>"$work/err") &&
    cri start "$cid" >/dev/null 2>>"$work/err"
}
field() { cri inspect "$1" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['status']['$2'])"; }
wait_exited() { for _ in $(seq 300); do [ "$(field "$1" state)" == CONTAINER_EXITED ] && return; sleep 0.1; done; }
vms() { pgrep -f "qemu-system.*$work" | wc -l; }
# What is left of processes matching a pattern, once they had 10 s to go.
left() { for _ in $(seq 100); do pgrep -f "$1" >/dev/null || break; sleep 0.1; done; pgrep -f "$1" | tr '\n' ' '; }

# --- a pod: runp, create, start, exec, logs, stats, inspect ------------------------------------
pa=$(pod pa 1 '{}' "/$cgroup_test/podpa")
t0=$(date +%s%N)
p1=$(cri runp "$pa" 2>"$work/err"); rc=$?
check "runp: the pod sandbox runs" "0 SANDBOX_READY" "$rc $(cri inspectp "$p1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["state"])')"
check "runp: one VM for the pod" 1 "$(vms)"
run_ctr "$p1" "$pa" web '["sh", "-c", "echo hello from web; echo web-err >&2; echo served >/tmp/index.html; exec httpd -f -p 8080 -h /tmp"]'
check "create + start a container" "0 CONTAINER_RUNNING" "$? $(field "$cid" state)"
echo "# pod start (runp + create + start): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
web=$cid
run_ctr "$p1" "$pa" client '["sleep", "1000"]'
client=$cid
check "a second container: still one VM for the pod" "CONTAINER_RUNNING 1" "$(field "$client" state) $(vms)"
out=$(cri exec "$client" wget -qO- http://127.0.0.1:8080/ 2>&1)
check "two containers of a pod talk over localhost" "served" "$out"
check "exec: exit code" 1 "$(cri exec "$client" sh -c 'exit 3' >/dev/null 2>&1; echo $?)"
check "exec -i: stdin" "piped" "$(echo piped | cri exec -i "$client" cat 2>&1)"
out=$(timeout 60 python3 "$here/pty-run.py" 33 91 nsenter --net="/var/run/netns/$CRI_NETNS" "$CRICTL" --runtime-endpoint "unix://$work/c.sock" exec -it "$client" sh -c 'tty; stty size' | tr -d '\r')
check "exec -it: a terminal of the caller's size" "/dev/pts/0 33 91" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
# Two streams: each keeps its order, not the order between them (as with runc).
check "logs: the container's stdout and stderr, each on its stream" "hello from web|web-err" \
  "$(cri logs "$web" 2>/dev/null)|$(cri logs "$web" 2>&1 >/dev/null)"
out=$(cri stats -o json "$web" 2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"][0]; print(int(s["memory"]["workingSetBytes"]["value"]) > 0, "cpu" in s)')
check "stats: memory and CPU from the guest's cgroup" "True True" "$out"
qemu_pid=$(pgrep -f "qemu-system-x86_64 -name hako-$p1" | head -1)
check "the pod's VMM and virtiofsd are in the pod's host cgroup (cgroup_parent)" "yes yes" \
  "$(grep -q "/$cgroup_test/podpa/$p1" "/proc/$qemu_pid/cgroup" && echo yes || echo no) $(for v in $(pgrep -f "virtiofsd .*/$p1/shared"); do grep -q "/$cgroup_test/podpa/$p1" "/proc/$v/cgroup" || echo no; done | grep -q no && echo no || echo yes)"
check "inspect: the container's pid is the VM's" "$(pgrep -f "qemu-system.*$work" | head -1)" "$(cri inspect "$web" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["pid"])')"
check "pods in the guest: the pause process is not visible without shareProcessNamespace" "sleep" \
  "$(cri exec "$client" sh -c 'cat /proc/1/comm' 2>&1)"

# --- exit codes, stop, rm ------------------------------------------------------------------------
run_ctr "$p1" "$pa" quitter '["sh", "-c", "exit 7"]'
quitter=$cid
wait_exited "$quitter"
check "a container's exit code (inspect)" "7 Error" "$(field "$quitter" exitCode) $(field "$quitter" reason)"
cri stop -t 2 "$client" >/dev/null 2>&1
check "stop: SIGTERM is ignored by PID 1 sleep, SIGKILL after the timeout (137)" "CONTAINER_EXITED 137" \
  "$(field "$client" state) $(field "$client" exitCode)"
cri rm "$client" "$quitter" >/dev/null 2>&1
check "rm: the containers are gone, the pod and the other container run on" "1 CONTAINER_RUNNING 1" \
  "$(cri ps -a -q --pod "$p1" | wc -l) $(field "$web" state) $(vms)"

# --- a shared emptyDir, shareProcessNamespace ----------------------------------------------------
pb=$(pod pb 0)
p2=$(cri runp "$pb" 2>"$work/err")
check "a second pod: a second VM" 2 "$(vms)"
mkdir -p "$work/emptydir"
run_ctr "$p2" "$pb" writer '["sh", "-c", "echo from-writer >/data/f; sleep 1000"]' 0 0 "$work/emptydir"
writer=$cid
run_ctr "$p2" "$pb" reader '["sleep", "1000"]' 0 0 "$work/emptydir"
reader=$cid
sleep 1
check "emptyDir: one container's write is the other's read" "from-writer" "$(cri exec "$reader" cat /data/f 2>&1)"
check "emptyDir: one directory inside the guest (same inode)" \
  "$(cri exec "$writer" stat -c %i /data 2>&1)" "$(cri exec "$reader" stat -c %i /data 2>&1)"
check "shareProcessNamespace: the pod's processes see each other" "pause 2" \
  "$(cri exec "$reader" sh -c 'cat /proc/1/comm; pidof sleep | wc -w' 2>&1 | tr '\n' ' ' | sed 's/ $//')"

# --- the pods' network (CNI's bridge in the node's namespace, mirrored into each VM) -------------
podip() { cri inspectp "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["network"]["ip"])'; }
ip1=$(podip "$p1")
check "the pod has its CNI address, and its VM the same on eth0" "yes $ip1" \
  "$(case $ip1 in 10.215.0.*) echo yes;; *) echo "no ($ip1)";; esac) $(cri exec "$web" sh -c "ip -4 -o addr show eth0 | awk '{print \$4}' | cut -d/ -f1" 2>&1)"
check "the pod's IP answers from the node (its server, in the VM)" "served" \
  "$(on_node timeout 10 wget -qO- "http://$ip1:8080/" 2>&1)"
check "two pods talk to each other" "served" "$(cri exec "$reader" timeout 10 wget -qO- "http://$ip1:8080/" 2>&1)"
check "the pod's tap and filters are in the pod's namespace, not the node's" "0" \
  "$(on_node ip -o link show | grep -c ' hako[0-9]')"
ph=$(pod ph 1 '{}' "/$cgroup_test/podph" 2)
cri runp "$ph" >/dev/null 2>"$work/err"; rc=$?
check "a host-network pod is refused with a clear error, no VM and no host cgroup left" "1 1 2 0" \
  "$([ $rc -ne 0 ] && echo 1) $(grep -q "host's network namespace" "$work/err" && echo 1) $(vms) $(ls -d /sys/fs/cgroup/*/"$cgroup_test"/podph/*/ 2>/dev/null | wc -l)"

# --- OOM --------------------------------------------------------------------------------------------
run_ctr "$p2" "$pb" hog '["sh", "-c", "tail /dev/zero"]' 0 33554432
hog=$cid
wait_exited "$hog"
check "an OOM kill in the guest: exit 137, reason OOMKilled" "137 OOMKilled" "$(field "$hog" exitCode) $(field "$hog" reason)"

# --- a container with limits grows its pod's VM --------------------------------------------------
mem() { cri exec "$1" awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo 2>&1; }
before="$(cri exec "$reader" nproc 2>&1) $(mem "$reader")"
run_ctr "$p2" "$pb" big '["sleep", "1000"]' 0 268435456 "" 200000
big=$cid
after="$(cri exec "$big" nproc 2>&1) $(mem "$big")"
# The VM holds the sandbox (256 MiB here) and every live container's limits; the guest kernel keeps
# a few MiB of it for itself.
check "a container with 2 CPUs and 256 MiB of limits: the pod's VM grew to hold it" yes \
  "$(read -r c0 _ <<<"$before"; read -r c1 m1 <<<"$after"; [ "$c0" = 1 ] && [ "$c1" = 2 ] && [ "$m1" -ge 480 ] && echo yes || echo "before $before, after $after")"
check "...its limits hold in the guest's cgroup" "200000 100000 268435456" \
  "$(cri exec "$big" sh -c 'p=$(cut -d: -f3 /proc/self/cgroup); cat /sys/fs/cgroup$p/cpu.max /sys/fs/cgroup$p/memory.max' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check "...and the pod's other containers see the new CPUs too" 2 "$(cri exec "$reader" nproc 2>&1)"

# --- the pod goes: stopp, rmp ---------------------------------------------------------------------
cri stopp "$p2" >/dev/null 2>&1
check "stopp: every container of the pod exited" "CONTAINER_EXITED CONTAINER_EXITED" "$(field "$writer" state) $(field "$reader" state)"
check "stopp: the pod's VM is gone" 1 "$(vms)"
cri rmp "$p2" >/dev/null 2>&1
check "rmp: the pod is gone" "" "$(cri pods -q --name pb)"

# --- kill -9 of a component: the pod's containers end non-zero, shim delete cleans up -------------
crash() { # n component pattern (the pod's sandbox id is appended)
  local pod_json p cid pid
  pod_json=$(pod "crash$1" 1 '{}' "/$cgroup_test/crash$1")
  p=$(cri runp "$pod_json" 2>/dev/null)
  cid=$(cri create "$p" "$(ctrcfg "victim$1" '["sleep", "1000"]')" "$pod_json" 2>/dev/null) && cri start "$cid" >/dev/null 2>&1
  pid=$(pgrep -f "$3$p" | head -1)
  check "kill -9 of $2: it was there" yes "$([ -n "$pid" ] && echo yes || echo no)"
  kill -9 "$pid"
  wait_exited "$cid"
  check "kill -9 of $2: the container exits non-zero" "CONTAINER_EXITED yes" \
    "$(field "$cid" state) $([ "$(field "$cid" exitCode)" != 0 ] && echo yes || echo no)"
  cri stopp "$p" >/dev/null 2>&1
  cri rmp "$p" >/dev/null 2>&1
  check "kill -9 of $2: no VM, virtiofsd, shim, state or host cgroup of the pod left" " no 0" \
    "$(left "qemu-system.*$p|virtiofsd.*$p|shim-hako-v2.*$p") $([ -e "$work/hako/shim/k8s.io/$p" ] && echo yes || echo no) $(ls -d /sys/fs/cgroup/*/"$cgroup_test"/crash$1/*/ 2>/dev/null | wc -l)"
}
crash 1 "the shim" "containerd-shim-hako-v2 .*-id "
crash 2 "QEMU" "qemu-system-x86_64 -name hako-"
crash 3 "virtiofsd" "virtiofsd .*source=$work/hako/shim/k8s.io/"

# --- bad input: a clear error, the other pods keep running -----------------------------------------
out=$(cri runp --runtime broken "$(pod bad1)" 2>&1)
check "a configuration with a syntax error: runp fails and says where" yes \
  "$(grep -q "broken.toml:2: default_vcpus: malformed value" <<<"$out" && echo yes || echo "$out")"
out=$(cri runp "$(pod bad2 1 '{"org.hako.kernel": "/boot/vmlinuz"}')" 2>&1)
check "an annotation the configuration does not allow: runp fails" yes \
  "$(grep -q "annotation org.hako.kernel is not allowed" <<<"$out" && echo yes || echo "$out")"
pv=$(pod vcpus 1 '{"org.hako.vcpus": "2", "org.hako.memory": "384"}')
p3=$(cri runp "$pv" 2>"$work/err")
run_ctr "$p3" "$pv" sizer '["sh", "-c", "nproc; grep MemTotal /proc/meminfo; sleep 1000"]'
sleep 1
check "allowed annotations size the pod's VM (2 vCPUs)" 2 "$(cri logs "$cid" 2>&1 | head -1)"
cri rmp -f "$p3" >/dev/null 2>&1
check "after the failures the first pod still runs" "CONTAINER_RUNNING served" \
  "$(field "$web" state) $(cri exec "$web" cat /tmp/index.html 2>&1)"

# --- ctr run with the shim (no CRI): a container is a pod of its own ----------------------------
rund() { out=$(c "$@" 2>"$work/err" </dev/null); rc=$?; err=$(cat "$work/err"); }
HR=(--runtime io.containerd.hako.v2)
rund run --rm "${HR[@]}" "$img" r1 sh -c 'echo out; echo err >&2; exit 3'
check "ctr run: exit status, stdout and stderr apart" "3 out err" "$rc $out $err"
out=$(timeout 60 python3 "$here/pty-run.py" 24 80 ctr --address "$work/c.sock" -n k8s.io run --rm -t "${HR[@]}" "$img" r2 \
  sh -c 'tty; stty size' | tr -d '\r')
check "ctr run -t: a terminal" "/dev/pts/0 24 80" "$(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
rund run -d "${HR[@]}" "$img" r3 sh -c 'trap "exit 6" TERM; sleep 1000 & echo ready >/tmp/ready; while :; do sleep 0.1; done'
for _ in $(seq 300); do c task exec --exec-id probe r3 cat /tmp/ready 2>/dev/null | grep -q ready && break; sleep 0.2; done
rund task exec --exec-id e1 r3 sh -c 'echo in-exec; exit 4'
check "ctr task exec: output and exit status" "4 in-exec" "$rc $out"
rund task ps r3
check "ctr task ps: the guest's processes" yes "$([ "$(tail -n +2 <<<"$out" | grep -c .)" -ge 2 ] && echo yes || echo "$out")"
rund task metrics r3
check "ctr task metrics: cgroup v2 numbers from the guest" "0 yes" "$rc $(grep -q 'memory.usage_in_bytes\|memory.usage' <<<"$out" && echo yes || echo "$out")"
rund task pause r3
check "ctr task pause: the container is frozen, the VM is not" "0 PAUSED" "$rc $(c task ls | awk '$1 == "r3" {print $3}')"
rund task resume r3
check "ctr task resume" "0 RUNNING" "$rc $(c task ls | awk '$1 == "r3" {print $3}')"
rund task kill -s SIGTERM r3
for _ in $(seq 100); do [ "$(c task ls | awk '$1 == "r3" {print $3}')" == STOPPED ] && break; sleep 0.1; done
check "ctr task kill: the exit status is the container's" "STOPPED" "$(c task ls | awk '$1 == "r3" {print $3}')"
rund task rm r3
rund containers rm r3
check "ctr task rm: gone" "" "$(c task ls -q | grep '^r3$')"

# containerd's log URIs instead of fifos: a file, and a logging binary (streams on fds 3 and 4, it
# says it is ready by closing fd 5; its environment is CONTAINER_ID and CONTAINER_NAMESPACE only).
rund run --rm --log-uri "file://$work/logs/l1.log" "${HR[@]}" "$img" l1 sh -c 'echo to-file; echo err-file >&2'
check "ctr run --log-uri file://: both streams in the file" "0 err-file to-file" "$rc $(sort "$work/logs/l1.log" | tr '\n' ' ' | sed 's/ $//')"
cat >"$work/logger.sh" <<'SH'
#!/bin/sh
PATH=/usr/bin:/bin
exec 5>&-
echo "$CONTAINER_NAMESPACE/$CONTAINER_ID $1=$2" >"$2.env"
cat <&3 >"$2.out" &
cat <&4 >"$2.err"
wait
SH
chmod +x "$work/logger.sh"
rund run --rm --log-uri "binary://$work/logger.sh?to=$work/logs/bin" "${HR[@]}" "$img" l2 sh -c 'echo to-bin; echo err-bin >&2'
for _ in $(seq 50); do [ -s "$work/logs/bin.err" ] && break; sleep 0.1; done
check "ctr run --log-uri binary://: the logger gets each stream, its args and environment" \
  "0 to-bin err-bin k8s.io/l2 to=$work/logs/bin" "$rc $(cat "$work/logs/bin.out") $(cat "$work/logs/bin.err") $(cat "$work/logs/bin.env")"

# --- and it all goes away --------------------------------------------------------------------------
cri stopp "$p1" >/dev/null 2>&1
cri rmp "$p1" >/dev/null 2>&1
check "no VM, virtiofsd or shim left" "" "$(left "qemu-system.*$work|virtiofsd.*$work|shim-hako-v2.*$work")"
check "no shim state left" "" "$(ls -A "$work/hako/shim/k8s.io" 2>/dev/null; ls -A "$work/hako/s" 2>/dev/null)"
check "no mount of the tests left" "" "$(grep -c " $work/root" /proc/mounts | grep -v '^0$')"
check "no sanitizer reports from the shims" "" "$(cat "$work"/sanitizer.* 2>/dev/null | head -20)"
check "the pod's host cgroup is gone" "" "$(find /sys/fs/cgroup -path "*/$cgroup_test/podpa/*" -maxdepth 5 -type d 2>/dev/null)"
find /sys/fs/cgroup -maxdepth 4 -depth -type d -path "*/$cgroup_test*" -exec rmdir {} + 2>/dev/null
tap_done
