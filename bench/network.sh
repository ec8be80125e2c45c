#!/usr/bin/env bash
# Network benchmarks (issue 10): hako, runc and runsc (gVisor) side by side in one run, as Docker
# runtimes on one private dockerd whose default bridge lives in a network namespace of its own
# (the "host" below is that namespace: traffic never leaves namespaces made here).
#   1. TCP throughput host -> container and container -> host (iperf3, 5 s each way);
#   2. request latency: 64-byte request/response round trips over one TCP connection to an echo
#      server in the container (p50/p99), and the TCP handshake alone (connect, p50/p99);
#   3. the time one interface adds to a container's start: `docker run --rm IMAGE true` on the
#      bridge against --network none, interleaved.
# Rounds interleave the runtimes; medians over rounds.
# usage: bench/network.sh [BUILD_DIR] [ROUNDS]   (HAKO_KERNEL/HAKO_INITRD as for the tests)
set -uo pipefail
build=${1:-build}
rounds=${2:-3}
hako=$(readlink -f "$build/src/cli/hako")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/hbn.XXXXXX)
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-/var/tmp/hako-test-images}
. "$here/../tests/integration/clients-lib.sh"
. "$here/lib.sh"
NS=hbn-$$
runtimes=(runc runsc hako)
command -v runsc >/dev/null || runtimes=(runc hako)
cleanup() {
  set +e
  [ -n "${DK_WORK:-}" ] && dockerd_stop "$DK_WORK" >/dev/null 2>&1
  ip netns del "$NS" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
onhost() { nsenter --net="/var/run/netns/$NS" "$@"; }

# The image: the built-in busybox with iperf3 and its libraries.
rootfs=$HAKO_IMAGE_ROOT/busybox/rootfs
[ -d "$rootfs" ] || "$hako" --root "$work/img-root" run --rm busybox true >/dev/null 2>&1
cp -a "$rootfs" "$work/rootfs"
for f in $(which iperf3) $(ldd "$(which iperf3)" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
  mkdir -p "$work/rootfs$(dirname "$f")" && cp -L "$f" "$work/rootfs$f"
done
# An echo server of its own: busybox's `nc -ll -e cat` forks per connection (TCG makes that the
# measurement) and its cat fails on gVisor's non-blocking sockets.
cat >"$work/echo.c" <<'C'
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7)};
        int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 128) < 0)
                return 1;
        for (;;) {
                int c = accept(l, NULL, NULL);
                char buf[4096];
                for (;;) {
                        struct pollfd p = {.fd = c, .events = POLLIN};
                        ssize_t n = read(c, buf, sizeof(buf));
                        if (n < 0) {
                                poll(&p, 1, -1);
                                continue;
                        }
                        if (n == 0 || write(c, buf, n) != n)
                                break;
                }
                close(c);
        }
}
C
gcc -static -O2 -o "$work/rootfs/bin/echo-server" "$work/echo.c"
python3 "$here/../tests/integration/mkimage.py" "$work/rootfs" hako-bench/net:1 "$work/img.tar"

ip netns add "$NS" && ip -n "$NS" link set lo up
DK_WORK=$work/dk
mkdir -p "$DK_WORK"
hako_runtime_wrapper "$DK_WORK/hako-runtime" "$hako"
cat >"$DK_WORK/daemon.json" <<JSON
{"runtimes": {"hako": {"path": "$DK_WORK/hako-runtime"},
              "runsc": {"path": "$(command -v runsc || echo runsc)", "runtimeArgs": ["--ignore-cgroups", "--network=host"]}},
 "bip": "10.236.0.1/24", "ip6tables": false}
JSON
onhost dockerd --config-file "$DK_WORK/daemon.json" --data-root "$DK_WORK/data" --exec-root "$DK_WORK/x" \
  --pidfile "$DK_WORK/docker.pid" -H "unix://$DK_WORK/d.sock" >"$DK_WORK/dockerd.log" 2>&1 &
for _ in $(seq 150); do dk info >/dev/null 2>&1 && break; sleep 0.2; done
dk load -i "$work/img.tar" >/dev/null
img=hako-bench/net:1

# A round-trip client: N sequential 64-byte exchanges over one connection, or N connections.
cat >"$work/rtt.py" <<'PY'
import socket, sys, time
host, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
msg = b"x" * 63 + b"\n"
def exchange(s):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(4096)
        if not d:
            raise SystemExit("closed")
        got += d
