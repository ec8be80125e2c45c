#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds the guest initramfs: hako-agent as /init, crun and exactly the shared libraries it needs,
# and Debian's static tini (what `hako run --init` binds into the container as its PID 1).
# Uncompressed newc cpio (decompression is slow under emulation), reproducible: the same inputs give
# the same bytes (sorted list, fixed mtime SOURCE_DATE_EPOCH or 0, owner 0:0).
#
# usage: build.sh AGENT_BINARY OUTPUT [CRUN_BINARY]
set -euo pipefail
export LC_ALL=C

if [ $# -lt 2 ]; then
	echo "usage: $0 AGENT_BINARY OUTPUT [CRUN_BINARY]" >&2
	exit 2
fi
agent=$1
output=$2
# Default: the static crun of guest/crun/build.sh when it has been built, else Debian's.
crun=${3:-}
if [ -z "$crun" ]; then
	static=$(bash "$(dirname "$0")/../crun/build.sh" --print-path 2>/dev/null || true)
	if [ -n "$static" ] && [ -x "$static" ]; then crun=$static; else crun=/usr/bin/crun; fi
fi
epoch=${SOURCE_DATE_EPOCH:-0}
# Docker's --init is tini; Debian's docker.io depends on the tini package, which ships it static.
tini=${HAKO_TINI:-/usr/bin/tini-static}

[ -x "$agent" ] || { echo "$0: agent binary $agent not found" >&2; exit 1; }
[ -x "$crun" ] || { echo "$0: crun binary $crun not found" >&2; exit 1; }
[ -x "$tini" ] || { echo "$0: $tini not found: install Debian's tini package (hako run --init needs it)" >&2; exit 1; }
file -L "$tini" | grep -q "statically linked" || { echo "$0: $tini is not a static binary" >&2; exit 1; }

stage=$(mktemp -d)
tmp_out=
cleanup() {
	rm -rf "$stage"
	[ -z "$tmp_out" ] || rm -f "$tmp_out"
}
trap cleanup EXIT

# Debian is merged-/usr: keep the same layout so the loader and library paths resolve as on the host.
mkdir -p "$stage"/usr/bin "$stage"/usr/sbin "$stage"/usr/lib "$stage"/usr/lib64 \
	"$stage"/proc "$stage"/sys "$stage"/dev "$stage"/run "$stage"/tmp "$stage"/newroot \
	"$stage"/etc "$stage"/root "$stage"/var
ln -s usr/bin "$stage"/bin
ln -s usr/sbin "$stage"/sbin
ln -s usr/lib "$stage"/lib
ln -s usr/lib64 "$stage"/lib64
chmod 1777 "$stage"/tmp
chmod 0700 "$stage"/root

install -m 0755 "$agent" "$stage"/init
# Debug info only costs load time in the guest.
${STRIP:-strip} --strip-debug "$stage"/init 2>/dev/null || true
install -m 0755 "$crun" "$stage"/usr/bin/crun
# The same path in the guest (spec.h SPEC_GUEST_INIT): bound read-only, it needs no libraries.
install -m 0755 "$tini" "$stage"/usr/bin/tini-static

# Copies a file to its canonical path and makes the path it was asked for (after resolving the
# directory, i.e. with the merged-/usr symlinks applied) point at it.
add_file() {
	local want=$1 real dir link
	real=$(readlink -f "$want")
	dir=$(readlink -f "$(dirname "$want")")
	link=$dir/$(basename "$want")
	if [ ! -e "$stage$real" ]; then
		mkdir -p "$stage$(dirname "$real")"
		cp -L --preserve=mode "$real" "$stage$real"
	fi
	if [ "$link" != "$real" ] && [ ! -e "$stage$link" ] && [ ! -L "$stage$link" ]; then
		mkdir -p "$stage$dir"
		if [ "$(dirname "$real")" = "$dir" ]; then
			ln -s "$(basename "$real")" "$stage$link"
		else
			ln -s "$real" "$stage$link"
		fi
	fi
}

# ldd lines: "libx.so.1 => /path (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (...)".
# A static agent has none ("not a dynamic executable"); a dynamic one needs its own as well.
libs=$({ ldd "$crun" 2>/dev/null || true; ldd "$agent" 2>/dev/null || true; } |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
if [ -z "$libs" ] && ! file "$crun" | grep -q "statically linked"; then
	echo "$0: ldd found no libraries for $crun" >&2
	exit 1
fi
for lib in $libs; do
	add_file "$lib"
done

# crun resolves nothing by name for numeric ids; minimal files keep tools inside the guest happy.
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage"/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage"/etc/group
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 0600 "$stage"/dev/console c 5 1

find "$stage" -exec touch -h -d "@$epoch" {} +

tmp_out=$(mktemp "$(dirname "$output")/.initrd.XXXXXX")
(cd "$stage" && find . -mindepth 1 | sort | cpio --quiet --reproducible -H newc -o --owner=0:0) >"$tmp_out"
chmod 0644 "$tmp_out"
mv -f "$tmp_out" "$output"
tmp_out=
echo "initrd: $output $(stat -c %s "$output") bytes"
