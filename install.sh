#!/usr/bin/env bash
# Installs hako: Debian dependencies, the build, the guest kernel (cached) and initrd, and
# `hako` onto PATH (/usr/local by default; PREFIX=... to change).
set -euo pipefail
cd "$(dirname "$0")"
prefix=${PREFIX:-/usr/local}
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (hako needs it for VMs and mounts)" >&2; exit 1; }

bash scripts/deps.sh
bash guest/crun/build.sh || echo "install.sh: static crun not built; the initrd uses Debian's crun"
meson setup build --prefix "$prefix" --buildtype release >/dev/null 2>&1 || meson setup --reconfigure build --prefix "$prefix" --buildtype release >/dev/null
ninja -C build
bash guest/kernel/build.sh
kernel=$(bash guest/kernel/build.sh --print-path)
meson install -C build --quiet
install -D -m 0644 "$kernel" "$prefix/share/hako/vmlinux"
install -D -m 0644 build/guest/initrd.img "$prefix/share/hako/initrd.img"
echo "kernel $(dirname "$kernel" | xargs basename) ($(cat "$(dirname "$kernel")/source-version")), initrd sha256 $(sha256sum build/guest/initrd.img | cut -c1-16)" \
  > "$prefix/share/hako/guest-version"
echo "install.sh: installed $prefix/bin/hako, $prefix/bin/containerd-shim-hako-v2 (runtime_type io.containerd.hako.v2, docs/pods.md) and the guest image in $prefix/share/hako"
"$prefix/bin/hako" check
