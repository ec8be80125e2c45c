#!/usr/bin/env bash
# Integration tests: every case boots real microVMs (TCG here) through the `hako` binary.
# usage: run.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD must point at the guest image)
# Prints TAP.
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=${1:?usage: run.sh HAKO_BINARY}
HAKO=$(readlink -f "$HAKO")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }

work=$(mktemp -d /tmp/hako-it.XXXXXX)
export HAKO_ROOT=$work/state
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
export HAKO_BOOT_TIMEOUT=${HAKO_BOOT_TIMEOUT:-60}
. "$here/tap-lib.sh"

cleanup() {
  # Nothing of ours may outlive the suite.
  pkill -KILL -f "hako-it-" 2>/dev/null
  for p in $(pgrep -f "$work" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

hako() { "$HAKO" "$@"; }
# Runs hako, captures stdout, stderr and exit code.
runh() { out=$("$HAKO" "$@" 2>"$work/err"); rc=$?; err=$(cat "$work/err"); }

vm_procs() { pgrep -f "$1" | tr '\n' ' '; }

# --- basics -------------------------------------------------------------------------------
runh check; check "hako check succeeds here" 0 "$rc"
out=$(HAKO_QEMU=/no/qemu "$HAKO" check 2>&1); rc=$?
check "hako check without QEMU: exit 1, says what is missing" "1:1" "$rc:$(grep -c '^hypervisor: *MISSING' <<<"$out")"
out=$(HAKO_KERNEL=/no/vmlinux "$HAKO" check 2>&1); rc=$?
check "hako check without a guest kernel: exit 1" "1:1" "$rc:$(grep -c 'guest image: *MISSING' <<<"$out")"
runh version; check "hako version names the agent protocol" 1 "$(grep -c '^agent protocol: '"$(grep -o 'HAKO_AGENT_PROTOCOL [0-9]*' "$here/../../src/proto/agent-protocol.h" | cut -d' ' -f2)"'$' <<<"$out")"

runh run --rm busybox echo hello from a microVM
check "echo: stdout" "hello from a microVM" "$out"
check "echo: exit code 0" 0 "$rc"
check "echo: stderr empty" "" "$err"

runh run --rm busybox sh -c 'exit 42'
check "exit code is the container's" 42 "$rc"

runh run --rm busybox sh -c 'echo to-out; echo to-err >&2'
check "stdout stays stdout" "to-out" "$out"
check "stderr stays stderr" "to-err" "$err"

runh run --rm busybox /no/such/command
check "missing command: exit 127" 127 "$rc"
check "missing command: one-line error" 1 "$(grep -c . <<<"$err")"

runh run --rm busybox /etc/passwd
check "non-executable command: exit 126" 126 "$rc"

# PID 1 of a PID namespace ignores signals it has no handler for, so a real fault it is.
printf 'int main(void) { *(volatile int *)0 = 1; return 0; }\n' > "$work/segv.c"
mkdir -p "$work/bin" && gcc -static -O0 -o "$work/bin/segv" "$work/segv.c"
runh run --rm -v "$work/bin:/xbin:ro" busybox /xbin/segv
check "killed by a signal (SIGSEGV): exit 139" 139 "$rc"

runh run --rm -e FOO=bar -e 'SPACED=a b' busybox sh -c 'echo "$FOO|$SPACED"'
check "env: -e" "bar|a b" "$out"

runh run --rm -w /tmp busybox pwd
check "cwd: -w" "/tmp" "$out"

runh run --rm -u 1000:1001 busybox sh -c 'echo $(id -u):$(id -g)'
check "user: -u UID:GID" "1000:1001" "$out"

runh run --rm busybox sh -c 'echo $(id -u):$(cat /proc/1/cmdline | tr "\0" " ")'
check "default user is root, process is PID 1" "0:sh -c echo \$(id -u):\$(cat /proc/1/cmdline | tr \"\\0\" \" \")" "$out"

# --- stdin --------------------------------------------------------------------------------
out=$(printf 'line1\nline2\n' | "$HAKO" run --rm -i busybox cat); rc=$?
check "stdin: -i forwards data and EOF" "$(printf 'line1\nline2')" "$out"

head -c 3000000 /dev/urandom > "$work/big"
sum=$(sha256sum < "$work/big" | cut -d' ' -f1)
out=$("$HAKO" run --rm -i busybox sha256sum < "$work/big" | cut -d' ' -f1)
check "stdin: 3 MB round trip intact" "$sum" "$out"
out=$("$HAKO" run --rm -i busybox cat < "$work/big" | sha256sum | cut -d' ' -f1)
check "stdout: 3 MB round trip intact" "$sum" "$out"

out=$(echo ignored | "$HAKO" run --rm busybox sh -c 'cat; echo done')
check "no -i: the container's stdin is empty" "done" "$out"

# --- tty ----------------------------------------------------------------------------------
out=$(python3 "$(dirname "$0")/pty-run.py" 40 100 "$HAKO" run --rm -t -i busybox sh -c 'tty; stty size' | tr -d '\r' | grep -v '^hako: warning')
check "tty: -t gives a pty with the caller's size" "$(printf '/dev/pts/0\n40 100')" "$out"
out=$(python3 "$(dirname "$0")/pty-run.py" --resize 50x120 24 80 "$HAKO" run --rm -t -i busybox sh -c 'trap "stty size; exit 0" WINCH; echo ready; while :; do sleep 0.1; done' | tr -d '\r' | tail -1)
check "tty: window resize reaches the container" "50 120" "$out"

# --- signals ------------------------------------------------------------------------------
mkdir -p "$work/sig"
"$HAKO" run --rm -v "$work/sig:/sig" busybox sh -c 'trap "echo got-TERM; exit 3" TERM; touch /sig/ready; while :; do sleep 0.1; done' > "$work/sig/out" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -e "$work/sig/ready" ] && break; sleep 0.1; done
kill -TERM "$pid"; wait "$pid"; rc=$?
check "SIGTERM to hako reaches the container (exit code)" 3 "$rc"
check "SIGTERM to hako reaches the container (trap ran)" "got-TERM" "$(cat "$work/sig/out")"

rm -f "$work/sig/ready"
"$HAKO" run --rm -v "$work/sig:/sig" busybox sh -c 'trap "echo got-INT; exit 5" INT; touch /sig/ready; while :; do sleep 0.1; done' > "$work/sig/out" 2>&1 &
pid=$!
for _ in $(seq 300); do [ -e "$work/sig/ready" ] && break; sleep 0.1; done
kill -INT "$pid"; wait "$pid"; rc=$?
check "SIGINT to hako reaches the container" "5:got-INT" "$rc:$(cat "$work/sig/out")"

# --- volumes and rootfs -------------------------------------------------------------------
mkdir -p "$work/vol"; echo from-host > "$work/vol/in"
runh run --rm -v "$work/vol:/data" busybox sh -c 'cat /data/in; echo from-guest > /data/out'
check "rw volume: read" "from-host" "$out"
check "rw volume: write lands on the host" "from-guest" "$(cat "$work/vol/out" 2>/dev/null)"

runh run --rm -v "$work/vol:/data:ro" busybox sh -c 'cat /data/in; echo x > /data/in'
check "ro volume: write fails" 1 "$([ "$rc" -ne 0 ] && echo 1 || echo 0)"
check "ro volume: host file untouched" "from-host" "$(cat "$work/vol/in")"

echo single > "$work/onefile"
runh run --rm -v "$work/onefile:/etc/onefile:ro" busybox cat /etc/onefile
check "file volume" "single" "$out"

runh run --rm busybox sh -c 'echo scribble > /bin/newfile && rm /bin/ls && echo wrote'
check "image rootfs is writable in the container" "wrote" "$out"
check "image stays pristine on the host" "no-newfile:ls-present" \
  "$([ -e "$HAKO_IMAGE_ROOT/busybox/rootfs/bin/newfile" ] && echo newfile || echo no-newfile):$([ -e "$HAKO_IMAGE_ROOT/busybox/rootfs/bin/ls" ] && echo ls-present || echo ls-gone)"

# --- resources ----------------------------------------------------------------------------
runh run --rm --cpus 2 --memory 256m busybox sh -c 'nproc; cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/cpu.max'
check "--cpus/--memory size the VM and the cgroup" "$(printf '2\n268435456\n200000 100000')" "$out"

# --- bundles ------------------------------------------------------------------------------
b=$work/bundle; mkdir -p "$b"; cp -a "$HAKO_IMAGE_ROOT/busybox/rootfs" "$b/rootfs"
(cd "$b" && crun spec >/dev/null 2>&1) || true
python3 - "$b/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["args"] = ["sh", "-c", "echo bundle-$(hostname); echo x > /written"]
c["process"]["terminal"] = False
c["hostname"] = "bundlehost"
c["root"]["readonly"] = False
json.dump(c, open(p, "w"))
PY
runh run --rm "$b"
check "OCI bundle: runs its process" "bundle-bundlehost" "$out"
check "OCI bundle: writes land in the bundle rootfs (like runc)" "x" "$(cat "$b/rootfs/written" 2>/dev/null)"
echo '{"ociVersion": "1.0.2", "process": ' > "$work/badbundle.json"; mkdir -p "$work/bad/rootfs"; cp "$work/badbundle.json" "$work/bad/config.json"
runh run --rm "$work/bad"
check "malformed config.json: exit 125" 125 "$rc"
check "malformed config.json: one-line error" 1 "$(grep -c . <<<"$err")"

mkdir -p "$work/plainroot"; cp -a "$HAKO_IMAGE_ROOT/busybox/rootfs/." "$work/plainroot/"
runh run --rm "$work/plainroot" echo plain
check "plain rootfs directory as IMAGE" "plain" "$out"

# --- bad input ----------------------------------------------------------------------------
runh run --rm no-such-image echo x
check "unknown image: exit 125" 125 "$rc"
check "unknown image: one line" 1 "$(grep -c . <<<"$err")"
runh run --rm -v /no/such/dir:/x busybox true
check "missing volume source: exit 125 + message" "125:1" "$rc:$(grep -c 'does not exist' <<<"$err")"
runh run --rm --memory lots busybox true
check "bad --memory: exit 125" 125 "$rc"
runh run --bogus busybox true
check "unknown option: exit 125" 125 "$rc"
runh run
check "no image: exit 125" 125 "$rc"
out=$(HAKO_KERNEL=/no/vmlinux "$HAKO" run --rm busybox true 2>&1); rc=$?
check "no kernel: clear error" "125:1" "$rc:$(grep -c 'guest kernel /no/vmlinux not found' <<<"$out")"
out=$(HAKO_QEMU=/no/qemu "$HAKO" run --rm busybox true 2>&1); rc=$?
check "no QEMU: clear error" "125:1" "$rc:$(grep -c 'QEMU not found' <<<"$out")"
# A kernel that panics (no init in the initrd): the VM dies, hako shows the console.
printf 'bogus' | (cd "$work" && mkdir -p emptyinit && cd emptyinit && echo nothing > README && find . | cpio -o -H newc 2>/dev/null) > "$work/noinit.img"
out=$(HAKO_INITRD=$work/noinit.img "$HAKO" run --rm busybox true 2>&1); rc=$?
check "VM that fails to boot: error with console lines" "125:1:1" "$rc:$(grep -c 'VM exited while booting' <<<"$out"):$(grep -c 'last console lines' <<<"$out")"
# An init that never answers: the agent timeout fires.
mkdir -p "$work/sleepinit/bin"; cp /bin/busybox "$work/sleepinit/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox sleep 1000\n' > "$work/sleepinit/init"; chmod +x "$work/sleepinit/init"
(cd "$work/sleepinit" && find . | cpio -o -H newc 2>/dev/null) > "$work/sleepinit.img"
out=$(HAKO_BOOT_TIMEOUT=4 HAKO_INITRD=$work/sleepinit.img "$HAKO" run --rm busybox true 2>&1); rc=$?
check "agent that never answers: timeout error" "125:1" "$rc:$(grep -c 'did not answer within 4 s' <<<"$out")"
check "nothing left behind after failed boots" "" "$(ls "$HAKO_ROOT" 2>/dev/null)$(vm_procs "$HAKO_ROOT")"

# --- state, names, cleanup ----------------------------------------------------------------
runh run --name keepme busybox sh -c 'exit 7'
check "without --rm the record is kept" "exited:7" "$(cat "$HAKO_ROOT/keepme/status"):$(cat "$HAKO_ROOT/keepme/exit_code")"
runh run --name keepme busybox true
check "a kept name cannot be reused" "125:1" "$rc:$(grep -c "already in use" <<<"$err")"
runh ps; check "hako ps lists it" 1 "$(grep -c '^keepme  *exited  *7' <<<"$out")"
runh rm keepme; check "hako rm removes it" "0:" "$rc:$(ls "$HAKO_ROOT")"
runh rm keepme; check "hako rm of an unknown id fails" 1 "$rc"

runh run --rm --name 'bad/name' busybox true
check "invalid --name: exit 125" 125 "$rc"

rm -f "$work/sig/ready"
"$HAKO" run --rm --name victim -v "$work/sig:/sig" busybox sh -c 'touch /sig/ready; sleep 1000' >/dev/null 2>&1 &
pid=$!
for _ in $(seq 300); do [ -e "$work/sig/ready" ] && break; sleep 0.1; done
before=$(vm_procs "$HAKO_ROOT/victim")
kill -9 "$pid"; wait "$pid" 2>/dev/null
for _ in $(seq 50); do [ -z "$(vm_procs "$HAKO_ROOT/victim")" ] && break; sleep 0.1; done
check "kill -9 of hako: the VM and virtiofsd had been running" 1 "$([ -n "$before" ] && echo 1 || echo 0)"
check "kill -9 of hako: no QEMU or virtiofsd left" "" "$(vm_procs "$HAKO_ROOT/victim")"
check "kill -9 of hako: no mount left" 0 "$(grep -c "$work" /proc/self/mountinfo)"
runh run --rm --name victim busybox echo reborn
check "kill -9 of hako: the name is usable again" "0:reborn" "$rc:$out"

# --- Docker's security flags (each asserted from inside the container) ---------------------
st='grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\t" | tr "\n" " "'
runh run --rm busybox sh -c "$st; unshare -U true 2>/dev/null; echo unshare=\$?"
check "default: Docker's capabilities, its seccomp profile, no no-new-privs" \
  "CapEff:00000000a80425fb CapBnd:00000000a80425fb NoNewPrivs:0 Seccomp:2 unshare=1" "$out"
runh run --rm --cap-add sys_admin --cap-drop CAP_NET_RAW busybox sh -c "$st; unshare -U true; echo unshare=\$?"
check "--cap-add sys_admin --cap-drop CAP_NET_RAW: the set, and the profile's SYS_ADMIN rules follow" \
  "CapEff:00000000a82405fb CapBnd:00000000a82405fb NoNewPrivs:0 Seccomp:2 unshare=0" "$out"
runh run --rm --cap-drop ALL --cap-add chown busybox sh -c "$st"
check "--cap-drop ALL --cap-add chown" "CapEff:0000000000000001 CapBnd:0000000000000001 NoNewPrivs:0 Seccomp:2 " "$out"
runh run --rm --cap-add ALL --cap-drop sys_module busybox sh -c "grep CapEff /proc/self/status | tr -d '\t'"
check "--cap-add ALL --cap-drop sys_module" "CapEff:000001fffffeffff" "$out"
runh run --rm --security-opt no-new-privileges --security-opt seccomp=unconfined busybox sh -c "$st"
check "--security-opt no-new-privileges, seccomp=unconfined" \
  "CapEff:00000000a80425fb CapBnd:00000000a80425fb NoNewPrivs:1 Seccomp:0 " "$out"
runh run --rm --security-opt no-new-privileges=true busybox sh -c "grep NoNewPrivs /proc/self/status | tr -d '\t'"
check "--security-opt no-new-privileges=true" "NoNewPrivs:1" "$out"
printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}' > "$work/noMkdir.json"
runh run --rm --security-opt "seccomp=$work/noMkdir.json" busybox sh -c 'mkdir /tmp/d 2>&1; grep Seccomp: /proc/self/status | tr -d "\t"'
check "--security-opt seccomp=PROFILE: its rules apply" "$(printf "mkdir: can't create directory '/tmp/d': Permission denied\nSeccomp:2")" "$out"
runh run --rm --privileged busybox sh -c "$st; echo; grep -E ' /sys(/fs/cgroup)? ' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1; grep -c -E ' /proc/(kcore|keys|timer_list|sys) ' /proc/mounts; echo 1 > /proc/sys/kernel/printk_ratelimit && echo proc-sys-writable"
check "--privileged: every capability, no seccomp, writable /sys, cgroup and /proc/sys, nothing masked" \
  "$(printf 'CapEff:000001ffffffffff CapBnd:000001ffffffffff NoNewPrivs:0 Seccomp:0 \n/sys rw\n/sys/fs/cgroup rw\n0\nproc-sys-writable')" "$out"
