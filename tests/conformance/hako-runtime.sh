#!/bin/sh
# runc-compatible entry point for the conformance run: points hako at a
# guest kernel/initrd and a private state root, then execs the CLI.
#   tests/conformance/run.sh tests/conformance/hako-runtime.sh
# Override any of these from the environment.
here=$(dirname "$(readlink -f "$0")")
repo=$(cd "$here/../.." && pwd)
: "${HAKO_BIN:=$repo/build/src/cli/hako}"
: "${HAKO_KERNEL:=$(ls /var/cache/hako/kernel/*/vmlinux 2>/dev/null | head -n1)}"
: "${HAKO_INITRD:=$repo/build/guest/initrd.img}"
: "${HAKO_BOOT_TIMEOUT:=60}"
: "${HAKO_ROOT:=/tmp/rt-conformance/hako-root}"
export HAKO_KERNEL HAKO_INITRD HAKO_BOOT_TIMEOUT HAKO_ROOT
exec "$HAKO_BIN" "$@"
