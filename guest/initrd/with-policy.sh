#!/usr/bin/env bash
# Makes a copy of a guest initrd whose agent answers only the RPCs a policy allows
# (docs/security.md, agent/policy.c): the policy file becomes /etc/hako/agent-policy, in a cpio
# archive appended to the initrd (the kernel unpacks concatenated archives in order). Point a
# flavour's [hypervisor] initrd at the result.
# usage: guest/initrd/with-policy.sh INITRD POLICY OUT
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 INITRD POLICY OUT" >&2; exit 2; }
initrd=$1 policy=$2 out=$3
[ -f "$initrd" ] || { echo "with-policy: no initrd $initrd" >&2; exit 1; }
[ -f "$policy" ] || { echo "with-policy: no policy $policy" >&2; exit 1; }
[ "$(stat -c %s "$policy")" -le 16384 ] || { echo "with-policy: $policy is larger than 16 KiB" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc/hako"
install -m 0444 "$policy" "$tmp/etc/hako/agent-policy"
cp "$initrd" "$out.tmp"
(cd "$tmp" && printf 'etc\netc/hako\netc/hako/agent-policy\n' | cpio -o -H newc --quiet -R 0:0) >>"$out.tmp"
mv "$out.tmp" "$out"