runh run --rm busybox sh -c "grep -c -E ' /proc/(keys|timer_list|sys) ' /proc/mounts; echo 1 > /proc/sys/kernel/printk_ratelimit 2>/dev/null || echo proc-sys-ro"
check "not privileged: masked and read-only paths, /proc/sys read-only" "$(printf '3\nproc-sys-ro')" "$out"
runh run --rm -u 1001 busybox sh -c "$st"
check "-u 1001: no effective capabilities (Docker: bounding set only)" \
  "CapEff:0000000000000000 CapBnd:00000000a80425fb NoNewPrivs:0 Seccomp:2 " "$out"
runh run --rm --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "; (sleep 0.2 &); sleep 1; ps -o stat | grep -c Z'
check "--init: tini (docker-init) is PID 1, the orphan it inherits is reaped" \
  "/sbin/docker-init -- sh -c cat /proc/1/cmdline | tr \"\\0\" \" \"; (sleep 0.2 &); sleep 1; ps -o stat | grep -c Z 0" "$(echo $out)"
runh run --rm --read-only -v "$work/vol:/data" busybox sh -c 'touch /newfile 2>&1; touch /dev/shm/x && echo shm-ok; echo v > /data/ro-test && echo volume-ok'
check "--read-only: the rootfs refuses writes, /dev/shm and volumes do not" \
  "$(printf "touch: /newfile: Read-only file system\nshm-ok\nvolume-ok")" "$out"
