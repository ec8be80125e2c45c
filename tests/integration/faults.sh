#!/usr/bin/env bash
# Fault injection (issue 12): `kill -9` of every process hako involves -- the OCI CLI clients
# (create, start, exec, delete, run --bundle), the container's host process that owns its VM,
# the Docker-like `hako run`, QEMU and virtiofsd -- at a random moment of create, start, exec,
# delete and run. Afterwards `hako state` and `hako list` must tell the truth, and
# `hako delete --force` must leave nothing: no process, mount, host cgroup, tap or tc filter in the
# container's network namespace, socket, state directory or scratch disk. Then concurrent
# create/delete pairs with colliding ids and with distinct ones: no corruption, every error one
# clear line, nothing left. The whole file runs under a child subreaper, as under containerd-shim.
#
# usage: faults.sh HAKO_BINARY   (as root; HAKO_KERNEL / HAKO_INITRD point at the guest image). TAP.
#   FAULTS_ITERATIONS  fault injections (default 23: each phase x victim once). The slow version
#                      is FAULTS_ITERATIONS=200 (docs/faults.md; not run by meson).
#   FAULTS_SEED        seed of $RANDOM, which picks the delays (default 12; printed)
#   FAULTS_PAIRS       concurrent create/delete pairs of each kind (default 50)
#   FAULTS_PARALLEL    at most this many pairs at a time (default 8)
#   FAULTS_NET_MODE    how the container's interface reaches the VM: tcfilter (default) or
#                      macvtap (through HAKO_CONFIG)
#   FAULTS_ONLY        "PHASE VICTIM": inject only this one (e.g. "create qemu"), for debugging
#   FAULTS_KEEP=1      keep the work directory (logs, stderr of every command)
set -u
here=$(dirname "$(readlink -f "$0")")
if [ -z "${HAKO_FAULTS_REAPED:-}" ]; then
  reaped=$(mktemp /tmp/hako-faults-reaped.XXXXXX)
  HAKO_FAULTS_REAPED=$reaped python3 "$here/subreaper.py" "$reaped" bash "$0" "$@"
  rc=$?
  rm -f "$reaped"
  exit $rc
