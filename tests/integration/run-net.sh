#!/usr/bin/env bash
# Networking of `hako run` (docs/networking.md): the default user network (slirp4netns NAT,
# the host filtered out), -p, --network none and ns:PATH, bad input, kill -9. Every case boots
# real microVMs. Traffic goes only to loopback and to network namespaces this script makes
# (a "world" namespace behind a veth pair with a private /30); DNS too (a resolver of ours in that
# namespace, seen through a private mount namespace's /etc/resolv.conf).
# usage: run-net.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD must point at the guest image)
# Prints TAP.
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=${1:?usage: run-net.sh HAKO_BINARY}
HAKO=$(readlink -f "$HAKO")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
. "$here/tap-lib.sh"

work=$(mktemp -d /tmp/hako-net.XXXXXX)
export HAKO_ROOT=$work/state
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
export HAKO_BOOT_TIMEOUT=${HAKO_BOOT_TIMEOUT:-60}
tag=hkn$(( $$ % 100000 ))           # names of our namespaces and links (<= 15 characters)
sub=$(( $$ % 200 + 20 ))            # 10.<sub>.1.0/30: host <-> world; 10.<sub>.2.0/24: ns:PATH test
h_ip=10.$sub.1.1 w_ip=10.$sub.1.2 n_ip=10.$sub.2.1 q_ip=10.$sub.2.2
cg=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)/hako-net
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for p in $(pgrep -f "$work" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  for ns in "${tag}w" "${tag}n" "${tag}q"; do ip netns del "$ns" 2>/dev/null; done
  ip link del "${tag}h" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

runh() { out=$("$HAKO" "$@" 2>"$work/err"); rc=$?; err=$(cat "$work/err"); }
# A live (not zombie) slirp4netns, or the processes in the guard's cgroup.
slirps() { ps -eo stat=,comm= | awk '$2 == "slirp4netns" && $1 !~ /^Z/' | wc -l; }
in_cgroup() { cat "$cg/cgroup.procs" 2>/dev/null | wc -l; }
# HTTP/1.0 GET from inside the container (busybox nc; Debian's static busybox wget crashes).
get='get() { printf "GET / HTTP/1.0\r\n\r\n" | timeout 5 nc "$1" "$2" 2>&1 | tail -1; }'

mkdir -p "$work/www" "$work/host-www"
echo from-world > "$work/www/index.html"
echo from-host > "$work/host-www/index.html"

# --- the world: a namespace of ours behind a veth, with a web server and a DNS resolver --------
ip netns add "${tag}w" && ip link add "${tag}h" type veth peer name "${tag}x" &&
  ip link set "${tag}x" netns "${tag}w" && ip addr add "$h_ip/30" dev "${tag}h" && ip link set "${tag}h" up &&
  ip -n "${tag}w" addr add "$w_ip/30" dev "${tag}x" && ip -n "${tag}w" link set "${tag}x" up &&
  ip -n "${tag}w" link set lo up || { echo "Bail out! cannot make the test namespaces"; exit 1; }
ip netns exec "${tag}w" busybox httpd -f -p "$w_ip:80" -h "$work/www" & pids+=($!)
# A DNS server that answers every A query with 10.<sub>.9.9.
cat > "$work/dns.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 53))
ans = socket.inet_aton(sys.argv[2])
for _ in range(1000):
    q, peer = s.recvfrom(512)
    end = q.index(b"\0", 12) + 5
    s.sendto(q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:end] +
             b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + ans, peer)
PY
ip netns exec "${tag}w" python3 "$work/dns.py" "$w_ip" "10.$sub.9.9" & pids+=($!)
# Servers of the host: on its loopback, and on its own address (the host side of the veth).
busybox httpd -f -p "127.0.0.1:18931" -h "$work/host-www" & pids+=($!)
busybox httpd -f -p "$h_ip:18932" -h "$work/host-www" & pids+=($!)
sleep 0.5
check "the host reaches its own servers (sanity)" "from-host:from-host:from-world" \
  "$(curl -s -m 3 http://127.0.0.1:18931/):$(curl -s -m 3 http://$h_ip:18932/):$(curl -s -m 3 http://$w_ip/)"

runh check
check "hako check: the user network works here" 1 "$(grep -c '^user network: ok' <<<"$out")"
check "hako check: tcfilter and macvtap are probed" 2 "$(grep -cE '^(tcfilter|macvtap): +(ok|no) ' <<<"$out")"