# An AI agent's sandbox: an unprivileged user, no capabilities, no-new-privs, an init reaper, a
# read-only and a read-write volume, nothing of the host in sight.
mkdir -p "$work/agent-ro" "$work/agent-rw"; echo input > "$work/agent-ro/task"; chmod 777 "$work/agent-rw"
runh run --rm -u 1001:1001 --cap-drop ALL --security-opt no-new-privileges --init --read-only \
  -v "$work/agent-ro:/task:ro" -v "$work/agent-rw:/out" busybox sh -c '
    grep -E "^(Uid|CapEff|CapPrm|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t" " " | tr "\n" ";"
    echo; tr "\0" "\n" < /proc/1/cmdline | head -1
    cat /task/task; echo x > /task/task 2>/dev/null || echo task-ro
    cp /task/task /out/result && echo out-rw
    procs=$(ps -o comm); echo "$procs" | grep -c -v -E "^(COMMAND|docker-init|sh|ps)$"
    [ -e '"$work"' ] || echo no-host-path'
check "agent sandbox: uid 1001, no capabilities, no-new-privs, seccomp, tini, ro and rw volumes, no host in sight" \
  "$(printf 'Uid: 1001 1001 1001 1001;CapPrm: 0000000000000000;CapEff: 0000000000000000;NoNewPrivs: 1;Seccomp: 2;\n/sbin/docker-init\ninput\ntask-ro\nout-rw\n0\nno-host-path')" "$out"