fi
HAKO=$(readlink -f "${1:?usage: faults.sh HAKO_BINARY}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "Bail out! needs root"; exit 1; }
. "$here/tap-lib.sh"

iterations=${FAULTS_ITERATIONS:-23}
seed=${FAULTS_SEED:-12}
pairs=${FAULTS_PAIRS:-50}
parallel=${FAULTS_PARALLEL:-8}
RANDOM=$seed
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

work=$(mktemp -d /tmp/hako-faults.XXXXXX)
root=$work/root
# Every name of this run starts with it: ids, disks (/var/lib/hako/disks/ID-*.img), cgroups.
prefix=fx$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
disks=/var/lib/hako/disks
ns=$prefix-ns
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
export HAKO_BOOT_TIMEOUT=${HAKO_BOOT_TIMEOUT:-60}
unset HAKO_ROOT
net_mode=${FAULTS_NET_MODE:-tcfilter}
printf '[network]\nmode = "%s"\n' "$net_mode" >"$work/hako.toml"
export HAKO_CONFIG=$work/hako.toml
echo "# seed $seed (FAULTS_SEED), $iterations iterations, net mode $net_mode, prefix $prefix, work $work"

cleanup() {
  local p
  for p in $(pgrep -f "$work"); do kill -9 "$p" 2>/dev/null; done
  sleep 0.3
  rm -f "$disks/$prefix"-*.img
  rmdir /sys/fs/cgroup/*/"$prefix"/* /sys/fs/cgroup/*/"$prefix" /sys/fs/cgroup/"$prefix"/* /sys/fs/cgroup/"$prefix" \
    /sys/fs/cgroup/*/hako/"$prefix"-* /sys/fs/cgroup/hako/"$prefix"-* 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  ip netns del "$ns-peer" 2>/dev/null
  [ "${FAULTS_KEEP:-}" = 1 ] && echo "# kept $work" || rm -rf "$work"
}
trap cleanup EXIT

# A known failure whose fix is outside this work (docs/faults.md, "Known gaps"): TAP's TODO,
# reported but not counted.
todo() { n=$((n+1)); echo "not ok $n - $1 # TODO $2"; shift 2; for l in "$@"; do echo "#   $l"; done; }
todo_vfsd="nothing on the host watches virtiofsd (src/oci/monitor.c, src/runtime/sandbox.c)"
todo_creating="src/oci/monitor.c must write oci_status creating once the sandbox is up"
now() { NOW=$((${EPOCHREALTIME//[!0-9]/} / 1000)); } # ms
msleep() { local s; printf -v s '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); sleep "$s"; }
hako() { timeout -s KILL 120 "$HAKO" --root "$root" "$@"; }
jget() { $PY -c 'import json,sys
try: print(json.load(sys.stdin).get(sys.argv[1], ""))
except Exception: print("(invalid json)")' "$1"; }

# Processes: `procs snap PATTERN...` prints "PID STARTTIME CMD" for every live process whose
# command line holds a pattern, and their descendants; `procs alive FILE` prints the lines of FILE
# whose process still lives (same pid and start time, not a zombie).
cat >"$work/procs.py" <<'PY'
import os, sys
def table():
    t = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = open(f"/proc/{p}/stat").read()
            cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()
        t[int(p)] = (int(f[1]), f[19], f[0], cmd.strip())
    return t
t = table()
if sys.argv[1] == "snap":
    me = os.getpid()
    picked = {p for p, v in t.items() if p != me and any(x in v[3] for x in sys.argv[2:])}
    grew = True
    while grew:
        grew = False
        for p, v in t.items():
            if v[0] in picked and p not in picked:
                picked.add(p)
                grew = True
    for p in sorted(picked):
        if t[p][2] != "Z":
            print(p, t[p][1], t[p][3][:160])
else:
    seen = set()
    for line in open(sys.argv[2]):
        p, start = line.split()[:2]
        v = t.get(int(p))
        if v and v[1] == start and v[2] != "Z" and p not in seen:
            seen.add(p)
            print(line.rstrip())
PY
procs() { $PY "$work/procs.py" "$@"; }
# Everything of this run that may hold a process: the work directory (state root, bundles, the
# OCI clients' and host processes' command lines, QEMU's console path, virtiofsd's source) and
# the scratch disks (mkfs.ext4).
ours() { procs snap "$work" "$disks/$prefix" "hako-$prefix"; }

# The container's network namespace, made here: one end of a veth in it (the other in a peer
# namespace), as Docker and CNI do. hako attaches a tap with tc redirects to it.
ip netns add "$ns" && ip netns add "$ns-peer" &&
  ip -n "$ns" link add v0 type veth peer name v1 netns "$ns-peer" &&
  ip -n "$ns" link set v0 up && ip -n "$ns-peer" link set v1 up &&
  ip -n "$ns" addr add 10.213.0.2/24 dev v0 ||
  { echo "Bail out! cannot make the network namespace $ns"; exit 1; }

rootfs=$HAKO_IMAGE_ROOT/busybox/rootfs
[ -d "$rootfs" ] || "$HAKO" --root "$root" run --rm --network none busybox true >/dev/null 2>&1
[ -d "$rootfs" ] || { echo "Bail out! no busybox image under $HAKO_IMAGE_ROOT"; exit 1; }
spec_template=$work/spec.json
(cd "$work" && crun spec && mv config.json "$spec_template") || { echo "Bail out! crun spec failed"; exit 1; }
# mkbundle DIR ARGS_JSON NETNS_PATH CGROUPS_PATH: a bundle over the built-in busybox image.
mkbundle() {
  mkdir -p "$1" && $PY - "$spec_template" "$1/config.json" "$rootfs" "$2" "$3" "$4" <<'PY'
import json, sys
tpl, path, rootfs, args, netns, cgroup = sys.argv[1:]
c = json.load(open(tpl))
c["root"] = {"path": rootfs, "readonly": True}
c["process"]["args"] = json.loads(args)
c["process"]["terminal"] = False
for n in c["linux"]["namespaces"]:
    if n["type"] == "network" and netns:
        n["path"] = netns
if cgroup:
    c["linux"]["cgroupsPath"] = cgroup
json.dump(c, open(path, "w"))
PY
}

# What is left of container ID, one line each (nothing: clean).
leaks() {
  local id=$1 f
  procs alive "$work/procs.$id" | sed 's/^/process: /'
  ours | sed 's/^/process: /'
  grep -F -e "$work" -e "$disks/$prefix" /proc/self/mountinfo | awk '{print "mount: " $5}'
  for f in /sys/fs/cgroup/*/"$prefix/$id" /sys/fs/cgroup/"$prefix/$id" /sys/fs/cgroup/*/hako/"$id" /sys/fs/cgroup/hako/"$id"; do
    [ -d "$f" ] && echo "cgroup: $f"
  done
  ip -n "$ns" -o link show | awk -F': ' '$2 != "lo" && $2 !~ /^v0@/ {print "link in " ns ": " $2}' ns="$ns"
  tc -n "$ns" qdisc show dev v0 ingress | sed "s/^/qdisc on v0 in $ns: /"
  tc -n "$ns" filter show dev v0 ingress | sed "s/^/tc filter on v0 in $ns: /" | head -1
  find "$work" -type s | sed 's/^/socket: /'
  { grep -F "$work" /proc/net/unix; ip netns exec "$ns" grep -F "$work" /proc/net/unix; } |
    awk '{print "bound socket: " $NF}'
  ls -A "$root" 2>/dev/null | sed 's/^/state: /'
  ls "$disks/$id"-*.img 2>/dev/null | sed 's/^/disk: /'
}
# Takes away what a failed check left, so that the next iteration starts clean.
scrub() {
  local p
  for p in $(pgrep -f "$work/root"); do kill -9 "$p" 2>/dev/null; done
  sleep 0.3
  rm -rf "${root:?}"/* "${root:?}"/.[!.]* 2>/dev/null
  rm -f "$disks/$1"-*.img
  rmdir /sys/fs/cgroup/*/"$prefix/$1" /sys/fs/cgroup/*/hako/"$1" 2>/dev/null
  tc -n "$ns" qdisc del dev v0 ingress 2>/dev/null
}

# The first process of KIND for container ID whose client (the command under test) is CPID.
victim_pid() {
  local kind=$1 id=$2 cpid=$3 p
  case $kind in
    client) kill -0 "$cpid" 2>/dev/null && echo "$cpid" ;;
    monitor)
      # The host process: the record names it once it exists; before that, the client's child.
      p=$(cat "$root/$id/owner" 2>/dev/null)
      [ -n "$p" ] && kill -0 "$p" 2>/dev/null || p=$(pgrep -P "$cpid" -x hako | head -1)
      echo "$p" ;;
    qemu) pgrep -o -f -- "-name hako-$id " ;;
    virtiofsd) pgrep -o -f "virtiofsd.*source=$root/$id/shared" ;;
  esac
}

# The truth about ID: its state against the processes. Prints the verdict (gone, stopped,
# creating, created, running, paused) or "WRONG: ..." after 10 s of inconsistency.
vm_alive() { [ -n "$(pgrep -f -- "-name hako-$1 ")" ]; }
truth() {
  local id=$1 st rc status pid last=""
  for _ in $(seq 100); do
    st=$("$HAKO" --root "$root" state "$id" 2>"$work/state.err"); rc=$?
    if [ $rc -ne 0 ]; then
      last="state fails: $(head -c 200 "$work/state.err")"
      if grep -qx "hako: error: container does not exist" "$work/state.err" && ! vm_alive "$id"; then
        echo gone; return
      fi
    else
      status=$(jget status <<<"$st"); pid=$(jget pid <<<"$st")
      last="state says $status (pid $pid), VM $(vm_alive "$id" && echo alive || echo gone)"
      case $status in
        stopped) vm_alive "$id" || { echo stopped; return; } ;;
        created|running|paused) vm_alive "$id" && kill -0 "$pid" 2>/dev/null && { echo "$status"; return; } ;;
        creating) kill -0 "$pid" 2>/dev/null && { echo creating; return; } ;;
      esac
    fi
    sleep 0.1
  done
  echo "WRONG: $last"
}
# The order of the statuses a container goes through ("": gone).
rank() { case $1 in creating) echo 0 ;; created) echo 1 ;; running|paused) echo 2 ;; stopped) echo 3 ;; "") echo 4 ;; *) echo -1 ;; esac; }
# The status `hako list` gives ID ("" when it lists it not), or "(invalid json)".
list_status() {
  "$HAKO" --root "$root" list --format json 2>/dev/null | $PY -c 'import json, sys
try: print(next((c["status"] for c in json.load(sys.stdin) if c["id"] == sys.argv[1]), ""))
except Exception: print("(invalid json)")' "$1"
}

# --- a clean lifecycle: the phases' durations (the range of the random delays) -------------------
id=$prefix-0
mkbundle "$work/b/$id" '["sleep", "1000"]' "/run/netns/$ns" "/$prefix/$id"
# Unmeasured first: the VM template of this shape is built (once per host) before anything is timed.
hako run --bundle "$work/b/$id" "$id-w" </dev/null >/dev/null 2>&1 &
for _ in $(seq 600); do [ "$("$HAKO" --root "$root" state "$id-w" 2>/dev/null | jget status)" == running ] && break; sleep 0.1; done
hako delete --force "$id-w"
wait
: >"$work/procs.$id-w"
now; t0=$NOW
hako --log "$work/$id.log" create --bundle "$work/b/$id" "$id" </dev/null >/dev/null 2>"$work/$id.err"; rc=$?
now; d_create=$((NOW - t0)); t0=$NOW
hako start "$id"; rc="$rc $?"
now; d_start=$((NOW - t0)); t0=$NOW
out=$(hako exec "$id" sh -c 'echo exec-out; sleep 0.2'); rc="$rc $?"
now; d_exec=$((NOW - t0))
check "clean lifecycle: create, start, exec" "0 0 0 exec-out" "$rc $out"
check "clean lifecycle: the tap (and in tcfilter mode its tc filter) are there while it runs" \
  "hako $([ "$net_mode" == tcfilter ] && echo 1 || echo 0)" \
  "$(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | grep -o '^hako' | head -1) $(tc -n "$ns" filter show dev v0 ingress | grep -c mirred)"
ours >"$work/procs.$id"
now; t0=$NOW
hako delete --force "$id"; rc=$?
now; d_delete=$((NOW - t0))
check "clean lifecycle: delete --force" 0 "$rc"
check "clean lifecycle: nothing left" "" "$(leaks "$id")"
: >"$work/procs.$id-r"; : >"$work/procs.$id-d"
now; t0=$NOW
mkbundle "$work/b/$id-r" '["sh", "-c", "sleep 1"]' "/run/netns/$ns" "/$prefix/$id-r"
hako --log "$work/$id.log" run --bundle "$work/b/$id-r" "$id-r" </dev/null >/dev/null 2>&1; rc=$?
now; d_run=$((NOW - t0)); t0=$NOW
hako run --rm --name "$id-d" busybox sleep 1 </dev/null >/dev/null 2>&1; rc="$rc $?"
now; d_drun=$((NOW - t0))
check "clean lifecycle: run --bundle, Docker-like run --rm" "0 0" "$rc"
check "clean lifecycle: nothing left after the runs" "" "$(leaks "$id-w"; leaks "$id-r"; leaks "$id-d")"
# What a delete killed in the middle of its rm_rf used to leave: a directory with neither lock
# nor status, which no command showed or removed, and which kept its id from being used again.
mkdir -p "$root/$prefix-half/shared" && echo x >"$root/$prefix-half/console.log"
hako delete --force "$prefix-half"; rc=$?
check "a record half-removed by a killed delete: collected" "0 " "$rc $(ls -A "$root")"
echo "# clean lifecycle (ms): create $d_create, start $d_start, exec $d_exec, delete $d_delete, run --bundle $d_run, Docker-like run $d_drun"

# --- kill -9 at a random moment -------------------------------------------------------------------
# Each phase with the command under test and its delay range (ms: the clean duration, plus a bit).
declare -A maxdelay=([create]=$((d_create + 200)) [start]=$((d_start + 50)) [exec]=$((d_exec + 50))
                     [delete]=$((d_delete + 50)) [run]=$((d_run + 200)) [drun]=$((d_drun + 200)))
combos=("create client" "create monitor" "create qemu" "create virtiofsd"
        "start client" "start monitor" "start qemu" "start virtiofsd"
        "exec client" "exec monitor" "exec qemu" "exec virtiofsd"
        "delete client" "delete monitor" "delete qemu" "delete virtiofsd"
        "run client" "run monitor" "run qemu" "run virtiofsd"
        "drun client" "drun qemu" "drun virtiofsd")
[ -n "${FAULTS_ONLY:-}" ] && combos=("$FAULTS_ONLY")
hits=0 misses=0 leaks_found=0 wrong=0 hung=0
declare -A verdicts=()
now; t_faults=$NOW
for ((i = 1; i <= iterations; i++)); do
  read -r phase victim <<<"${combos[$(((i - 1) % ${#combos[@]}))]}"
  id=$prefix-$i
  delay=$((RANDOM % (maxdelay[$phase] + 1)))
  name="[$i] $phase, kill -9 $victim after ${delay} ms"
  b=$work/b/$id
  if [ "$phase" == run ]; then args='["sh", "-c", "sleep 1"]'; else args='["sleep", "1000"]'; fi
  mkbundle "$b" "$args" "/run/netns/$ns" "/$prefix/$id"
  : >"$work/procs.$id"
  # The state before the phase.
  setup_rc=0
  # (timed: the range of the next delays follows what the phase takes now)
  now; t0=$NOW
  case $phase in
    start|exec|delete)
      hako --log "$work/$id.log" create --bundle "$b" "$id" </dev/null >/dev/null 2>"$work/$id.setup.err" || setup_rc=1
      now; [ $setup_rc = 0 ] && maxdelay[create]=$((NOW - t0 + 200)); t0=$NOW ;;
  esac
  case $phase in
    exec|delete)
      [ $setup_rc = 0 ] && { hako start "$id" 2>>"$work/$id.setup.err" || setup_rc=1; }
      now; [ $setup_rc = 0 ] && maxdelay[start]=$((NOW - t0 + 50)) ;;
  esac
  if [ $setup_rc != 0 ]; then
    not_ok "$name: setup" "$(head -3 "$work/$id.setup.err")"
    scrub "$id"
    continue
  fi
  ours >>"$work/procs.$id"
  case $phase in
    create) cmd=(create --bundle "$b" "$id") ;;
    start) cmd=(start "$id") ;;
    exec) cmd=(exec "$id" sh -c 'echo exec-out; sleep 0.2') ;;
    delete) cmd=(delete --force "$id") ;;
    run) cmd=(run --bundle "$b" "$id") ;;
    drun) cmd=(run --rm --name "$id" busybox sleep 1) ;;
  esac
  now; t0=$NOW
  "$HAKO" --root "$root" --log "$work/$id.log" "${cmd[@]}" </dev/null >"$work/$id.out" 2>"$work/$id.err" &
  cpid=$!
  msleep "$delay"
  # The victim as soon as it exists: it may not yet after a short delay (QEMU, virtiofsd).
  vp=""
  for _ in $(seq 2000); do
    vp=$(victim_pid "$victim" "$id" "$cpid")
    [ -n "$vp" ] && break
    kill -0 "$cpid" 2>/dev/null || break
    msleep 5
  done
  ours >>"$work/procs.$id"
  now; at=$((NOW - t0))
  if [ -n "$vp" ] && kill -9 "$vp" 2>/dev/null; then
    hits=$((hits + 1))
    what="killed $victim (pid $vp) at $at ms"
  else
    misses=$((misses + 1))
    what="no $victim to kill at $at ms (the command had ended)"
  fi
  # The command ends by itself: at once when what it waits for is gone. Without virtiofsd the
  # guest's file system hangs and nothing on the host notices: the command would wait out its
  # agent call's timeout (60 s) -- given 5 s here, then killed.
  limit=900
  [ "$victim" == virtiofsd ] && [ -n "$vp" ] && limit=50
  for _ in $(seq $limit); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$cpid" 2>/dev/null; then
    hung=$((hung + 1))
    if [ $limit = 50 ]; then
      todo "$name: the command ends within 5 s" "$todo_vfsd" \
        "'${cmd[0]}' still waits for the guest, whose file system hangs: killed"
    else
      not_ok "$name: the command ends" "still running after 90 s: killed"
    fi
    kill -9 "$cpid"
  fi
  wait "$cpid" 2>/dev/null; crc=$? # (quiet: no "Killed" from bash)
  now; took=$((NOW - t0))
  echo "# $name: $what; '${cmd[0]}' exit $crc after $took ms"
  [ -s "$work/$id.err" ] && head -3 "$work/$id.err" | sed 's/^/#   stderr: /'
  ours >>"$work/procs.$id"

  v=$(truth "$id")
  verdicts[$v]=$((${verdicts[$v]:-0} + 1))
  case $v in
    WRONG*) wrong=$((wrong + 1)); not_ok "$name: state tells the truth" "$v" ;;
    running)
      if [ "$phase" == create ]; then
        # Nothing started it: its host process is still creating it (the guest's crun create).
        todo "$name: state tells the truth (not running before anything started it)" "$todo_creating" \
          "state says running, but its create has not finished"
      else
        ok "$name: state tells the truth ($v)"
      fi ;;
    *) ok "$name: state tells the truth ($v)" ;;
  esac
  if ((i % 2 == 0)); then
    st_st=""
    st=$("$HAKO" --root "$root" state "$id" 2>/dev/null) && st_st=$(jget status <<<"$st")
    ls_st=$(list_status "$id")
    # list collects a dead record that nothing keeps (a killed `hako run --rm`): gone from both.
    [ "$st_st" == stopped ] && [ -z "$ls_st" ] && ! "$HAKO" --root "$root" state "$id" >/dev/null 2>&1 && st_st=""
    # The two looks are moments apart: the container may have moved on (its init exited).
    r1=$(rank "$st_st") r2=$(rank "$ls_st")
    if [ "$r1" -ge 0 ] && [ "$r2" -ge "$r1" ] && { [ "$r2" -gt "$r1" ] || [ "$st_st" == "$ls_st" ]; }; then
      ok "$name: list agrees with state ($st_st${ls_st:+, then }$ls_st)"
    elif [ "$st_st" == running ] && [ "$ls_st" == created ]; then
      todo "$name: list agrees with state" "$todo_creating" \
        "state said running, then list said created: it was still being created"
    else
      not_ok "$name: list agrees with state" "state: $st_st" "list:  $ls_st"
    fi
  fi
  if [ "$victim" == virtiofsd ] && [ "$vp" ] && [ "$phase" != delete ]; then
    case $v in
      created|running|paused)
        if [ -z "$(pgrep -f "virtiofsd.*source=$root/$id/shared")" ]; then
          todo "$name: does not claim to run on without its virtiofsd" "$todo_vfsd" \
            "state says $v, its VM runs, its virtiofsd is gone: the guest's file system hangs"
        else
          ok "$name: does not claim to run on without its virtiofsd (a new one serves it)"
        fi ;;
      *) ok "$name: does not claim to run on without its virtiofsd ($v)" ;;
    esac
  fi

  hako delete --force "$id" </dev/null >"$work/$id.del.out" 2>"$work/$id.del.err"; rc=$?
  check "$name: delete --force" "0 " "$rc $(head -c 300 "$work/$id.del.err")"
  sleep 0.2
  l=$(leaks "$id")
  if [ -n "$l" ]; then
    # Processes that die a moment later (PDEATHSIG) are not leaks: look again.
    sleep 1
    l=$(leaks "$id")
  fi
  if [ -n "$l" ]; then
    leaks_found=$((leaks_found + 1))
    mapfile -t lines <<<"$l"
    not_ok "$name: nothing left" "${lines[@]}"
    scrub "$id"
  else
    ok "$name: nothing left"
  fi
done
now; t_faults=$((NOW - t_faults))
vs=""
for k in "${!verdicts[@]}"; do vs="$vs $k=${verdicts[$k]}"; done
echo "# fault injection: $iterations iterations in $((t_faults / 1000)) s, $hits kills ($misses too late), states:$vs; wrong states $wrong, hung commands $hung, iterations with leaks $leaks_found"
check "fault injection: no leaks in any iteration" 0 "$leaks_found"

# --- concurrent create/delete pairs ---------------------------------------------------------------
# Each pair: `create ID` then `delete --force ID`. Colliding: the ids of 5 consecutive pairs are
# the same (10 ids x 5 attempts), so they race; distinct: an id each. At most $parallel at a time.
bc=$work/b/conc
mkbundle "$bc" '["sleep", "1000"]' "" ""
mkdir -p "$work/conc"
pair() { # ID TAG
  local id=$1 f=$work/conc/$2 t0 st
  now; t0=$NOW
  "$HAKO" --root "$root" create --bundle "$bc" --pid-file "$f.pid" "$id" </dev/null >/dev/null 2>"$f.create.err"
  echo $? >"$f.create.rc"
  now; echo $((NOW - t0)) >"$f.create.ms"
  if [ "$(cat "$f.create.rc")" = 0 ]; then
    # The record is this create's: its pid, unless another pair has deleted (and made) it since.
    st=$("$HAKO" --root "$root" state "$id" 2>/dev/null)
    echo "$(jget status <<<"$st") $(jget pid <<<"$st") $(cat "$f.pid" 2>/dev/null)" >"$f.state"
  fi
  "$HAKO" --root "$root" delete --force "$id" </dev/null >/dev/null 2>"$f.delete.err"
  echo $? >"$f.delete.rc"
}
pool() { # NAME TAG_PREFIX IDS...
  local name=$1 tag=$2 k=0 pids=() sampler lister t0; shift 2
  [ $# -gt 0 ] || return
  ( while :; do pgrep -c -f -- "-name hako-$prefix-c" ; sleep 0.2; done >"$work/conc/$tag.vms" ) &
  sampler=$!
  ( while :; do "$HAKO" --root "$root" list --format json 2>&1 | $PY -c 'import json, sys
try:
    for c in json.load(sys.stdin):
        if c["status"] not in ("creating", "created", "running", "stopped"): print("bad status", c)
except Exception as e: print("invalid:", e)'; sleep 0.3; done >"$work/conc/$tag.lists" ) &
  lister=$!
  now; t0=$NOW
  for id in "$@"; do
    k=$((k + 1))
    while [ "${#pids[@]}" -ge "$parallel" ]; do
      wait -n "${pids[@]}"
      local alive=()
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
      pids=("${alive[@]}")
    done
    pair "$id" "$tag-$k" &
    pids+=($!)
  done
  [ "${#pids[@]}" -gt 0 ] && wait "${pids[@]}"
  now; local took=$((NOW - t0))
  kill "$sampler" "$lister"; wait "$sampler" "$lister" 2>/dev/null
  local n_ok max_vms avg
  n_ok=$(grep -lx 0 "$work/conc/$tag"-*.create.rc | wc -l)
  max_vms=$(sort -n "$work/conc/$tag.vms" | tail -1)
  avg=$(cat "$work/conc/$tag"-*.create.ms | awk '{s += $1} END {printf "%d", s / NR}')
  echo "# $name: $# pairs in $((took / 1000)).$((took % 1000 / 100)) s, $n_ok creates succeeded, mean create $avg ms, at most ${max_vms:-0} VMs at once"
  # Errors: one line each, and a clear one.
  local errs
  errs=$(for f in "$work/conc/$tag"-*.err; do
    [ -s "$f" ] || continue
    [ "$(wc -l <"$f")" -gt 1 ] && echo "more than one line in $(basename "$f"): $(tr '\n' '|' <"$f")"
    grep -v -E -e "^hako: error: container with id exists: $prefix-c[a-z]*[0-9]+\$" \
      -e '^hako: error: container does not exist$' "$f" | sed "s|^|$(basename "$f"): |"
  done)
  check "$name: every error is one clear line" "" "$errs"
  check "$name: every delete --force succeeds" "" \
    "$(grep -L -x 0 "$work/conc/$tag"-*.delete.rc | xargs -r -n1 basename)"
  check "$name: a created record is its create's (status created, its pid)" "" \
    "$(for f in "$work/conc/$tag"-*.state; do [ -e "$f" ] || continue; read -r s p f2 <"$f"; [ "$s" == created ] && [ "$p" != "$f2" ] && echo "$(basename "$f"): pid $p, its create's $f2"; [ "$s" == "(invalid json)" ] && echo "$(basename "$f"): invalid json"; done)"
  check "$name: list always parses, with valid statuses" "" "$(sort -u "$work/conc/$tag.lists" | head -5)"
  CONC_OK=$n_ok
}
if [ "$pairs" -gt 0 ]; then
  ids=()
  for ((k = 0; k < pairs; k++)); do ids+=("$prefix-cc$((k / 5))"); done
  pool "colliding ids ($((pairs / 5)) x 5)" col "${ids[@]}"
  check "colliding ids: every id was created at least once" "" \
    "$(for ((k = 0; k < pairs / 5; k++)); do
         n=0; for ((a = 1; a <= 5; a++)); do [ "$(cat "$work/conc/col-$((k * 5 + a)).create.rc")" = 0 ] && n=$((n + 1)); done
         [ $n -ge 1 ] || echo "$prefix-cc$k: never"; done)"
  ids=()
  for ((k = 0; k < pairs; k++)); do ids+=("$prefix-cd$k"); done
  pool "distinct ids" dis "${ids[@]}"
  check "distinct ids: every create succeeds" "$pairs" "$CONC_OK"
fi
sleep 0.5
l=$(ours; ls -A "$root" | sed 's/^/state: /'; ls "$disks/$prefix"-* 2>/dev/null | sed 's/^/disk: /'
    ls -d /sys/fs/cgroup/*/hako/"$prefix"-* /sys/fs/cgroup/hako/"$prefix"-* 2>/dev/null | sed 's/^/cgroup: /'
    grep -F "$work" /proc/self/mountinfo | awk '{print "mount: " $5}')
check "concurrent pairs: nothing left" "" "$l"
check "list: empty at the end" "[]" "$("$HAKO" --root "$root" list --format json)"
check "no sanitizer report or crash in any output" "" \
  "$(grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault|core dumped' "$work"/*.err "$work"/*.log "$work"/conc/*.err 2>/dev/null)"

tap_done
