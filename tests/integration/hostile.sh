#!/usr/bin/env bash
# The host against a hostile guest (issue 12, docs/hostile-guest.md): a test initrd whose agent
# (tests/hostile/hostile-agent.c) misbehaves on purpose at a chosen call — frames of 4 GiB, wrong
# stream ids, no answer, two answers, garbage, a channel closed mid-call, absurd values — plus a
# 2 GiB flood of output into a pipe whose reader keeps pausing. Each case must end in a clear
# error, with the host process's memory bounded, and leave nothing behind: no QEMU or virtiofsd,
# no mount, no state directory, no socket, no scratch disk (and for OCI containers no host cgroup).
# usage: hostile.sh HAKO_BINARY [HOSTILE_AGENT]   (HAKO_KERNEL / HAKO_INITRD: the guest image; the
# agent defaults to the plain build's, next to HAKO_INITRD). TAP.
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=$(readlink -f "${1:?usage: hostile.sh HAKO_BINARY [HOSTILE_AGENT]}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
agent=${2:-$(dirname "$HAKO_INITRD")/../tests/hostile/hostile-agent}
if [ ! -x "$agent" ]; then
  echo "1..0 # SKIP no hostile agent at $agent (it is built by the plain build)"
  exit 0
fi
agent=$(readlink -f "$agent")
flood=$here/../hostile/flood.py
base_initrd=$HAKO_INITRD

work=$(mktemp -d /tmp/hako-hostile.XXXXXX)
export HAKO_ROOT=$work/state
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
# The test initrds must really boot: no template (it would be restored instead, and built from
# the hostile agent), and the virtio-serial channel the hostile agent speaks.
export HAKO_TEMPLATE=0 HAKO_AGENT_TRANSPORT=serial
export HAKO_BOOT_TIMEOUT=60
. "$here/tap-lib.sh"
# An expected failure that needs a change outside this suite's files (TAP TODO: not counted).
todo() { n=$((n+1)); echo "not ok $n - $1 # TODO $2"; shift 2; for l in "$@"; do echo "#   $l"; done; }

# Every process of ours has $work in its command line (QEMU, virtiofsd: the state directory).
ours() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = $$ ] && continue
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "$work" && echo -n "${p#/proc/} "
  done
}
cleanup() {
  for p in $(ours); do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

asan=0
grep -q libasan <(ldd "$HAKO" 2>/dev/null) && asan=1
# ASan keeps freed memory in quarantine (256 MB by default), which would read as growth.
[ $asan = 1 ] && export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4

# The real initrd with the hostile agent appended as /init (a later cpio member wins) and its
# mode in /hostile-mode.
mkinitrd() {
  local stage=$work/stage
  rm -rf "$stage" && mkdir -p "$stage"
  cp "$agent" "$stage/init" && chmod 0755 "$stage/init"
  printf '%s\n' "$1" >"$stage/hostile-mode"
  (cd "$stage" && printf 'init\nhostile-mode\n' | cpio --quiet -H newc -o --owner=0:0) >"$work/hostile.cpio"
  cat "$base_initrd" "$work/hostile.cpio" >"$work/initrd.img"
  echo "$work/initrd.img"
}

# Sandbox names: ours alone, so that their scratch disks can be told from other runs'.
prefix=hostile-$$-
serial=0
next_name() { serial=$((serial + 1)); name=$prefix$serial; }
disks=/var/lib/hako/disks

# What a sandbox can leave behind; empty when nothing is.
leftovers() {
  local l=""
  [ -n "$(ours)" ] && l+="processes: $(ours); "
  [ -n "$(ls "$HAKO_ROOT" 2>/dev/null)" ] && l+="state: $(ls "$HAKO_ROOT" | tr '\n' ' '); "
  [ -n "$(ls -A "$work/oci" 2>/dev/null)" ] && l+="OCI state: $(ls -A "$work/oci" | tr '\n' ' '); "
  grep -q "$work" /proc/self/mountinfo && l+="mounts; "
  grep -q "$work" /proc/net/unix && l+="sockets; "
  ls "$disks" 2>/dev/null | grep -q "^$prefix" && l+="disks: $(ls "$disks" | grep "^$prefix" | tr '\n' ' '); "
  echo "$l"
}
settle() { for _ in $(seq 50); do [ -z "$(leftovers)" ] && break; sleep 0.1; done; }

# hrun LIMIT_S INITRD [ENV=V...] -- HAKO ARGS: runs hako with stdout/stderr to files, sampling its
# peak RSS (VmHWM); kills it after LIMIT_S. Sets rc, out, err, hwm (kB), secs, hung.
hrun() {
  local limit=$1 initrd=$2 envs=() t0 pid h
  shift 2
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  t0=$(date +%s%N)
  env HAKO_INITRD="$initrd" "${envs[@]}" "$HAKO" "$@" >"$work/out" 2>"$work/err" </dev/null &
  pid=$!
  hwm=0; hung=0
  while kill -0 "$pid" 2>/dev/null; do
    h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
    if [ $(( ($(date +%s%N) - t0) / 1000000000 )) -ge "$limit" ]; then kill -9 "$pid"; hung=1; fi
    [ -n "${on_start:-}" ] && [ -s "$work/out" ] && { $on_start "$pid"; on_start=; }
    sleep 0.05
  done
  wait "$pid"; rc=$?
  secs=$(( ($(date +%s%N) - t0) / 1000000 ))
  secs=$(printf '%d.%01d' $((secs / 1000)) $((secs % 1000 / 100)))
  out=$(head -c 4096 "$work/out"); err=$(cat "$work/err")
}

first_line() { head -1 <<<"$err"; }
# Control characters in what hako printed (escape sequences from the guest), besides newlines.
has_control() { LC_ALL=C grep -q '[[:cntrl:]]' <<<"$(tr -d '\n' <<<"$err")"; }

# The memory bound: the peak of a plain `hako run` plus this much.
slack_kb=8192
[ $asan = 1 ] && slack_kb=65536

# case NAME MODE RC REGEX [TODO_REASON [LIMIT_S [ENV=V...]]]: one run of `hako run --rm busybox
# true` against MODE; checks the exit code and that the error's first line matches REGEX (a TODO
# when only the message falls short and TODO_REASON names the change that fixes it), then that
# nothing is left behind and the peak RSS stayed within the bound.
case_run() {
  local title=$1 mode=$2 want_rc=$3 regex=$4 todo_reason=${5:-} limit=${6:-90}
  shift 6 2>/dev/null || shift $#
  next_name
  hrun "$limit" "$(mkinitrd "$mode")" "$@" -- run --rm --network none --name "$name" busybox true
  local line
  line=$(first_line)
  if [ "$hung" = 1 ]; then
    not_ok "$title: hako hung (killed after $limit s)" "stderr: $err"
  elif [ "$rc" = "$want_rc" ] && grep -Eq -- "$regex" <<<"$line" && ! has_control; then
    ok "$title: exit $rc, $line (${secs} s)"
  elif [ "$rc" = "$want_rc" ] && [ -n "$todo_reason" ] && ! has_control; then
    todo "$title: exit $rc with a clear error" "$todo_reason" "got: $line"
  else
    not_ok "$title: exit $want_rc with an error matching /$regex/" "got: exit $rc: $line" "stderr: $(head -c 600 <<<"$err")"
  fi
  settle
  check "$title: nothing left behind, peak RSS ${hwm} kB" ":1" \
    "$(leftovers):$([ "$hwm" -le $((base_hwm + slack_kb)) ] && echo 1 || echo "over $((base_hwm + slack_kb)) kB")"
}

# --- a well-behaved guest first: the baseline, and proof that the test initrd is what boots ---
next_name
hrun 120 "$base_initrd" -- run --rm --network none --name "$name" busybox echo real agent
check "the real agent: runs" "0:real agent" "$rc:$out"
base_hwm=$hwm
echo "# peak RSS of a plain hako run: $base_hwm kB (asan=$asan)"
next_name
hrun 120 "$(mkinitrd "none x")" -- run --rm --network none --name "$name" busybox true
check "the hostile initrd boots the hostile agent (well-behaved mode)" "0:hello from the hostile agent" "$rc:$out"
settle; check "a well-behaved run leaves nothing behind" "" "$(leftovers)"
[ "$hwm" -gt "$base_hwm" ] && base_hwm=$hwm

# --- 1. frames with huge lengths ---------------------------------------------------------------
sbx="sandbox.c: sandbox_health() drops agent_call's reason on -EPROTO (use rerr)"
case_run "4 GiB frame answering Health" "Health huge" 125 "frame of 4294967295 bytes \(the limit is 1048576\)" "$sbx"
case_run "4 GiB frame answering CreateContainer" "CreateContainer huge" 125 "frame of 4294967295 bytes"
case_run "frame 1 byte over the limit" "CreateContainer overmax" 125 "frame of 1048577 bytes"

# --- 2. wrong stream ids ---------------------------------------------------------------------
case_run "answer on a stream never opened" "CreateSandbox wrongstream" 125 \
  "could not set up the sandbox: the guest agent answered stream 2147483633, which no call is waiting on"
case_run "answer on an even (server) stream" "CreateContainer evenstream" 125 "answered stream [0-9]*[02468], which no call"

# --- 3. never answering ----------------------------------------------------------------------
# (A boot timeout of 2 s cannot cut a slow boot short here: the guest never answers anyway.)
case_run "no answer to Health (boot timeout 2 s)" "Health silent" 125 "the guest agent did not answer within 2 s" "" 60 HAKO_BOOT_TIMEOUT=2
case_run "no answer to CreateSandbox (30 s)" "CreateSandbox silent" 125 "did not answer CreateSandbox within 30 s" "" 90
# The container runs until signalled, and the guest ignores the signal: SIGTERM to hako must
# still end it (SIGNAL_ANSWER_TIMEOUT_MS in relay.c).
term_it() { sleep 0.5; kill -TERM "$1"; }
on_start=term_it
next_name
hrun 60 "$(mkinitrd "SignalProcess silent")" -- run --rm --network none --name "$name" busybox sleep 1000
check "a signal the guest never answers: SIGTERM still ends hako run (exit 125, clear error; ${secs} s from start)" \
  "125:the guest did not answer a signal for 10 s; giving up on the process" "$rc:$(first_line | sed 's/^hako: error: //')"
settle; check "... nothing left behind, peak RSS ${hwm} kB" "" "$(leftovers)"

# --- 4. answering twice ----------------------------------------------------------------------
# (Both answers may come in one read: then Health itself fails, see the TODO above.)
case_run "Health answered twice" "Health twice" 125 "answered Health \(stream 1\) twice" "$sbx"
case_run "CreateContainer answered twice" "CreateContainer twice" 125 "answered CreateContainer \(stream [0-9]+\) twice"
runc="run.c: print agent_client_error() when the relay loop loses the channel"
case_run "WaitProcess answered twice (while running)" "WaitProcess twice" 125 "answered WaitProcess \(stream [0-9]+\) twice" "$runc"

# --- 5. garbage --------------------------------------------------------------------------------
case_run "a response that is not protobuf" "CreateContainer garbage" 125 "answer to CreateContainer \(stream [0-9]+\) is not a valid response"
case_run "a payload that is not the method's message" "CreateContainer badpayload" 125 "does not decode as its response"
case_run "a request frame from the guest" "StartContainer request" 125 "sent a frame of type 1 on stream"
case_run "a frame of an unknown type" "StartContainer badtype" 125 "sent a frame of type 7 on stream"
case_run "garbage answering ReadStderr (while running)" "ReadStderr garbage" 125 "answer to ReadStderr .* is not a valid response" "$runc"
case_run "4 GiB frame answering ReadStdout (while running)" "ReadStdout huge" 125 "frame of 4294967295 bytes" "$runc"

# --- 7. the channel closed mid-call, the VM gone mid-call -----------------------------------
# QEMU does not tell the host end of a virtio-serial port that the guest closed it: to the host
# this is silence, and the call's timeout ends it.
case_run "channel closed by the guest during Health" "Health close" 125 "the guest agent did not answer within 2 s" "" 60 HAKO_BOOT_TIMEOUT=2
case_run "half an answer, then silence" "Health partial" 125 "the guest agent did not answer within 2 s" "" 60 HAKO_BOOT_TIMEOUT=2
case_run "the VM goes away during CreateContainer" "CreateContainer reboot" 125 "the VM exited during CreateContainer"
case_run "the VM goes away during WaitProcess" "WaitProcess reboot" 125 "the VM of container .* exited unexpectedly"

# --- 8. absurd values --------------------------------------------------------------------------
case_run "protocol version 2^32-1" "Health absurd" 125 "guest agent speaks protocol 4294967295, hako needs"
case_run "exit code 2^31-1" "WaitProcess absurd" 125 "impossible exit status \(code 2147483647, signal 0\)"
case_run "killed by signal 2^31-1" "WaitProcess badsignal" 125 "impossible exit status \(code 0, signal 2147483647\)"
case_run "status code 2^31-1" "StartContainer absurd" 125 "status code 2147483647"
next_name
hrun 90 "$(mkinitrd "CreateContainer absurd")" -- run --rm --network none --name "$name" busybox true
check "guest pid 2^32-1: taken as an opaque number, the run goes on" "0:hello from the hostile agent" "$rc:$out"
next_name
hrun 90 "$(mkinitrd "ReadStdout absurd")" -- run --rm --network none --name "$name" busybox true
check "a chunk of ~1 MiB where 64 KiB were asked: written out whole, no more" "0:$((1048576 - 64))" "$rc:$(wc -c <"$work/out")"
case_run "a 200 KiB error message of escape sequences" "CreateContainer longmsg" 127 "^hako: error: cannot start container '[^']+': .{100,}"
check "... printed on one line of at most ~600 bytes" "1:1" "$(grep -c . <<<"$err"):$([ "${#err}" -le 600 ] && echo 1 || echo "${#err}")"
settle; check "absurd values leave nothing behind" "" "$(leftovers)"

# --- 6. a flood the host does not read ----------------------------------------------------------
# 2 GiB from the real agent into a pipe whose reader stops for a second after every 512 MiB
# (hako blocks in write(): stdout is a blocking pipe).
fl=$(python3 "$flood" --pause-every 512 --pause 1 --timeout 240 -- \
  env HAKO_INITRD="$base_initrd" "$HAKO" run --rm --network none --name "${prefix}flood" busybox dd if=/dev/zero bs=1M count=2048 2>"$work/err")
echo "# 2 GiB flood, blocking pipe: $fl"
fbytes=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<<"$fl"); fhwm=$(sed -n 's/.*hwm_kb=\([0-9]*\).*/\1/p' <<<"$fl")
frc=$(sed -n 's/.* rc=\([^ ]*\) .*/\1/p' <<<"$fl")
check "2 GiB of output through a pausing reader: all of it, exit 0" "$((2048 << 20)):0" "$fbytes:$frc"
check "... host RSS stays bounded (peak ${fhwm} kB, a plain run's $base_hwm kB)" 1 "$([ "${fhwm:-999999}" -le $((base_hwm + slack_kb)) ] && echo 1 || echo 0)"
settle; check "... nothing left behind" "" "$(leftovers)"
# The hostile agent's own flood: 128 MiB in answers as big as a frame may be, into a non-blocking
# pipe (as the shim's fifos are: output waits in the relay's one backlog, not in a growing buffer).
fl=$(python3 "$flood" --nonblock --pause-every 32 --pause 1 --timeout 120 -- \
  env HAKO_INITRD="$(mkinitrd "ReadStdout flood 128")" "$HAKO" run --rm --network none --name "${prefix}flood2" busybox true 2>"$work/err")
echo "# 128 MiB flood in 1000 KiB answers, non-blocking pipe: $fl"
fbytes=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<<"$fl"); fhwm=$(sed -n 's/.*hwm_kb=\([0-9]*\).*/\1/p' <<<"$fl")
frc=$(sed -n 's/.* rc=\([^ ]*\) .*/\1/p' <<<"$fl")
check "128 MiB in maximal answers through a pausing non-blocking reader: all of it, exit 0" "$(((128 << 20) + 29)):0" "$fbytes:$frc"
check "... host RSS stays bounded (peak ${fhwm} kB)" 1 "$([ "${fhwm:-999999}" -le $((base_hwm + slack_kb)) ] && echo 1 || echo 0)"
settle; check "... nothing left behind" "" "$(leftovers)"