check "agent sandbox: the rw volume's file on the host" "input" "$(cat "$work/agent-rw/result" 2>/dev/null)"

# Bad input: one line, exit 125, nothing left behind.
for args in "--cap-add NOPE" "--cap-drop cap_bogus" "--security-opt foo" "--security-opt foo=bar" \
            "--security-opt no-new-privileges=maybe" "--security-opt seccomp=$work/none.json" \
            "--security-opt seccomp=$work/badbundle.json" "--security-opt seccomp="; do
  # shellcheck disable=SC2086
  runh run --rm $args busybox true
  check "bad input '$args': exit 125, one line" "125:1" "$rc:$(grep -c . <<<"$err")"
done
runh run --rm --cap-add NOPE busybox true
check "unknown capability: Docker's words" 'hako: error: unknown capability: "CAP_NOPE"' "$err"
check "bad flags: nothing left behind" "" "$(ls -A "$HAKO_ROOT" 2>/dev/null)$(vm_procs "$HAKO_ROOT")"

# --- detached: run -d, logs, exec, stop, ps, rm ----------------------------------------------
t0=$(date +%s%N)
id=$("$HAKO" run -d busybox sh -c 'echo to-out; echo to-err >&2; trap "echo got-TERM; exit 9" TERM; while :; do sleep 0.1; done' 2>"$work/err"); rc=$?
t1=$(date +%s%N)
check "run -d: prints the id (12 hex digits) and returns (its stdout not held)" "0:1" "$rc:$(grep -c -x '[0-9a-f]\{12\}' <<<"$id")"
echo "# run -d returned after $(( (t1 - t0) / 1000000 )) ms"
runh ps; check "ps lists the detached container as running" 1 "$(grep -c "^$id  *running" <<<"$out")"
for _ in $(seq 50); do [ -n "$("$HAKO" logs "$id" 2>/dev/null)" ] && break; sleep 0.1; done
runh logs "$id"
check "logs: stdout to stdout, stderr to stderr" "to-out|to-err" "$out|$err"
runh exec "$id" sh -c 'echo "exec $(id -u) $PWD"; cat; echo "stdin empty"; exit 5'
check "exec: output, no stdin without -i, its exit code" "exec 0 /|stdin empty|5" "$(echo "$out" | paste -sd'|')|$rc"
out=$(printf 'fed\n' | "$HAKO" exec -i -e A=1 -w /tmp -u 1000:1001 "$id" sh -c 'cat; echo "$A $PWD $(id -u):$(id -g)"'); rc=$?
check "exec -i -e -w -u" "fed|1 /tmp 1000:1001|0" "$(echo "$out" | paste -sd'|')|$rc"
out=$(python3 "$here/pty-run.py" 30 90 "$HAKO" exec -t -i "$id" sh -c 'tty; stty size' | tr -d '\r')
check "exec -t -i: a pty with the caller's size" "$(printf '/dev/pts/0\n30 90')" "$out"
runh exec "$id" /no/such/command
check "exec of a missing command: 127, one line" "127:1" "$rc:$(grep -c . <<<"$err")"
runh exec -d "$id" sh -c 'echo detached-exec > /tmp/mark'
sleep 0.5; runh exec "$id" cat /tmp/mark
check "exec -d" "0:detached-exec" "$rc:$out"
"$HAKO" logs -f "$id" > "$work/follow" 2>&1 &
fpid=$!
runh stop -t 5 "$id"
check "stop: SIGTERM reaches the container (its trap ran), prints the id" "0:$id" "$rc:$out"
wait "$fpid"; frc=$?
check "logs -f: follows until the container stops" "0:got-TERM to-err to-out" "$frc:$(sort "$work/follow" | paste -sd' ')"
runh ps; check "ps: exited with its code" 1 "$(grep -c "^$id  *exited  *9" <<<"$out")"
runh stop "$id"; check "stop of an exited container: no error (Docker)" "0:$id" "$rc:$out"
runh exec "$id" true; check "exec into an exited container: exit 1, one line" "1:1" "$rc:$(grep -c . <<<"$err")"
runh logs "$id"; check "logs outlive the container" "to-out got-TERM" "$(echo $out)"
runh rm "$id"; check "rm removes it" "0:" "$rc:$(ls -A "$HAKO_ROOT" | grep -v '^\.')"
runh logs nosuch; check "logs of no container: exit 1, one line" "1:1" "$rc:$(grep -c . <<<"$err")"
runh stop nosuch; check "stop of no container: exit 1, one line" "1:1" "$rc:$(grep -c . <<<"$err")"
runh exec nosuch true; check "exec in no container: exit 1" 1 "$rc"