# --- the user network ---------------------------------------------------------------------------
runh run --rm busybox sh -c "$get"'; ip -o -4 addr show eth0 | awk "{print \$4}"; ip route | grep default | cut -d" " -f1-3; cat /etc/resolv.conf | head -1; get '"$w_ip"' 80'
check "user network: the guest's address" "10.0.2.100/24" "$(sed -n 1p <<<"$out")"
check "user network: default route via the NAT" "default via 10.0.2.2" "$(sed -n 2p <<<"$out")"
check "user network: resolv.conf names the forwarder" "nameserver 10.0.2.3" "$(sed -n 3p <<<"$out")"
check "user network: outbound HTTP to a server of ours" "from-world" "$(sed -n 4p <<<"$out")"
check "user network: exit 0, nothing on stderr" "0:" "$rc:$err"

# The host is out of reach: its loopback (through the gateway, which slirp4netns maps there by
# default), its own address. Each attempt fails at once (refused by the filter, not a timeout).
runh run --rm busybox sh -c "$get"'; t0=$(date +%s)
  echo "lo:$(get 10.0.2.2 18931)"; echo "own:$(get '"$h_ip"' 18932)"; echo "world:$(get '"$w_ip"' 80)"
  echo "secs:$(( $(date +%s) - t0 ))"'
check "the host's loopback is not reachable through the gateway" 0 "$(grep -c 'from-host' <<<"$(grep '^lo:' <<<"$out")")"
check "the host's own address is not reachable" 0 "$(grep -c 'from-host' <<<"$(grep '^own:' <<<"$out")")"
check "... while the world still is (same container)" "world:from-world" "$(grep '^world:' <<<"$out")"
secs=$(sed -n 's/^secs://p' <<<"$out")
ok_fast=$([ -n "$secs" ] && [ "$secs" -le 3 ] && echo fast || echo "slow: ${secs}s")
check "refused connections fail at once" fast "$ok_fast"

# DNS: the guest's resolver is slirp4netns's forwarder to the host's (ours, in the world).
echo "nameserver $w_ip" > "$work/resolv.conf"
out=$(unshare -m --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh \
  "$work/resolv.conf" "$HAKO" run --rm busybox nslookup some.name.test 2>&1); rc=$?
check "DNS through the user network" found "$(grep -q "Address: 10.$sub.9.9" <<<"$out" && echo found || echo "$out")"

# A resolver on the host's own loopback (systemd-resolved's 127.0.0.53 is the usual one): its
# port 53 is the filter's one exception.
python3 "$work/dns.py" 127.0.0.153 "10.$sub.9.8" & pids+=($!)
echo "nameserver 127.0.0.153" > "$work/resolv-lo.conf"
sleep 0.3
out=$(unshare -m --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh \
  "$work/resolv-lo.conf" "$HAKO" run --rm busybox nslookup other.name.test 2>&1); rc=$?
check "DNS through a resolver on the host's loopback" found "$(grep -q "Address: 10.$sub.9.8" <<<"$out" && echo found || echo "$out")"

# --- -p -----------------------------------------------------------------------------------------
printf '%s\n' '#include <netinet/in.h>' '#include <sys/socket.h>' \
  'int main(void) { char b[512]; struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5353)};' \
  '  int s = socket(AF_INET, SOCK_DGRAM, 0); socklen_t l = sizeof(a); bind(s, (void *)&a, sizeof(a));' \
  '  for (int i = 0; i < 100; i++) { int n = recvfrom(s, b, sizeof(b), 0, (void *)&a, &l);' \
  '    if (n > 0) sendto(s, b, n, 0, (void *)&a, l); } return 0; }' > "$work/udpecho.c"
mkdir -p "$work/bin" && gcc -static -O1 -o "$work/bin/udpecho" "$work/udpecho.c"
"$HAKO" run --rm -p 18941:8080 -p 127.0.0.1:18942:8080 -p 18943:5353/udp -v "$work/bin:/xbin:ro" busybox \
  sh -c 'mkdir /w && echo from-ctr > /w/index.html && httpd -p 8080 -h /w && (/xbin/udpecho &) && sleep 40' \
  >"$work/p.out" 2>&1 & ppid=$!; pids+=($ppid)
