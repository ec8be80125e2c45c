#!/usr/bin/env bash
# Builds the nested-containers test image: Debian 12 with podman, crun, runc, fuse-overlayfs,
# uidmap and iptables, made by mmdebstrap from Debian's mirror. Cached outside the work tree,
# keyed by a hash of this script, so only the first run pays (~1-3 min of downloads).
#
# usage: tests/images/nested.sh [--print-path]
#   prints/creates $HAKO_CACHE/images/nested-<key>/{rootfs.tar,rootfs/}
#   HAKO_CACHE   cache root (default /var/cache/hako)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${HAKO_CACHE:-/var/cache/hako}
key=$(sha256sum "$here/nested.sh" | cut -c1-16)
out="$cache/images/nested-$key"

if [ "${1:-}" = "--print-path" ]; then echo "$out"; exit 0; fi
[ -f "$out/.done" ] && { echo "nested image: cached $out"; exit 0; }

mkdir -p "$cache/images"
exec 9>"$out.lock"
flock 9
[ -f "$out/.done" ] && { echo "nested image: cached $out"; exit 0; }
command -v mmdebstrap >/dev/null || { echo "nested image: mmdebstrap missing" >&2; exit 1; }

rm -rf "$out" "$out.tmp"; mkdir -p "$out.tmp"
echo "nested image: mmdebstrap bookworm (podman crun runc fuse-overlayfs uidmap iptables)"
mmdebstrap --variant=apt --quiet \
  --include=podman,crun,runc,fuse-overlayfs,uidmap,iptables,containernetworking-plugins,busybox-static,procps,ca-certificates \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
  bookworm "$out.tmp/rootfs.tar" http://deb.debian.org/debian >"$out.tmp/mmdebstrap.log" 2>&1 ||
  { tail -20 "$out.tmp/mmdebstrap.log" >&2; exit 1; }
mkdir "$out.tmp/rootfs"
tar -C "$out.tmp/rootfs" --numeric-owner -xf "$out.tmp/rootfs.tar"
# The inner image: busybox from the same packages, as a tarball for `podman import`.
mkdir -p "$out.tmp/inner/bin"
cp "$out.tmp/rootfs/bin/busybox" "$out.tmp/inner/bin/busybox"
for a in sh echo cat ls true mkdir; do ln -s busybox "$out.tmp/inner/bin/$a"; done
tar -C "$out.tmp/inner" --numeric-owner -cf "$out.tmp/rootfs/inner-busybox.tar" .
rm -rf "$out.tmp/inner"
tar -C "$out.tmp/rootfs" --numeric-owner -cf "$out.tmp/rootfs.tar" .
touch "$out.tmp/.done"
mv "$out.tmp" "$out"
echo "nested image: built $out"