# A PID 1 that ignores SIGTERM: SIGKILL after -t; --init (tini) passes SIGTERM on; orphans.
"$HAKO" run -d --name noinit busybox sh -c '(sleep 0.2 &); exec sleep 1000' >/dev/null
"$HAKO" run -d --rm --init --name withinit busybox sh -c '(sleep 0.2 &); exec sleep 1000' >/dev/null
sleep 1
runh exec noinit ps -o stat,comm; check "without --init the orphan stays a zombie" 1 "$(grep -c '^Z' <<<"$out")"
runh exec withinit ps -o stat,comm; check "with --init tini reaps it" 0 "$(grep -c '^Z' <<<"$out")"
t0=$(date +%s); runh stop -t 1 noinit; t1=$(date +%s)
check "stop -t 1 of a PID 1 that ignores SIGTERM: killed (137) after the timeout" "0:137:1" \
  "$rc:$(cat "$HAKO_ROOT/noinit/exit_code"):$(( t1 - t0 >= 1 && t1 - t0 < 10 ))"
t0=$(date +%s%N); runh stop withinit; t1=$(date +%s%N)
for _ in $(seq 50); do [ -e "$HAKO_ROOT/withinit" ] || break; sleep 0.1; done
check "stop of an --init --rm container: tini passes SIGTERM on (no timeout), and it is removed" "0:1:" \
  "$rc:$(( (t1 - t0) / 1000000 < 5000 )):$(ls "$HAKO_ROOT" | grep withinit)"