lat = []
if mode == "persistent":
    s = socket.create_connection((host, 7), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(20):
        exchange(s)
    for _ in range(n):
        t = time.perf_counter(); exchange(s); lat.append(time.perf_counter() - t)
else:
    # The handshake alone: the guest kernel answers it (the echo server's fork per connection
    # would measure process creation, which TCG makes slow, not the network).
    for _ in range(n):
        t = time.perf_counter()
        s = socket.create_connection((host, 7), timeout=10)
        lat.append(time.perf_counter() - t)
        s.close()
lat.sort()
print("%d %d" % (lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.99)] * 1e6))
PY

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
# Mean of iperf3's per-second intervals (not its summary: runsc's hostinet loses the final
# control exchange, so the summary never comes), in Mbit/s.
mbps() {
  awk '/sec/ && !/sender|receiver/ && $8 ~ /bits\/sec/ {v = $7; u = $8; if (u ~ /^G/) v *= 1000; else if (u ~ /^K/) v /= 1000;
       s += v; n++} END {if (n) printf "%d\n", s / n; else print "fail"}'
}

declare -A up down rtt rtt99 conn conn99 start_net start_none
for r in "${runtimes[@]}"; do
  up[$r]= down[$r]= rtt[$r]= rtt99[$r]= conn[$r]= conn99[$r]= start_net[$r]= start_none[$r]=
done
for round in $(seq "$rounds"); do
  for r in "${runtimes[@]}"; do
    dk run -d --name "srv-$r" --runtime "$r" "$img" sh -c 'iperf3 -s >/dev/null 2>&1 & exec echo-server' >/dev/null
    ip=$(dk inspect -f '{{.NetworkSettings.IPAddress}}' "srv-$r")
    for _ in $(seq 50); do onhost python3 "$work/rtt.py" "$ip" 1 persistent >/dev/null 2>&1 && break; sleep 0.2; done
    for _ in $(seq 50); do onhost timeout 10 iperf3 -c "$ip" -t 1 2>/dev/null | grep -q sec && break; sleep 0.2; done
    up[$r]+=" $(onhost timeout 20 iperf3 -c "$ip" -t 5 2>/dev/null | mbps)"
    down[$r]+=" $(onhost timeout 20 iperf3 -c "$ip" -t 5 -R 2>/dev/null | mbps)"
    read -r p50 p99 < <(onhost python3 "$work/rtt.py" "$ip" 2000 persistent)
    rtt[$r]+=" $p50"; rtt99[$r]+=" $p99"
    read -r p50 p99 < <(onhost python3 "$work/rtt.py" "$ip" 300 connect)
    conn[$r]+=" $p50"; conn99[$r]+=" $p99"
    dk rm -f "srv-$r" >/dev/null
    t0=$(now); dk run --rm --runtime "$r" "$img" true; t1=$(now)
    dk run --rm --runtime "$r" --network none "$img" true; t2=$(now)
    start_net[$r]+=" $(ms "$t0" "$t1")"; start_none[$r]+=" $(ms "$t1" "$t2")"
  done
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
echo "## network: hako, runc, runsc (gVisor $(runsc --version 2>/dev/null | head -1 | awk '{print $3}')) as Docker runtimes; $rounds rounds, $(nproc) cores"
printf '%-7s %12s %12s %10s %10s %12s %12s %10s %10s %8s\n' runtime "host->ctr" "ctr->host" "rtt p50" "rtt p99" "conn p50" "conn p99" "start" "start" "+iface"
printf '%-7s %12s %12s %10s %10s %12s %12s %10s %10s %8s\n' "" "Mbit/s" "Mbit/s" "us" "us" "us" "us" "bridge ms" "none ms" "ms"
for r in "${runtimes[@]}"; do
  sn=$(med "${start_net[$r]}"); s0=$(med "${start_none[$r]}")
  printf '%-7s %12s %12s %10s %10s %12s %12s %10s %10s %8s\n' "$r" "$(med "${up[$r]}")" "$(med "${down[$r]}")" \
    "$(med "${rtt[$r]}")" "$(med "${rtt99[$r]}")" "$(med "${conn[$r]}")" "$(med "${conn99[$r]}")" "$sn" "$s0" \
    "$(awk -v a="$sn" -v b="$s0" 'BEGIN {print a - b}')"
done
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
for r in "${runtimes[@]}"; do
  [ "$r" = hako ] && continue
  echo "hako/$r: host->ctr $(ratio "${up[hako]}" "${up[$r]}"), ctr->host $(ratio "${down[hako]}" "${down[$r]}"), rtt p50 $(ratio "${rtt[hako]}" "${rtt[$r]}")"
done