# --- the guest's console: a file on the host that the guest writes ---------------------------------
# (The emulated UART takes ~0.5 MB/s: 2 MiB keep this short and still show whether there is a cap.)
# Once the sandbox is up the console goes to a 64 KiB ring in QEMU (hv.h cap_console); before that
# (the boot) the file is bounded only by the boot timeout, ~0.5 MB/s times HAKO_BOOT_TIMEOUT.
hrun 120 "$(mkinitrd "CreateContainer console 2")" -- run --name "${prefix}console" --network none busybox true
csize=$(stat -c %s "$HAKO_ROOT/${prefix}console/console.log" 2>/dev/null || echo 0)
check "2 MiB written to the guest console: the run still works" "0" "$rc"
if [ "$csize" -le $((1 << 20)) ]; then
  ok "... and the console log on the host is capped ($csize bytes)"
else
  not_ok "... and the console log on the host is capped (it holds $csize bytes)"
fi
"$HAKO" rm "${prefix}console" >/dev/null 2>&1
settle; check "... hako rm leaves nothing behind" "" "$(leftovers)"

# --- an OCI container (a host process owns the VM): the same guest lies, then `hako delete` ---------
oci() { timeout 120 "$HAKO" --root "$work/oci" "$@"; }
ostatus() { oci state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null; }
rootfs=$HAKO_IMAGE_ROOT/busybox/rootfs
mkbundle() { # DIR ARGS_JSON
  mkdir -p "$1" && (cd "$1" && crun spec) && python3 - "$1/config.json" "$rootfs" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"] = {"path": sys.argv[2], "readonly": True}
c["process"]["args"] = json.loads(sys.argv[3])
c["process"]["terminal"] = False
json.dump(c, open(sys.argv[1], "w"))
PY
}
bundle=$work/bundle
mkbundle "$bundle" '["true"]'
id=${prefix}oci1
HAKO_INITRD=$(mkinitrd "CreateContainer huge") oci create --bundle "$bundle" "$id" </dev/null >/dev/null 2>"$work/err"; rc=$?
check "OCI create against a 4 GiB frame: fails with a clear error" "1:hako: error: the guest agent sent a frame of 4294967295 bytes (the limit is 1048576)" "$rc:$(head -1 "$work/err")"
settle; check "... nothing left behind (no state, no host cgroup)" ":" "$(leftovers):$(ls -d /sys/fs/cgroup/hako/"$id" 2>/dev/null)"