runh rm -f noinit; check "rm -f" 0 "$rc"
"$HAKO" run -d --name forced busybox sleep 1000 >/dev/null
runh rm forced; check "rm of a running container: refused" 1 "$rc"
runh rm -f forced; check "rm -f of a running container: killed and removed" "0:" "$rc:$(ls "$HAKO_ROOT")"
id=$("$HAKO" run -d --rm busybox true)
for _ in $(seq 100); do [ -e "$HAKO_ROOT/$id" ] || break; sleep 0.1; done
check "run -d --rm: removed once it exits" "" "$(ls "$HAKO_ROOT")"
runh run -d --name nocmd busybox /no/such/command
check "run -d of a missing command: 127, nothing left behind" "127:" "$rc:$(ls "$HAKO_ROOT")$(vm_procs "$HAKO_ROOT/nocmd")"
"$HAKO" run -d -i --name interactive busybox sh >/dev/null
sleep 1; runh exec interactive echo alive
check "run -d -i: the shell waits on its open stdin" "0:alive" "$rc:$out"
pid=$(cat "$HAKO_ROOT/interactive/pid")
kill -9 "$pid"
for _ in $(seq 50); do [ -z "$(vm_procs "$HAKO_ROOT/interactive")" ] && break; sleep 0.1; done
check "kill -9 of a detached container's host process: no QEMU or virtiofsd left" "" "$(vm_procs "$HAKO_ROOT/interactive")"
runh ps; check "...and ps shows it exited" 1 "$(grep -c '^interactive  *exited' <<<"$out")"
runh rm interactive; check "...and rm removes it" 0 "$rc"

