#!/usr/bin/env bash
# Installs what hako needs to build, run and test, from Debian's repositories only.
set -euo pipefail
pkgs=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev clang-format
  protobuf-c-compiler libprotobuf-c-dev libjansson-dev
  qemu-system-x86 qemu-utils crun busybox-static cpio file
  dpkg-dev libseccomp-dev libcap-dev libyajl-dev
  linux-source-6.1 bc bison flex libelf-dev xz-utils python3 util-linux procps
  slirp4netns iproute2 curl iperf3 containernetworking-plugins e2fsprogs mmdebstrap tini
  docker.io podman containerd runc
  golang-github-containerd-containerd-dev golang-gogoprotobuf-dev golang-github-containerd-cgroups-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "deps: all installed"
