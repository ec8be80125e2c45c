#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer target with clang directly (no meson needed) and runs it.
#
#   tests/fuzz/run-libfuzzer.sh [SECONDS] [extra libFuzzer args...]
#
# New inputs go to $WORK (default /tmp/hako-fuzz/ttrpc-frames), seeded from the committed corpus;
# crashes to $WORK/../artifacts/. To keep a found input, minimize it and copy it into
# tests/fuzz/corpus/ttrpc-frames/ as found-<what>. Needs clang and libclang-rt-dev
# (apt-get install -y clang libclang-rt-14-dev). The meson way: CC=clang meson setup B -Dfuzz=true.
set -eu
secs=${1:-60}
[ $# -gt 0 ] && shift
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/hako-fuzz}
work=${WORK:-$out/ttrpc-frames}
mkdir -p "$out/gen" "$work" "$out/artifacts"
protoc-c --proto_path="$top/src/proto" --c_out="$out/gen" "$top/src/proto/ttrpc.proto" "$top/src/proto/agent.proto"
flags="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
# shellcheck disable=SC2086
clang -std=gnu11 -D_GNU_SOURCE $flags -I"$out/gen" -I"$top/src/proto" -I"$top/src/base" -I"$top/tests/fuzz" \
        "$top/tests/fuzz/fuzz-ttrpc-frames.c" "$top/tests/fuzz/agent-methods.c" \
        "$top/src/proto/ttrpc.c" "$top/src/proto/arena.c" "$out/gen/ttrpc.pb-c.c" "$out/gen/agent.pb-c.c" \
        -lprotobuf-c -o "$out/fuzz-ttrpc-frames"
exec "$out/fuzz-ttrpc-frames" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -dict="$top/tests/fuzz/ttrpc-frames.dict" -artifact_prefix="$out/artifacts/" "$@" \
        "$work" "$top/tests/fuzz/corpus/ttrpc-frames"
