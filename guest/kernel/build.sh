#!/usr/bin/env bash
# Builds hako's guest kernel (vmlinux, PVH-bootable) from Debian's linux-source-6.1 and the
# fragments beside this script. Output is cached outside the work tree, keyed by a hash of the
# fragments, this script and the source package version, so only the first build pays.
#
# usage: guest/kernel/build.sh [--print-path]
#   HAKO_CACHE   cache root (default /var/cache/hako)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${HAKO_CACHE:-/var/cache/hako}
src_tar=/usr/src/linux-source-6.1.tar.xz

die() { echo "guest kernel: $*" >&2; exit 1; }

[ -f "$src_tar" ] || die "missing $src_tar (apt-get install linux-source-6.1)"
src_ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown)

key=$( { echo "$src_ver"; cat "$here/build.sh"; for f in "$here"/fragments/*.conf; do echo "== $(basename "$f")"; cat "$f"; done; } | sha256sum | cut -c1-16)
out="$cache/kernel/$key"

if [ "${1:-}" = "--print-path" ]; then echo "$out/vmlinux"; exit 0; fi
if [ -f "$out/vmlinux" ]; then
    echo "guest kernel: cached $out/vmlinux"
    exit 0
fi

# One work tree per source version: a changed fragment rebuilds only what the change touches.
work="$cache/kernel-build/src-$src_ver"
mkdir -p "$work"
exec 9>"$work.lock"
flock 9
[ -f "$out/vmlinux" ] && { echo "guest kernel: cached $out/vmlinux"; exit 0; }

if [ ! -f "$work/.extracted" ]; then
    echo "guest kernel: extracting $src_tar ($src_ver)"
    rm -rf "$work/src"; mkdir -p "$work/src"
    tar -C "$work/src" --strip-components=1 -xf "$src_tar"
    touch "$work/.extracted"
fi
cd "$work/src"

echo "guest kernel: configuring (tinyconfig + $(ls "$here"/fragments | tr '\n' ' '))"
make -s tinyconfig >/dev/null
./scripts/kconfig/merge_config.sh -m .config "$here"/fragments/*.conf >"$work/merge.log" 2>&1 || { cat "$work/merge.log" >&2; die "merge_config failed"; }
make -s olddefconfig >/dev/null

# Every option the fragments ask for must have stuck: Kconfig silently drops options whose
# dependencies are missing, and a guest without (say) virtio-fs fails far from the cause.
bad=0
while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    opt=${line%%=*}; want=${line#*=}
    have=$(grep -E "^$opt=" .config | head -1 | cut -d= -f2- || true)
    if [ "$want" = n ]; then
        [ -z "$have" ] || { echo "guest kernel: $opt wanted n, got $have" >&2; bad=1; }
    elif [ "$have" != "$want" ]; then
        echo "guest kernel: $opt wanted $want, got ${have:-unset}" >&2; bad=1
    fi
done < <(cat "$here"/fragments/*.conf)
[ "$bad" = 0 ] || die "kernel config does not match the fragments (see above)"

jobs=$(nproc)
echo "guest kernel: building vmlinux with -j$jobs (about 5 minutes on 2 idle cores; cached afterwards)"
log="$work/build.log"
start=$(date +%s)
make -j"$jobs" vmlinux >"$log" 2>&1 &
pid=$!
total=$(find . -name '*.c' -path './kernel/*' | wc -l) # rough scale only
while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    n=$(grep -c '^  CC' "$log" || true)
    echo "guest kernel: $(( $(date +%s) - start ))s, $n files compiled"
done
wait "$pid" || { tail -30 "$log" >&2; die "build failed (log: $log)"; }
: "$total"

tmp="$out.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp"
cp vmlinux "$tmp/vmlinux"
cp .config "$tmp/config"
echo "$src_ver" >"$tmp/source-version"
mkdir -p "$(dirname "$out")"
rm -rf "$out"; mv "$tmp" "$out"
echo "guest kernel: built $out/vmlinux in $(( $(date +%s) - start ))s ($(du -h "$out/vmlinux" | cut -f1))"
