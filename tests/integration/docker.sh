#!/usr/bin/env bash
# Docker with hako as a runtime: a private dockerd (Debian's docker.io 20.10, its own containerd
# and runc shim) with hako registered in daemon.json's "runtimes", state under a temporary
# directory, images loaded from an archive built here (no network). Every container is a microVM.
# usage: docker.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD point at the guest image). TAP.
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=$(readlink -f "${1:?usage: docker.sh HAKO_BINARY}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
command -v dockerd >/dev/null && command -v docker >/dev/null || { echo "1..0 # SKIP dockerd not installed"; exit 0; }

# Short: dockerd and containerd put unix sockets under it.
work=$(mktemp -d /tmp/hdk.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
. "$here/tap-lib.sh"
# Runs docker; out, err, rc.
rund() { out=$(dk "$@" 2>"$work/err" </dev/null); rc=$?; err=$(cat "$work/err"); }
img=hako-test/busybox:latest
R=(--runtime hako --network none)

. "$here/clients-lib.sh"
cleanup() { dockerd_stop "$work"; rm -rf "$work"; }
trap cleanup EXIT

if ! dockerd_start "$work" "$HAKO"; then
  echo "Bail out! dockerd did not start"; sed 's/^/# /' "$work/dockerd.log" | tail -20; exit 1
fi
busybox_image_archive "$HAKO" "$work/img.tar" "$img" && dk load -i "$work/img.tar" >/dev/null
check "docker load of a locally built image" 0 "$?"

# --- docker run --------------------------------------------------------------------------------
rund run --rm "${R[@]}" "$img" sh -c 'echo out; echo err >&2; exit 3'
check "run: exit code, stdout and stderr apart" "3 out err" "$rc $out $err"
check "run -i: stdin" "hello" "$(echo hello | dk run --rm -i "${R[@]}" "$img" cat 2>&1)"
rund run --rm -t "${R[@]}" "$img" sh -c 'tty; echo $TERM'
check "run -t: a terminal" "0 /dev/pts/0 xterm" "$rc $(tr -d '\r' <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
rund run --rm -e FOO=bar -w /tmp -u 1000:1001 "${R[@]}" "$img" sh -c 'echo $FOO $(pwd) $(id -u) $(id -g)'
check "run -e -w -u" "0 bar /tmp 1000 1001" "$rc $out"
mkdir -p "$work/vol" && echo from-host >"$work/vol/in"
rund run --rm -v "$work/vol:/data" "${R[@]}" "$img" sh -c 'cat /data/in; echo from-ctr >/data/out'
check "run -v: read and write a host directory" "0 from-host from-ctr" "$rc $out $(cat "$work/vol/out" 2>/dev/null)"
rund run --rm -v "$work/vol:/data:ro" "${R[@]}" "$img" sh -c 'echo x >/data/ro'
check "run -v :ro: writes fail" "1 no" "$rc $([ -e "$work/vol/ro" ] && echo yes || echo no)"
rund run --rm --init "${R[@]}" "$img" cat /proc/1/comm
check "run --init: docker-init (a bind-mounted host file) is PID 1" "0 docker-init" "$rc $out"
rund run --rm --read-only "${R[@]}" "$img" touch /x
check "run --read-only" "1 1" "$rc $(grep -c 'Read-only file system' <<<"$err")"
rund run --rm -m 100m --cpus 1.5 --pids-limit 30 "${R[@]}" "$img" sh -c \
  'nproc; p=$(cut -d: -f3 /proc/self/cgroup); cd /sys/fs/cgroup${p%/} && cat memory.max pids.max cpu.max'
check "run -m --cpus --pids-limit: the VM sized (2 vCPUs), the guest cgroup limited" \
  "0 2 104857600 30 150000 100000" "$rc $(tr '\n' ' ' <<<"$out" | sed 's/ $//')"
rund run --rm "${R[@]}" "$img" nosuchcmd
check "run: a missing command: 127" 127 "$rc"

# --- a long-running container: exec, top, pause, logs, stop -------------------------------------
rund run -d --name web "${R[@]}" "$img" sh -c 'echo line1; echo line2 >&2; exec sleep 1000'
check "run -d" 0 "$rc"
rund exec web sh -c 'echo in-exec; exit 4'
check "exec: output and exit code" "4 in-exec" "$rc $out"
check "exec -i: stdin" "piped" "$(echo piped | dk exec -i web cat 2>&1)"
rund exec -t web tty
check "exec -t: a terminal" "0 /dev/pts/0" "$rc $(tr -d '\r' <<<"$out")"
rund exec -e X=1 -w /tmp -u 1000 web sh -c 'echo $X $(pwd) $(id -u)'
check "exec -e -w -u" "0 1 /tmp 1000" "$rc $out"
rund exec web nosuchcmd
check "exec: a missing command fails as with runc (126, the message names it)" "126 1" "$rc $(grep -c "executable file not found" <<<"$out$err")"
rund top web
check "top lists the container's host process" "0 1" "$rc $(tail -n +2 <<<"$out" | grep -c .)"
rund pause web
check "pause" "0 paused" "$rc $(dk inspect -f '{{.State.Status}}' web)"
rund unpause web
check "unpause" "0 running" "$rc $(dk inspect -f '{{.State.Status}}' web)"
# Two pipes, as with runc: the order between the streams is not kept, each stream's content is.
check "logs: stdout and stderr, each on its own stream" "line1 line2" "$(dk logs web 2>/dev/null) $(dk logs web 2>&1 >/dev/null)"
t0=$(date +%s%N)
rund stop -t 2 web
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "stop: SIGTERM is ignored by PID 1 sleep, SIGKILL after the timeout (137)" "0 137" \
  "$rc $(dk inspect -f '{{.State.ExitCode}}' web)"
check "stop: waited for the timeout" 1 "$([ "$ms" -ge 2000 ] && echo 1 || echo "$ms ms")"
dk rm web >/dev/null

rund run -d --name trap "${R[@]}" "$img" sh -c 'trap "exit 5" USR1; trap "exit 6" TERM; echo ready; while :; do sleep 0.1; done'
for _ in $(seq 300); do dk logs trap 2>/dev/null | grep -q ready && break; sleep 0.1; done
rund kill -s USR1 trap
check "kill -s USR1: delivered to the container" "0 5" "$rc $(dk wait trap)"
dk rm trap >/dev/null
rund run -d --name trap2 "${R[@]}" "$img" sh -c 'trap "exit 6" TERM; echo ready; while :; do sleep 0.1; done'
for _ in $(seq 300); do dk logs trap2 2>/dev/null | grep -q ready && break; sleep 0.1; done
rund stop trap2
check "stop: a container that handles SIGTERM exits with its own code" "0 6" "$rc $(dk inspect -f '{{.State.ExitCode}}' trap2)"
dk rm trap2 >/dev/null

# --- nothing left behind ------------------------------------------------------------------------
check "no containers left" "" "$(dk ps -aq)"
check "no VM or virtiofsd left" "" "$(pgrep -f 'qemu-system|virtiofsd' | xargs -r ps -o args= -p | grep -c "$work/x/runtime-hako" | grep -v '^0$')"
check "hako's state root (under docker's exec-root) is empty" "" "$(ls -A "$work/x/runtime-hako/moby" 2>/dev/null)"

tap_done