for i in $(seq 1 100); do r=$(curl -s -m 1 http://127.0.0.1:18941/) && [ "$r" = from-ctr ] && break; sleep 0.2; done
check "-p HOST:CTR: the host's 127.0.0.1 reaches the container's server" "from-ctr" "$r"
check "-p 127.0.0.1:HOST:CTR" "from-ctr" "$(curl -s -m 3 http://127.0.0.1:18942/)"
check "-p IP:HOST:CTR binds that address only" "127.0.0.1:18942" "$(ss -Hltn 'sport = :18942' | awk '{print $4}')"
# UDP from another machine (our world namespace): the guard refuses datagrams to the host itself,
# so the host's own processes get no UDP answers (docs/networking.md).
udp=$(ip netns exec "${tag}w" python3 -c '
import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
for _ in range(10):
    s.sendto(b"ping-udp", (sys.argv[1], 18943))
    try: print(s.recv(100).decode()); break
    except OSError: pass' "$h_ip")
check "-p HOST:CTR/udp (a client on another machine)" "ping-udp" "$udp"
kill -TERM $ppid 2>/dev/null; wait $ppid 2>/dev/null
check "after the run: no slirp4netns left, nothing in its cgroup" "0:0" "$(slirps):$(in_cgroup)"

# --- --network none, ns:PATH ------------------------------------------------------------------
runh run --rm --network none busybox ls /sys/class/net
check "--network none: only the loopback (and the kernel's sit0)" "lo sit0" "$(echo $out)"

ip netns add "${tag}n" && ip netns add "${tag}q" && ip link add "${tag}a" netns "${tag}n" type veth peer name "${tag}b" netns "${tag}q" &&
  ip -n "${tag}n" addr add "$n_ip/24" dev "${tag}a" && ip -n "${tag}n" link set "${tag}a" up &&
  ip -n "${tag}q" addr add "$q_ip/24" dev "${tag}b" && ip -n "${tag}q" link set "${tag}b" up || not_ok "ns:PATH setup"
"$HAKO" run --rm --network "ns:/run/netns/${tag}n" busybox \
  sh -c 'mkdir /w && echo from-ns-ctr > /w/index.html && httpd -p 8080 -h /w && sleep 30' >"$work/n.out" 2>&1 &
npid=$!; pids+=($npid)
for i in $(seq 1 100); do r=$(ip netns exec "${tag}q" curl -s -m 1 "http://$n_ip:8080/") && [ "$r" = from-ns-ctr ] && break; sleep 0.2; done
check "--network ns:PATH: a peer of that namespace reaches the container" "from-ns-ctr" "$r"
kill -TERM $npid 2>/dev/null; wait $npid 2>/dev/null

# --- bad input: one line, exit 125, nothing left ------------------------------------------------
for args in "-p 80" "-p 0:80" "-p 1.2.3:80:80" "-p 80:80/sctp" "-p [::1]:18944:80" "--network ns:/nonexistent/ns" \
            "--network host" "--network bridge" "--network none -p 8080:80"; do
  # shellcheck disable=SC2086
  runh run --rm $args busybox true
  check "bad: $args: exit 125, one line" "125:1" "$rc:$(grep -c . <<<"$err")"
done
busybox httpd -f -p "127.0.0.1:18945" -h "$work/host-www" & pids+=($!)
sleep 0.2
runh run --rm -p 18945:80 busybox true
check "bad: a host port in use: exit 125, one line" "125:1" "$rc:$(grep -c . <<<"$err")"
check "bad input left no state, no slirp4netns, nothing in its cgroup" "0:0:0" \
  "$(ls -A "$HAKO_ROOT" 2>/dev/null | wc -l):$(slirps):$(in_cgroup)"

# --- kill -9 ------------------------------------------------------------------------------------
"$HAKO" run --rm busybox sleep 60 >/dev/null 2>&1 & kpid=$!
for i in $(seq 1 100); do [ "$(slirps)" -ge 1 ] && [ -n "$(pgrep -f "qemu-system.*$work" 2>/dev/null)" ] && break; sleep 0.2; done
check "kill -9: slirp4netns runs in the guard's cgroup meanwhile" "1:1" "$(slirps):$(in_cgroup)"
kill -9 $kpid; wait $kpid 2>/dev/null
for i in $(seq 1 25); do [ "$(slirps):$(in_cgroup)" = "0:0" ] && break; sleep 0.2; done
check "kill -9 of hako run: no slirp4netns, nothing in its cgroup" "0:0" "$(slirps):$(in_cgroup)"
runh run --rm --network none busybox true
check "the next run cleans up the killed one's state" "0:0" "$rc:$(ls -A "$HAKO_ROOT" | wc -l)"

tap_done
