#!/usr/bin/env bash
# Integration tests of the OCI runtime CLI (runc-compatible create/start/state/kill/delete/...):
# every container boots a real microVM. The whole file runs under a child subreaper (as under
# containerd-shim or conmon), which records the exit status of each host process it reaps.
# usage: oci.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD must point at the guest image). TAP.
set -u
here=$(dirname "$(readlink -f "$0")")
if [ -z "${HAKO_OCI_REAPED:-}" ]; then
  reaped=$(mktemp /tmp/hako-oci-reaped.XXXXXX)
  HAKO_OCI_REAPED=$reaped python3 "$here/subreaper.py" "$reaped" bash "$0" "$@"
  rc=$?
  rm -f "$reaped"
  exit $rc
fi
HAKO=$(readlink -f "${1:?usage: oci.sh HAKO_BINARY}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }

work=$(mktemp -d /tmp/hako-oci.XXXXXX)
root=$work/root
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
export HAKO_BOOT_TIMEOUT=${HAKO_BOOT_TIMEOUT:-60}
unset HAKO_ROOT
. "$here/tap-lib.sh"

ours() { pgrep -f "$work" | grep -v "^$$\$" | tr '\n' ' '; }
cleanup() {
  for p in $(ours); do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# Runs hako with the test root; out, err, rc.
runh() { out=$("$HAKO" --root "$root" "$@" 2>"$work/err" </dev/null); rc=$?; err=$(cat "$work/err"); }
hako() { "$HAKO" --root "$root" "$@"; }
jget() { python3 -c 'import json,sys
try: print(json.load(sys.stdin).get(sys.argv[1], ""))
except Exception: print("(invalid json)")' "$1"; }
status_of() { hako state "$1" 2>/dev/null | jget status; }
# The exit code the subreaper read for PID (waits up to 30 s for it to be reaped).
reaped_code() {
  for _ in $(seq 300); do
    c=$(awk -v p="$1" '$1 == p { print $2 }' "$HAKO_OCI_REAPED")
    [ -n "$c" ] && { echo "$c"; return; }
    sleep 0.1
  done
  echo "not reaped"
}
wait_status() { for _ in $(seq 300); do [ "$(status_of "$1")" == "$2" ] && break; sleep 0.1; done; status_of "$1"; }

# A bundle over the built-in busybox image; $2 is process.args as JSON, $3 process.terminal.
rootfs=$HAKO_IMAGE_ROOT/busybox/rootfs
[ -d "$rootfs" ] || "$HAKO" --root "$root" run --rm busybox true >/dev/null 2>&1
mkbundle() {
  mkdir -p "$work/$1" && (cd "$work/$1" && crun spec) && python3 - "$work/$1/config.json" "$rootfs" "$2" "${3:-false}" <<'PY'
import json, sys
path, rootfs, args, term = sys.argv[1:]
c = json.load(open(path))
c["root"] = {"path": rootfs, "readonly": True}
c["process"]["args"] = json.loads(args)
c["process"]["terminal"] = term == "true"
json.dump(c, open(path, "w"), indent=2)
PY
  echo "$work/$1"
}

# Hooks that save the state they get on stdin to $work/hook-TAG-KIND.
addhooks() {
  python3 - "$1/config.json" "$work/hook-$2" <<'PY'
import json, sys
path, out = sys.argv[1:]
c = json.load(open(path))
c["hooks"] = {k: [{"path": "/bin/sh", "args": ["sh", "-c", 'cat > "$0"', out + "-" + k]}]
              for k in ("prestart", "createRuntime", "poststart", "poststop")}
json.dump(c, open(path, "w"), indent=2)
PY
}
hook_saw() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["id"], d["status"])' "$work/hook-$1" 2>/dev/null; }

# --- no VM needed ------------------------------------------------------------------------------
runh features
check "features: valid JSON with ociVersionMax" "1.1.0" "$(jget ociVersionMax <<<"$out")"
mkdir -p "$work/specdir"
(cd "$work/specdir" && "$HAKO" spec); rc=$?
check "spec: writes config.json" "0 1.0.2" "$rc $(jget ociVersion <"$work/specdir/config.json")"
(cd "$work/specdir" && "$HAKO" spec 2>/dev/null); rc=$?
check "spec: refuses to overwrite config.json" 1 "$rc"
runh checkpoint x; check "checkpoint: not supported, non-zero" "1 1" "$rc $(grep -c 'not supported' <<<"$err")"
runh restore x; check "restore: not supported, non-zero" 1 "$rc"

runh state nosuch; check "state of an unknown id fails" "1 container does not exist" "$rc $(sed 's/^hako: error: //' <<<"$err")"
runh start nosuch; check "start of an unknown id fails" 1 "$rc"
runh kill nosuch KILL; check "kill of an unknown id fails" 1 "$rc"
runh delete nosuch; check "delete of an unknown id fails" 1 "$rc"
runh delete --force nosuch; check "delete --force of an unknown id succeeds (runc)" 0 "$rc"
runh state ../etc; check "an invalid id is refused" 1 "$rc"

mkdir -p "$work/noconfig"
runh create --bundle "$work/noconfig" c-noconfig
check "create: missing config.json fails with one line" "1 1" "$rc $(grep -c . <<<"$err")"
mkdir -p "$work/badconfig" && echo '{"ociVersion": ' >"$work/badconfig/config.json"
runh create --bundle "$work/badconfig" c-badconfig
check "create: malformed config.json fails" "1 1" "$rc $(grep -c 'invalid' <<<"$err")"
runh create --bundle "$work/does-not-exist" c-nobundle
check "create: missing bundle path fails" 1 "$rc"
b_tty=$(mkbundle tty '["sh"]' true)
runh create --bundle "$b_tty" c-tty
check "create: terminal without --console-socket fails like runc" "1 1" "$rc $(grep -c 'console socket' <<<"$err")"
check "state root untouched by the failures" "" "$(ls -A "$root" 2>/dev/null)"

# --- the lifecycle, under the subreaper ------------------------------------------------------
b_life=$(mkbundle life '["sh", "-c", "echo to-out; echo to-err >&2; sleep 2; exit 7"]')
t0=$(date +%s%N)
"$HAKO" --root "$root" create --bundle "$b_life" --pid-file "$work/life.pid" life \
  </dev/null >"$work/life.out" 2>"$work/life.err"
rc=$?
check "create: exit 0" 0 "$rc"
pid=$(cat "$work/life.pid" 2>/dev/null)
st=$(hako state life)
check "state: created" created "$(jget status <<<"$st")"
check "state: pid is the pid file's" "$pid" "$(jget pid <<<"$st")"
check "state: bundle" "$b_life" "$(jget bundle <<<"$st")"
check "state: ociVersion and id" "1.0.2 life" "$(jget ociVersion <<<"$st") $(jget id <<<"$st")"
check "the host process outlives create" 1 "$(kill -0 "$pid" 2>/dev/null && echo 1)"
check "its parent is the subreaper now" "$PPID" "$(ps -o ppid= -p "$pid" | tr -d ' ')"
runh create --bundle "$b_life" life
check "create: an id in use fails" "1 1" "$rc $(grep -c 'exists' <<<"$err")"
runh start life; check "start: exit 0" 0 "$rc"
check "state: running" running "$(status_of life)"
runh start life; check "start of a running container fails" 1 "$rc"
check "list -q names it" life "$(hako list -q)"
check "list --format json" "life running $pid" "$(hako list --format json | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; print(d["id"], d["status"], d["pid"])')"
check "ps --format json is the host process" "[$pid]" "$(hako ps --format json life)"
check "the subreaper reads the container's exit status" 7 "$(reaped_code "$pid")"
check "stdout through create's stdout" to-out "$(cat "$work/life.out")"
check "stderr through create's stderr" to-err "$(cat "$work/life.err")"
check "state: stopped" stopped "$(wait_status life stopped)"
runh start life; check "start of a stopped container fails" "1 1" "$rc $(grep -c 'stopped' <<<"$err")"
runh kill life KILL; check "kill of a stopped container fails" "1 1" "$rc $(grep -c 'not running' <<<"$err")"
runh delete life; check "delete of a stopped container" 0 "$rc"
check "delete removed its state" "" "$(ls -A "$root")"
echo "# lifecycle took $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# --- signals ---------------------------------------------------------------------------------
# PID 1 of a PID namespace gets only signals it handles: the shell traps TERM and USR1.
# It says "ready" once its traps are set: a signal that arrives before is ignored (no handler yet).
b_trap=$(mkbundle trap '["sh", "-c", "trap \"exit 3\" TERM; trap \"exit 4\" USR1; echo ready; while :; do sleep 0.1; done"]')
hako create --bundle "$b_trap" --pid-file "$work/t1.pid" t1 </dev/null >"$work/t1.out" 2>&1
hako create --bundle "$b_trap" --pid-file "$work/t2.pid" t2 </dev/null >"$work/t2.out" 2>&1
b_sleep=$(mkbundle sleep '["sleep", "1000"]')
addhooks "$b_sleep" sleep
hako create --bundle "$b_sleep" --pid-file "$work/t3.pid" t3 </dev/null >/dev/null 2>&1
hako start t1; hako start t2; hako start t3
for t in t1 t2; do for _ in $(seq 300); do grep -q ready "$work/$t.out" && break; sleep 0.1; done; done
runh kill t1 FOO; check "kill: an invalid signal fails" "1 1" "$rc $(grep -c 'unknown signal' <<<"$err")"
runh kill t1 SIGTERM; check "kill by name: exit 0" 0 "$rc"
check "kill by name: the container got SIGTERM" 3 "$(reaped_code "$(cat "$work/t1.pid")")"
kill -USR1 "$(cat "$work/t2.pid")"
check "a signal to the host process reaches the container" 4 "$(reaped_code "$(cat "$work/t2.pid")")"
runh pause t3; check "pause" "0 paused" "$rc $(status_of t3)"
runh resume t3; check "resume" "0 running" "$rc $(status_of t3)"
runh delete t3; check "delete of a running container fails" "1 running" "$rc $(status_of t3)"
runh kill --all t3 9; check "kill --all by number: exit 0" 0 "$rc"
check "kill by number: killed by SIGKILL (137)" 137 "$(reaped_code "$(cat "$work/t3.pid")")"
hako delete t1; hako delete t2; hako delete t3

hako create --bundle "$b_sleep" --pid-file "$work/t4.pid" t4 </dev/null >/dev/null 2>&1 && hako start t4
runh delete t4; check "delete without --force of a running one fails" 1 "$rc"
runh delete --force t4; check "delete --force of a running one" 0 "$rc"
check "delete --force: the host process ended" 137 "$(reaped_code "$(cat "$work/t4.pid")")"
check "delete --force: state gone" "" "$(ls -A "$root")"
check "hooks: prestart and createRuntime saw it created" "t4 created t4 created" \
  "$(hook_saw sleep-prestart) $(hook_saw sleep-createRuntime)"
check "hooks: poststart saw it running" "t4 running" "$(hook_saw sleep-poststart)"
check "hooks: poststop ran at delete --force, stopped" "t4 stopped" "$(hook_saw sleep-poststop)"

hako create --bundle "$b_sleep" --pid-file "$work/t5.pid" t5 </dev/null >/dev/null 2>&1
runh delete t5; check "delete of a created (never started) container" "0 " "$rc $(ls -A "$root")"

# --- concurrent creates of one id: exactly one wins, the root stays consistent ------------------
for i in 1 2; do
  ( "$HAKO" --root "$root" create --bundle "$b_sleep" same </dev/null >/dev/null 2>"$work/same$i.err"; echo $? >"$work/same$i.rc" ) &
done
wait
check "concurrent create: one wins, one fails" "0 1" "$(sort -n "$work"/same?.rc | tr '\n' ' ' | sed 's/ $//')"
check "concurrent create: the loser says the id exists" "hako: error: container with id exists: same" "$(cat "$work"/same?.err)"
check "concurrent create: one container" "same created" "$(ls -A "$root") $(status_of same)"
hako delete same

# --- the host process killed with SIGKILL: its VM goes with it, the record stays --------------
hako create --bundle "$b_sleep" --pid-file "$work/k9.pid" k9 </dev/null >/dev/null 2>&1 && hako start k9
kill -9 "$(cat "$work/k9.pid")"
check "kill -9 of the host process: reaped as SIGKILL" 137 "$(reaped_code "$(cat "$work/k9.pid")")"
check "kill -9 of the host process: state says stopped" stopped "$(status_of k9)"
for _ in $(seq 50); do [ -z "$(pgrep -f "$root/k9")" ] && break; sleep 0.1; done
check "kill -9 of the host process: no VM or virtiofsd left" "" "$(pgrep -f "$root/k9")"
runh delete k9; check "kill -9 of the host process: delete works" "0 " "$rc $(ls -A "$root")"

# --- a pipe the caller leaked to create (fd 9) must not be held by the host process ----------
timeout 30 bash -c '"$0" --root "$1" create --bundle "$2" lk 9>&1 </dev/null >/dev/null 2>&1 | cat >/dev/null' \
  "$HAKO" "$root" "$b_sleep"
check "create: the host process does not keep the caller's other fds" "0 created" "$? $(status_of lk)"
hako delete lk

# --- create failing inside the VM leaves nothing behind ----------------------------------------
b_nocmd=$(mkbundle nocmd '["/no/such/command"]')
runh create --bundle "$b_nocmd" c-nocmd
check "create: a missing command fails at create (one line)" "1 1" "$rc $(grep -c . <<<"$err")"
check "create failure: no state, no process" " " "$(ls -A "$root") $(ours)"

# --- a rootfs without the mount points (CRI's pause image: one static binary, read-only root,
# /etc files bind-mounted): made in the rootfs before it is shared, as runc does ----------------
mkdir -p "$work/pause/rootfs" && cp "$rootfs/bin/busybox" "$work/pause/rootfs/busybox"
echo "10.0.0.1 pod" >"$work/pause-hosts"
(cd "$work/pause" && crun spec) && python3 - "$work/pause/config.json" "$work/pause-hosts" <<'PY'
import json, sys
path, hosts = sys.argv[1:]
c = json.load(open(path))
c["root"] = {"path": "rootfs", "readonly": True}
c["process"]["args"] = ["/busybox", "sh", "-c", "cat /etc/hosts; ls -d /proc/1 /sys/kernel /dev/null"]
c["process"]["terminal"] = False
c["mounts"].append({"destination": "/etc/hosts", "type": "bind", "source": hosts, "options": ["rbind", "ro"]})
json.dump(c, open(path, "w"), indent=2)
PY
runh run --bundle "$work/pause" pz
check "read-only rootfs without /proc /dev /sys /etc: runs, binds land" \
  "0 10.0.0.1 pod /dev/null /proc/1 /sys/kernel" "$rc $(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
check "...the mount points stay in the rootfs, as with runc" "dev etc proc sys hosts" \
  "$(cd "$work/pause/rootfs" && ls -d dev etc proc sys | tr '\n' ' ')$(ls "$work/pause/rootfs/etc")"
rm -rf "$work/pause/rootfs/"{dev,etc,proc,sys}
python3 - "$work/pause/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"]["readonly"] = False
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
runh run --bundle "$work/pause" pw
check "writable rootfs without /dev: runs" 0 "$rc"
mkdir -p "$work/evil/rootfs" && cp "$rootfs/bin/busybox" "$work/evil/rootfs/busybox" && ln -s /tmp "$work/evil/rootfs/etc"
cp "$work/pause/config.json" "$work/evil/config.json"
runh run --bundle "$work/evil" pe
check "a symlink in the rootfs is followed inside it, never out to the host" "0 yes no" \
  "$rc $([ -f "$work/evil/rootfs/tmp/hosts" ] && echo yes || echo no) $([ -e /tmp/hosts ] && echo yes || echo no)"

# --- hako run --bundle (OCI run) and the Docker-like run still being there -------------------
runh run --bundle "$b_life" r1
check "run --bundle: exit code, stdout, stderr" "7 to-out to-err" "$rc $out $err"
check "run --bundle: removes the container" "" "$(ls -A "$root")"
# Not runh: the host process keeps the stdout it was given, as runc's init does.
"$HAKO" --root "$root" run -d -b "$b_sleep" --pid-file "$work/r2.pid" r2 </dev/null >/dev/null 2>&1; rc=$?
check "run -d: running" "0 running" "$rc $(status_of r2)"
runh delete -f r2
runh run --rm busybox echo docker-like
check "hako run IMAGE still works" "0 docker-like" "$rc $out"

# --- exec -------------------------------------------------------------------------------------
b_ex=$(mkbundle ex '["sleep", "1000"]')
hako create --bundle "$b_ex" --pid-file "$work/ex.pid" ex </dev/null >/dev/null 2>&1 && hako start ex
runh exec ex sh -c 'echo out; echo err >&2; exit 5'
check "exec: exit code, stdout and stderr apart" "5 out err" "$rc $out $err"
check "exec: stdin" "piped" "$(echo piped | hako exec ex cat 2>&1)"
runh exec -e FOO=bar --cwd /tmp -u 1000:1001 ex sh -c 'echo $FOO $(pwd) $(id -u) $(id -g) $PATH'
check "exec: -e, --cwd, -u; the config's env is kept" \
  "0 bar /tmp 1000 1001 /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$rc $out"
runh exec ex nosuchcmd
check "exec: a missing command: 127, one line" "127 1" "$rc $(grep -c 'not found\|No such file' <<<"$err")"
echo '{"args": ["sh", "-c", "echo from-file $X"], "cwd": "/", "env": ["X=1", "PATH=/bin"], "user": {"uid": 0, "gid": 0}}' >"$work/proc.json"
runh exec --process "$work/proc.json" ex
check "exec --process FILE" "0 from-file 1" "$rc $out"
runh exec -d --pid-file "$work/exd.pid" ex sh -c 'sleep 0.3; exit 9'
check "exec -d: returns at once" 0 "$rc"
check "exec -d: its host process exits with the exec's status" 9 "$(reaped_code "$(cat "$work/exd.pid")")"
hako exec -d --pid-file "$work/exs.pid" ex sleep 100 </dev/null >/dev/null 2>&1
kill -TERM "$(cat "$work/exs.pid")"
check "exec -d: a signal to its host process reaches the exec (143)" 143 "$(reaped_code "$(cat "$work/exs.pid")")"
check "exec: the container's init is untouched" running "$(status_of ex)"
python3 "$here/console-socket.py" "$work/exc.sock" "$work/exc.out" $'hello\r' >"$work/exc.log" 2>&1 &
for _ in $(seq 50); do [ -S "$work/exc.sock" ] && break; sleep 0.1; done
runh exec -d -t --console-socket "$work/exc.sock" --pid-file "$work/exc.pid" ex sh -c 'read line; echo got=$line; tty; stty size'
check "exec -t --console-socket" 0 "$rc"
check "exec -t: exit status" 0 "$(reaped_code "$(cat "$work/exc.pid")")"
wait
check "exec -t: input, output, a terminal, its size" "got=hello /dev/pts/0 40 100" \
  "$(tr -d '\r' <"$work/exc.out" | grep -E '^(got=|/dev/pts|[0-9]+ [0-9]+$)' | tr '\n' ' ' | sed 's/ $//')"
for i in $(seq 10); do hako exec ex true || echo "exec $i failed"; done >"$work/exn.out" 2>&1
check "exec: ten in a row" "" "$(cat "$work/exn.out")"
runh events --stats ex
check "events --stats: one stats event with the guest's memory" "0 stats ex 1" \
  "$rc $(python3 -c 'import json,sys; e=json.loads(sys.stdin.readline()); print(e["type"], e["id"], int(e["data"]["memory"]["usage"]["usage"] > 0))' <<<"$out" 2>&1)"
# The container's own cgroup, wherever the guest's crun put it.
cgcat() { hako exec ex sh -c 'p=$(cut -d: -f3 /proc/self/cgroup); cd /sys/fs/cgroup${p%/} && cat "$@"' sh "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
runh update --memory 64m --pids-limit 50 ex
check "update: the guest's cgroup limits change" "0 67108864 50" \
  "$rc $(cgcat memory.max pids.max)"
echo '{"pids": {"limit": 60}}' >"$work/res.json"
runh update --resources "$work/res.json" ex
check "update --resources FILE" "0 60" "$rc $(cgcat pids.max)"
runh update --memory lots ex; check "update: a bad value fails" 1 "$rc"
ex_pid=$(cat "$work/ex.pid")
check "host cgroup: the host process is in /hako/ex" 1 "$(grep -c ':/hako/ex$' /proc/"$ex_pid"/cgroup | sed 's/^[1-9][0-9]*$/1/')"
check "network namespace: the host process has a new one (the spec asks for one)" 1 \
  "$([ "$(readlink /proc/"$ex_pid"/ns/net)" != "$(readlink /proc/self/ns/net)" ] && echo 1)"
qemu_pid=$(pgrep -f "qemu-system.*$root/ex/" | head -1)
check "host cgroup: so is its QEMU" "$(grep ':/hako/ex$' /proc/"$ex_pid"/cgroup)" "$(grep ':/hako/ex$' /proc/"$qemu_pid"/cgroup 2>/dev/null)"
hako pause ex
runh exec ex true; check "exec in a paused container fails" "1 1" "$rc $(grep -c paused <<<"$err")"
hako resume ex
hako exec -d --pid-file "$work/exl.pid" ex sleep 100 </dev/null >/dev/null 2>&1
hako kill ex KILL
check "exec: its host process ends when the container does" 137 "$(reaped_code "$(cat "$work/exl.pid")")"
check "exec: the container's status" 137 "$(reaped_code "$(cat "$work/ex.pid")")"
wait_status ex stopped >/dev/null
runh exec ex true; check "exec in a stopped container fails" "1 1" "$rc $(grep -c stopped <<<"$err")"
runh exec nosuch true; check "exec in an unknown container fails" "1 container does not exist" "$rc $(sed 's/^hako: error: //' <<<"$err")"
hako delete ex
check "host cgroup: removed at delete" "" "$(ls -d /sys/fs/cgroup/*/hako/ex 2>/dev/null)"

# A network namespace path is joined by the host process (the caller set it up, as podman does).
touch "$work/netns" && unshare --net="$work/netns" true
b_ns=$(mkbundle ns '["true"]')
python3 - "$b_ns/config.json" "$work/netns" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for n in c["linux"]["namespaces"]:
    if n["type"] == "network":
        n["path"] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"))
PY
hako create --bundle "$b_ns" --pid-file "$work/ns.pid" ns1 </dev/null >/dev/null 2>&1; rc=$?
check "network namespace path: joined by the host process" "0 net:[$(stat -L -c %i "$work/netns")]" \
  "$rc $(readlink /proc/"$(cat "$work/ns.pid")"/ns/net)"
hako delete --force ns1 >/dev/null 2>&1
umount "$work/netns" 2>/dev/null
sed 's/"network"/"ipc"/' "$b_ns/config.json" >"$b_ns/c2" && mv "$b_ns/c2" "$b_ns/config.json"
hako create --bundle "$b_ns" ns2 </dev/null >/dev/null 2>"$work/ns2.err"; rc=$?; err=$(cat "$work/ns2.err")
check "another namespace path is refused with a clear error" "1 1" "$rc $(grep -c 'not possible' <<<"$err")"

# VM size from the limits: 2 CPUs of quota but a cpuset of one CPU → 1 vCPU, the cpuset renumbered.
b_cpu=$(mkbundle cpu '["sh", "-c", "nproc; cat /sys/fs/cgroup/cpuset.cpus.effective"]')
python3 - "$b_cpu/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["cgroupsPath"] = "/hako-test/cpu1"
c["linux"]["resources"] = {"cpu": {"quota": 200000, "period": 100000, "cpus": "1"}}
json.dump(c, open(sys.argv[1], "w"))
PY
hako create --bundle "$b_cpu" --pid-file "$work/cpu.pid" cpu1 </dev/null >"$work/cpu.out" 2>&1
check "host cgroup from cgroupsPath, with the CPU quota" 200000 "$(cat /sys/fs/cgroup/cpu/hako-test/cpu1/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/hako-test/cpu1/cpu.max 2>/dev/null | cut -d' ' -f1)"
hako start cpu1
check "cpuset: one vCPU, crun applies the renumbered cpuset" "0 1 0" "$(reaped_code "$(cat "$work/cpu.pid")") $(tr '\n' ' ' <"$work/cpu.out" | sed 's/ $//')"
hako delete cpu1
rmdir /sys/fs/cgroup/*/hako-test 2>/dev/null

# A user namespace, a bind mount (its root inside ends in the source's name, as with runc) and
# poststart hooks of which the first fails: a warning, and the second still runs.
mkdir -p "$work/bindsrc" && echo bound >"$work/bindsrc/f"
b_us=$(mkbundle us '["sh", "-c", "id -u; cat /home/f; grep -c \"/bindsrc /home \" /proc/self/mountinfo"]')
python3 - "$b_us/config.json" "$work/bindsrc" "$work/second-hook" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["namespaces"].append({"type": "user"})
c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1000}]
c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1000}]
c["mounts"].append({"destination": "/home", "type": "bind", "source": sys.argv[2], "options": ["rbind", "ro"]})
c["hooks"] = {"poststart": [{"path": "/bin/false"}, {"path": "/bin/sh", "args": ["sh", "-c", "touch " + sys.argv[3]]}]}
json.dump(c, open(sys.argv[1], "w"))
PY
runh --log "$work/us.log" run --bundle "$b_us" us1
check "user namespace, bind mount named by its source" "0 0 bound 1" "$rc $(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
check "a failing poststart hook is a warning (in --log); the next one runs" "1 1" \
  "$(grep -c 'poststart hook' "$work/us.log") $([ -e "$work/second-hook" ] && echo 1)"

# --- console socket ---------------------------------------------------------------------------
b_con=$(mkbundle con '["sh", "-c", "read line; echo got=$line; tty; stty size"]' true)
python3 "$here/console-socket.py" "$work/con.sock" "$work/con.out" $'hello\r' >"$work/con.log" 2>&1 &
for _ in $(seq 50); do [ -S "$work/con.sock" ] && break; sleep 0.1; done
runh create --bundle "$b_con" --console-socket "$work/con.sock" --pid-file "$work/con.pid" con
check "create --console-socket" 0 "$rc"
hako start con
check "console: exit status" 0 "$(reaped_code "$(cat "$work/con.pid")")"
wait
check "console: the pty master was sent (with its name)" 1 "$(grep -c '^/dev/pts/' "$work/con.out.name")"
check "console: input and output through the pty" 1 "$(tr -d '\r' <"$work/con.out" | grep -c '^got=hello$')"
check "console: the process has a terminal" 1 "$(tr -d '\r' <"$work/con.out" | grep -c '^/dev/pts/')"
check "console: the size set on the master reaches the container" 1 "$(tr -d '\r' <"$work/con.out" | grep -c '^40 100$')"
hako delete con

# --- logs -------------------------------------------------------------------------------------
"$HAKO" --root "$root" --log "$work/log.json" --log-format json state nosuch 2>/dev/null
check "--log --log-format json" "error container does not exist" \
  "$(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); print(d["level"], d["msg"])' "$work/log.json")"

sleep 0.5
check "nothing left running (qemu, virtiofsd, host processes)" "" "$(ours)"
check "state root empty" "" "$(ls -A "$root")"

tap_done
