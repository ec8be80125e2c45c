#!/usr/bin/env bash
# The agent policy (agent/policy.c, docs/security.md): a guest image whose agent answers only the
# RPCs its policy lists; built with guest/initrd/with-policy.sh from the plain initrd. TAP.
# usage: policy.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD point at the guest image)
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=$(readlink -f "${1:?usage: policy.sh HAKO_BINARY}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
work=$(mktemp -d /tmp/hpo.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
. "$here/tap-lib.sh"
root=$work/root
hk() { "$HAKO" --root "$root" "$@"; }
cleanup() { hk rm -f p1 >/dev/null 2>&1; for p in $(pgrep -f "$work"); do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
# The agent's initrd may sit beside a sanitizer build's: the plain one is what the guest runs.
base=$HAKO_INITRD

# Everything a hako run needs, but no ExecProcess: nobody on the host can run a command in it.
cat >"$work/no-exec.policy" <<'POL'
# hako run, without exec
CreateSandbox
DestroySandbox
Reexec
CreateContainer
StartContainer
RemoveContainer
RemoveProcess
SignalProcess
WaitProcess
WriteStdin
CloseStdin
ReadStdout
ReadStderr
TtyWinResize
StatsContainer
ListProcesses
GetOOMEvent
ConfigureInterface
POL
bash "$here/../../guest/initrd/with-policy.sh" "$base" "$work/no-exec.policy" "$work/no-exec.img"
check "with-policy.sh builds an initrd" 0 "$?"
export HAKO_INITRD=$work/no-exec.img
check "the allowed methods work: hako run" "ok" "$(hk run --rm --network none busybox echo ok 2>&1)"
hk run -d --name p1 --network none busybox sleep 300 >/dev/null 2>&1
out=$(hk exec p1 echo nope 2>&1); rc=$?
check "a method the policy leaves out is refused, with a clear error" "1 1" \
  "$([ $rc -ne 0 ] && echo 1) $(grep -c 'not allowed by the agent policy' <<<"$out")"
check "one line of error" 1 "$(wc -l <<<"$out")"
hk rm -f p1 >/dev/null 2>&1

printf 'CreateSandbox\n%0100d\n' 0 >"$work/bad.policy"
bash "$here/../../guest/initrd/with-policy.sh" "$base" "$work/bad.policy" "$work/bad.img"
out=$(HAKO_INITRD=$work/bad.img hk run --rm --network none busybox echo hi 2>&1); rc=$?
check "a policy that does not parse fails closed (only Health): the sandbox is refused" "1 1" \
  "$([ $rc -ne 0 ] && echo 1) $(grep -c 'not allowed by the agent policy' <<<"$out")"
check "nothing left behind" "|" "$(pgrep -f "qemu-system.*$root")|$(ls "$root" 2>/dev/null)"
tap_done