# --- concurrency --------------------------------------------------------------------------
"$HAKO" run --rm busybox sh -c 'sleep 0.5; echo first' > "$work/c1" 2>&1 &
p1=$!
"$HAKO" run --rm busybox sh -c 'sleep 0.5; echo second' > "$work/c2" 2>&1 &
p2=$!
wait "$p1"; r1=$?; wait "$p2"; r2=$?
check "two concurrent runs: both succeed" "0:0" "$r1:$r2"
check "two concurrent runs: outputs do not mix" "first:second" "$(cat "$work/c1"):$(cat "$work/c2")"

# --- VM templates (a booted VM saved once, restored per run) ------------------------------
# A private cache, so these cases see the first build and can damage a template safely.
tc=$work/tcache
timing() { grep -o 'boot=[a-z]*' "$work/err" | cut -d= -f2; }
runh_t() { out=$(HAKO_CACHE=$tc HAKO_TIMING=1 "$HAKO" "$@" 2>"$work/err"); rc=$?; }
out=$(echo built | HAKO_CACHE=$tc HAKO_TIMING=1 "$HAKO" run --rm -i busybox cat 2>"$work/err"); rc=$?
check "template: the first run builds it and runs from it (stdin intact)" "0:built:template" "$rc:$out:$(timing)"
check "template: one saved state and one RAM file, private to root" "1:1:600:700" \
  "$(ls "$tc"/templates/*.state | wc -l):$(ls "$tc"/templates/*.ram | wc -l):$(stat -c %a "$tc"/templates/*.state):$(stat -c %a "$tc/templates")"