id=${prefix}oci2
HAKO_INITRD=$(mkinitrd "WaitProcess twice") oci create --bundle "$bundle" "$id" </dev/null >"$work/out" 2>"$work/err"; rc=$?
cg=$(cat "$work/oci/$id/host_cgroup" 2>/dev/null)
oci start "$id" 2>>"$work/err"
for _ in $(seq 100); do [ "$(ostatus "$id")" = stopped ] && break; sleep 0.1; done
check "OCI container whose guest answers WaitProcess twice: created, then stopped with 125" "0:stopped:125" \
  "$rc:$(ostatus "$id"):$(cat "$work/oci/$id/exit_code" 2>/dev/null)"
oci delete "$id" 2>>"$work/err"
settle; check "... hako delete leaves nothing behind (no state, no host cgroup ${cg:-?})" "::" \
  "$(leftovers):$(ls -d /sys/fs/cgroup/hako/"$id" 2>/dev/null):$([ -n "$cg" ] && ls -d "/sys/fs/cgroup$cg" 2>/dev/null)"

# A detached container flooding the fifo its caller gave it (conmon's way), whose reader holds the
# fifo open but stops reading: the host process must not block in write(), so `hako kill` is still
# served at once, and its memory stays bounded.
id=${prefix}oci3
mkbundle "$work/bundle-flood" '["dd", "if=/dev/zero", "bs=1M", "count=2048"]'
mkfifo "$work/fifo"
exec 7<>"$work/fifo"
HAKO_INITRD=$base_initrd oci create --bundle "$work/bundle-flood" "$id" </dev/null >"$work/fifo" 2>"$work/err"
oci start "$id" 2>>"$work/err"
hpid=$(oci state "$id" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
sleep 3
t0=$(date +%s%N)
timeout 20 "$HAKO" --root "$work/oci" kill "$id" KILL 2>>"$work/err"; krc=$?
kms=$(( ($(date +%s%N) - t0) / 1000000 ))
ohwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/${hpid:-0}/status" 2>/dev/null)
check "OCI container flooding a fifo nobody reads: hako kill is served at once (${kms} ms)" "0:1" "$krc:$([ $kms -lt 3000 ] && echo 1 || echo 0)"
for _ in $(seq 150); do [ "$(ostatus "$id")" = stopped ] && break; sleep 0.1; done
check "... it stops; its host process's peak RSS ${ohwm:-?} kB stayed bounded" "stopped:1" \
  "$(ostatus "$id"):$([ "${ohwm:-999999}" -le $((base_hwm + slack_kb)) ] && echo 1 || echo 0)"
exec 7>&-
oci delete -f "$id" 2>>"$work/err"
settle; check "... hako delete leaves nothing behind" ":" "$(leftovers):$(ls -d /sys/fs/cgroup/hako/"$id" 2>/dev/null)"

tap_done
