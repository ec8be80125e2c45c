#!/usr/bin/env bash
# Builds a static crun for the guest from Debian's source of the crun package (same version as
# Debian's binary, Debian's patches applied), without systemd and CRIU support, which the guest
# has no use for. A static binary skips loading ten shared libraries, which under emulation costs
# about 120 ms on every crun call. Cached outside the work tree, keyed by the source version and
# this script; the initrd falls back to Debian's dynamic /usr/bin/crun when this cannot build.
#
# usage: guest/crun/build.sh [--print-path]     HAKO_CACHE: cache root (default /var/cache/hako)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${HAKO_CACHE:-/var/cache/hako}
ver=$(dpkg-query -W -f='${Version}' crun 2>/dev/null || echo none)
key=$( { echo "$ver"; cat "$here/build.sh"; } | sha256sum | cut -c1-16)
out=$cache/crun/$key

if [ "${1:-}" = "--print-path" ]; then echo "$out/crun"; exit 0; fi
if [ -x "$out/crun" ]; then echo "guest crun: cached $out/crun"; exit 0; fi
[ "$ver" != none ] || { echo "guest crun: the crun package is not installed" >&2; exit 1; }

work=$cache/crun-build/$key
mkdir -p "$work"
exec 9>"$work.lock"
flock 9
[ -x "$out/crun" ] && { echo "guest crun: cached $out/crun"; exit 0; }

# Debian's source through a private source list: the system's apt configuration stays untouched.
apt_dir=$work/apt
mkdir -p "$apt_dir/lists/partial"
cat >"$apt_dir/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
aptopts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir" -o "Dir::State::Lists=$apt_dir/lists"
  -o APT::Sandbox::User=root)
echo "guest crun: fetching Debian's source of crun $ver"
(cd "$work" && apt-get "${aptopts[@]}" update -qq >/dev/null && apt-get "${aptopts[@]}" source --download-only -qq "crun=$ver" >/dev/null)
rm -rf "$work/src"
(cd "$work" && dpkg-source -x --no-check ./crun_*.dsc src >/dev/null)

echo "guest crun: building a static crun (about 3 minutes on 2 cores; cached afterwards)"
cd "$work/src"
./configure --disable-systemd --disable-criu --enable-embedded-yajl --disable-dl \
  --disable-shared --enable-static LDFLAGS=-static >"$work/configure.log" 2>&1 ||
  { tail -20 "$work/configure.log" >&2; exit 1; }
make -j"$(nproc)" LDFLAGS=-all-static >"$work/make.log" 2>&1 || { tail -20 "$work/make.log" >&2; exit 1; }
file crun | grep -q "statically linked" || { echo "guest crun: result is not static" >&2; exit 1; }
./crun --version | grep -q "+SECCOMP" || { echo "guest crun: built without seccomp" >&2; exit 1; }

tmp=$out.tmp.$$
rm -rf "$tmp"; mkdir -p "$tmp"
strip -o "$tmp/crun" crun
echo "$ver" >"$tmp/version"
rm -rf "$out"; mv "$tmp" "$out"
rm -rf "$work/src"
echo "guest crun: built $out/crun ($(du -h "$out/crun" | cut -f1))"