runh_t run --rm busybox sh -c 'head -c 16 /dev/urandom | od -An -tx1'; r1=$out
runh_t run --rm busybox sh -c 'head -c 16 /dev/urandom | od -An -tx1'; r2=$out
check "template: restored VMs get different random streams" "template:1" "$(timing):$([ -n "$r1" ] && [ "$r1" != "$r2" ] && echo 1)"
runh_t run --rm busybox date +%s
check "template: the guest clock is the host's (within 5 s)" 1 "$(( ${out:-0} - $(date +%s) < 5 && $(date +%s) - ${out:-0} < 5 ))"
runh_t run --rm -v "$work/bin:/xbin:ro" busybox sh -c 'ls /xbin; grep -c " /xbin virtiofs " /proc/mounts'
check "template: volumes come over the hot-added virtio-fs device" "0:segv 1" "$rc:$(echo $out)"
out=$(HAKO_CACHE=$tc HAKO_TEMPLATE=0 HAKO_TIMING=1 "$HAKO" run --rm busybox echo cold 2>"$work/err")
check "template: HAKO_TEMPLATE=0 boots cold" "cold:cold" "$out:$(timing)"
runh_t run --rm --machine microvm busybox true
check "template: an explicit --machine boots cold" "0:cold" "$rc:$(timing)"
st=$(ls "$tc"/templates/*.state)
head -c 1000 "$st" > "$work/trunc" && cat "$work/trunc" > "$st"
runh_t run --rm busybox echo still works
check "template: a damaged template falls back to a cold boot" "0:still works:cold" "$rc:$out:$(timing)"
check "template: ...and is dropped" "" "$(ls "$tc"/templates/*.state 2>/dev/null)"
runh_t run --rm busybox true
check "template: the next run builds it again" "0:template" "$rc:$(timing)"
rm -rf "$tc"
HAKO_CACHE=$tc "$HAKO" run --rm busybox echo one > "$work/c1" 2>&1 &
p1=$!
HAKO_CACHE=$tc "$HAKO" run --rm busybox echo two > "$work/c2" 2>&1 &
p2=$!
wait "$p1"; r1=$?; wait "$p2"; r2=$?
check "template: two first runs at once: both succeed, one template built" "0:0:one:two:1" \
  "$r1:$r2:$(cat "$work/c1"):$(cat "$work/c2"):$(ls "$tc"/templates/*.state | wc -l)"
check "template: no build leftovers or VM processes" ":" "$(ls -d "$tc"/templates/*.build "$tc"/templates/*.tmp 2>/dev/null):$(vm_procs "$tc")"

# --- agent robustness (raw frames against a real guest agent) ----------------------------
if [ -n "${HAKO_AGENT_PROBE:-}" ]; then
  out=$("$HAKO_AGENT_PROBE" 2>&1); rc=$?
  check "agent survives malformed frames, bad messages, unknown methods" 0 "$rc"
  [ "$rc" = 0 ] || echo "$out" | sed 's/^/#   /'
fi

check "no VM processes left at the end" "" "$(vm_procs "$HAKO_ROOT")"
check "state root empty at the end" "" "$(ls "$HAKO_ROOT" 2>/dev/null)"

echo "1..$n"
echo "# $((n-failed)) passed, $failed failed"
[ "$failed" = 0 ]
