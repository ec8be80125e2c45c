#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds a libFuzzer target with clang directly (no meson needed; all the code it reaches is
# instrumented) and runs it.
#
#   tests/fuzz/run-libfuzzer.sh [TARGET] [SECONDS] [extra libFuzzer args...]
#
# TARGET is ttrpc-frames (the default), shim-requests, shim-guest or config; a first argument that
# is a number is SECONDS, for ttrpc-frames. New inputs go to $WORK (default /tmp/hako-fuzz/TARGET),
# seeded from the committed corpus; crashes to $OUT/artifacts/ (OUT defaults to /tmp/hako-fuzz).
# To keep a found input, minimize it (-minimize_crash=1, or -merge=1 for coverage) and copy it into
# tests/fuzz/corpus/TARGET/ as found-<what>. Needs clang and libclang-rt-dev (apt-get install -y
# clang libclang-rt-14-dev); the shim targets also need what src/shim/proto/gen.sh needs. The meson
# way: CC=clang meson setup B -Dfuzz=true && ninja -C B tests/fuzz/fuzz-TARGET.
set -eu
target=ttrpc-frames
case "${1:-}" in
"" | *[!0-9]*) [ $# -gt 0 ] && target=$1 && shift ;;
esac
secs=${1:-60}
[ $# -gt 0 ] && shift
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/hako-fuzz}
work=${WORK:-$out/$target}
# Generated code per target, so two targets can be built and run at once.
gen=$out/gen/$target
f=$top/tests/fuzz
s=$top/src
mkdir -p "$gen" "$work" "$out/artifacts"
protoc-c --proto_path="$s/proto" --c_out="$gen" "$s/proto/ttrpc.proto" "$s/proto/agent.proto"
proto="$s/proto/ttrpc.c $s/proto/arena.c $gen/ttrpc.pb-c.c $gen/agent.pb-c.c"
incs="-I$gen -I$s/proto -I$s/base -I$f"
libs="-lprotobuf-c"
shim_proto() {
        [ -f "$gen/containerd.pb-c.c" ] || "$s/shim/proto/gen.sh" "$gen" >/dev/null
        incs="$incs -I$gen/containerd-gen -I$s/shim/proto/compat -I$s/hv -I$s/runtime -I$s/shim"
        libs="$libs -ljansson"
}
case $target in
ttrpc-frames)
        srcs="$f/fuzz-ttrpc-frames.c $f/agent-methods.c $f/walk.c $proto"
        ;;
shim-requests)
        # shim_methods brings the whole shim with it: everything but main.c.
        shim_proto
        srcs="$f/fuzz-shim-requests.c $f/walk.c $proto $s/proto/ttrpc-server.c $gen/containerd.pb-c.c"
        for c in "$s"/base/*.c "$s"/hv/*.c "$s"/runtime/*.c "$s"/shim/*.c; do
                [ "$c" = "$s/shim/main.c" ] || srcs="$srcs $c"
        done
        ;;
shim-guest)
        shim_proto
        srcs="$f/fuzz-shim-guest.c $f/walk.c $proto $s/shim/metrics.c $gen/containerd.pb-c.c"
        ;;
config)
        incs="$incs -I$s/hv -I$s/runtime"
        libs="$libs -ljansson"
        srcs="$f/fuzz-config.c $f/walk.c $proto $s/runtime/hako-config.c"
        for c in "$s"/base/*.c; do
                srcs="$srcs $c"
        done
        ;;
*)
        echo "run-libfuzzer.sh: unknown target $target (ttrpc-frames, shim-requests, shim-guest, config)" >&2
        exit 2
        ;;
esac
# What meson's configure_file writes for the code that includes the build's config.h.
printf '#pragma once\n#define HAKO_DATADIR "/usr/local/share/hako"\n#define HAKO_LIBEXECDIR "/usr/local/libexec/hako"\n' \
        >"$gen/config.h"
flags="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
# shellcheck disable=SC2086
clang -std=gnu11 -D_GNU_SOURCE -DHAKO_VERSION='"fuzz"' $flags $incs $srcs $libs -o "$out/fuzz-$target"
dict=
[ -f "$f/$target.dict" ] && dict="-dict=$f/$target.dict"
# shellcheck disable=SC2086
exec "$out/fuzz-$target" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        $dict -artifact_prefix="$out/artifacts/" "$@" "$work" "$top/tests/fuzz/corpus/$target"
