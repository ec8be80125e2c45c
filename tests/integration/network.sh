#!/usr/bin/env bash
# Networking: the VM's NICs mirror the container's network namespace (issue 10). Through the OCI
# CLI with namespaces the test makes, then through Docker (its default bridge, -p, a user-defined
# network with its embedded DNS) and podman (its CNI bridge, -p), each daemon in a network
# namespace of its own so that no bridge, veth or firewall rule lands on the host's network.
# Traffic goes only to loopback and to addresses inside namespaces made here.
# usage: network.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD point at the guest image). TAP.
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=$(readlink -f "${1:?usage: network.sh HAKO_BINARY}")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }

work=$(mktemp -d /tmp/hnet.XXXXXX)
root=$work/root
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-$work/images}
export HAKO_BOOT_TIMEOUT=${HAKO_BOOT_TIMEOUT:-60}
unset HAKO_ROOT
. "$here/tap-lib.sh"
. "$here/clients-lib.sh"

# Namespaces: C (the container's host side) and P (a peer) joined by a veth, both made here.
C=hkn-c-$$ P=hkn-p-$$ DKNS=hkn-dk-$$ PMNS=hkn-pm-$$
cleanup() {
  [ -n "${DK_WORK:-}" ] && dockerd_stop "$DK_WORK"
  command -v podman >/dev/null && pm rm -f -a -t 0 >/dev/null 2>&1
  for p in $(pgrep -f "$work"); do [ "$p" != $$ ] && kill -9 "$p" 2>/dev/null; done
  reap_under "$work"
  for ns in $C $P $DKNS $PMNS; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

hako() { "$HAKO" --root "$root" "$@"; }
inc() { ip netns exec "$C" "$@"; }
inp() { ip netns exec "$P" "$@"; }
# What hako added to C: its taps and macvtaps, and ingress qdiscs.
leftovers() { echo "$(inc ip -o link show | grep -c ' hako[0-9]') $(inc tc qdisc show | grep -c ingress)"; }

rootfs=$HAKO_IMAGE_ROOT/busybox/rootfs
[ -d "$rootfs" ] || "$HAKO" --root "$work/img-root" run --rm busybox true >/dev/null 2>&1
# bundle NAME SHELL_COMMAND [NETNS_PATH]: busybox with a tmpfs /tmp, in the namespace at the path.
bundle() {
  mkdir -p "$work/$1" && (cd "$work/$1" && crun spec) && python3 - "$work/$1/config.json" "$rootfs" "$2" "${3:-}" <<'PY'
import json, sys
path, rootfs, cmd, ns = sys.argv[1:]
c = json.load(open(path))
c["root"] = {"path": rootfs, "readonly": True}
c["process"]["args"] = ["sh", "-c", cmd]
c["process"]["terminal"] = False
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]})
for n in c["linux"]["namespaces"]:
    if n["type"] == "network" and ns:
        n["path"] = ns
json.dump(c, open(path, "w"))
PY
  echo "$work/$1"
}
# serve TEXT: the shell command for a busybox httpd serving TEXT on port 80.
serve() { echo "mkdir -p /tmp/w && echo $1 >/tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"; }
fetch() { timeout 10 wget -qO- "$1" 2>&1; } # URL, from where it runs, bounded

ip netns add "$C" && ip netns add "$P" || { echo "Bail out! cannot make network namespaces"; exit 1; }
ip link add eth0 netns "$C" mtu 1400 type veth peer name eth0 netns "$P" mtu 1400
inc ip link set lo up; inp ip link set lo up
inc ip addr add 10.231.0.2/24 dev eth0; inc ip addr add fd31::2/64 dev eth0 nodad; inc ip link set eth0 up
inp ip addr add 10.231.0.1/24 dev eth0; inp ip addr add fd31::1/64 dev eth0 nodad; inp ip link set eth0 up
inc ip route add default via 10.231.0.1
inc ip route add 10.232.0.0/16 via 10.231.0.1 metric 7
inp ip addr add 10.232.0.9/32 dev lo
mac=$(inc cat /sys/class/net/eth0/address)

# --- the OCI CLI: tcfilter (the default) -------------------------------------------------------
b=$(bundle web "ip -o link show eth0; ip -o addr show eth0; ip route; $(serve from-hako)" "/var/run/netns/$C")
t0=$(date +%s%N)
hako create --bundle "$b" web </dev/null >"$work/web.out" 2>&1; rc=$?
hako start web >/dev/null 2>&1
echo "# create + start with one interface: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "create in a namespace with a veth" 0 "$rc"
for _ in $(seq 50); do grep -q "default via" "$work/web.out" && break; sleep 0.1; done
out=$(cat "$work/web.out")
check "the guest's eth0 has the host side's MAC and MTU" "1 1" \
  "$(grep -c "eth0.*mtu 1400" <<<"$out") $(grep -c "ether $mac" <<<"$out")"
check "...its IPv4 and IPv6 addresses" "1 1" \
  "$(grep -c 'inet 10.231.0.2/24' <<<"$out") $(grep -c 'inet6 fd31::2/64' <<<"$out")"
check "...its default route and the other route with its metric" "1 1" \
  "$(grep -c 'default via 10.231.0.1 dev eth0' <<<"$out") $(grep -c '10.232.0.0/16 via 10.231.0.1 dev eth0 *metric 7' <<<"$out")"
check "the peer fetches from the container (IPv4)" "from-hako" "$(inp wget -qO- -T 10 http://10.231.0.2/ 2>&1)"
check "the peer fetches from the container (IPv6)" "from-hako" "$(inp wget -qO- -T 10 'http://[fd31::2]/' 2>&1)"
(inp sh -c "mkdir -p $work/pw && echo from-peer >$work/pw/index.html && exec busybox httpd -f -p 10.232.0.9:80 -h $work/pw" >/dev/null 2>&1 &) 2>/dev/null
sleep 0.3
check "the container fetches from the peer, through the mirrored route" "0 from-peer" \
  "$(hako exec web sh -c 'timeout 10 wget -qO- http://10.232.0.9/' 2>&1 | sed 's/^/0 /')"
check "a tap beside eth0 and an ingress qdisc on each" "1 2" "$(leftovers)"
hako delete --force web >/dev/null 2>&1
check "delete: no tap and no qdisc left in the namespace" "0 0" "$(leftovers)"

# A killed host process (and its VM) leaves its filter behind; the next container takes over.
b=$(bundle web2 "$(serve second)" "/var/run/netns/$C")
hako create --bundle "$b" --pid-file "$work/web2.pid" web2 </dev/null >/dev/null 2>&1 && hako start web2
pkill -9 -f "qemu-system.*$root/web2/"; kill -9 "$(cat "$work/web2.pid")" 2>/dev/null
sleep 1
hako delete --force web2 >/dev/null 2>&1
b=$(bundle web3 "$(serve third)" "/var/run/netns/$C")
hako create --bundle "$b" web3 </dev/null >/dev/null 2>&1 && hako start web3
check "after a kill -9, the next container in the namespace is reachable" "third" \
  "$(for _ in $(seq 20); do o=$(inp wget -qO- -T 2 http://10.231.0.2/ 2>/dev/null) && break; sleep 0.3; done; echo "$o")"
b=$(bundle busy "sleep 100" "/var/run/netns/$C")
hako create --bundle "$b" busy </dev/null >"$work/busy.err" 2>&1; rc=$?
check "a second sandbox on the same interface is refused" "1 1" \
  "$([ $rc -ne 0 ] && echo 1) $(grep -c 'already attached to another sandbox' "$work/busy.err")"
hako delete --force web3 >/dev/null 2>&1

# --- macvtap ------------------------------------------------------------------------------------
b=$(bundle mv "$(serve over-macvtap)" "/var/run/netns/$C")
hako --net-mode macvtap create --bundle "$b" --pid-file "$work/mv.pid" mv </dev/null >/dev/null 2>&1; rc=$?
hako start mv >/dev/null 2>&1
check "macvtap: the peer fetches from the container" "0 over-macvtap" \
  "$rc $(for _ in $(seq 20); do o=$(inp wget -qO- -T 2 http://10.231.0.2/ 2>/dev/null) && break; sleep 0.3; done; echo "$o")"
check "macvtap: one macvtap on eth0, no qdisc" "1 0" "$(leftovers)"
pkill -9 -f "qemu-system.*$root/mv/"; kill -9 "$(cat "$work/mv.pid")" 2>/dev/null
sleep 1
hako delete --force mv >/dev/null 2>&1
b=$(bundle mv2 "$(serve macvtap-again)" "/var/run/netns/$C")
hako --net-mode macvtap create --bundle "$b" mv2 </dev/null >"$work/mv2.err" 2>&1; rc=$?
hako start mv2 >/dev/null 2>&1
check "macvtap: a killed sandbox's macvtap is reclaimed by the next" "0 macvtap-again" \
  "$rc $(for _ in $(seq 20); do o=$(inp wget -qO- -T 2 http://10.231.0.2/ 2>/dev/null) && break; sleep 0.3; done; echo "$o")"
hako delete --force mv2 >/dev/null 2>&1
check "macvtap: delete takes it away" "0 0" "$(leftovers)"
check "--net-mode none: only the loopback" "lo" \
  "$(hako --net-mode none run --bundle "$(bundle none "ls /sys/class/net | grep -v sit" "/var/run/netns/$C")" none 2>&1 </dev/null)"

# --- bad input: a clear error at create, nothing left behind ------------------------------------
inc ip tuntap add mode tun name tun7 && inc ip link set tun7 up
b=$(bundle tun "true" "/var/run/netns/$C")
hako create --bundle "$b" tun </dev/null >"$work/tun.err" 2>&1; rc=$?
check "an interface tcfilter cannot mirror (a tun): create fails, one line naming it" "1 1 1" \
  "$([ $rc -ne 0 ] && echo 1) $(grep -c 'tun7 (tun, link type 65534) is not Ethernet' "$work/tun.err") $(wc -l <"$work/tun.err")"
check "...no tap, no qdisc, no container, no VM left" "0 0 0 0" \
  "$(leftovers) $(hako list -q | wc -l) $(pgrep -fc "qemu-system.*$root/")"
inc ip link del tun7
b=$(bundle nons "true" "$work/no-such-netns")
hako create --bundle "$b" nons </dev/null >"$work/nons.err" 2>&1; rc=$?
check "a network namespace path that does not exist: a clear error" "1 1" \
  "$([ $rc -ne 0 ] && echo 1) $(grep -c "network namespace $work/no-such-netns: No such file" "$work/nons.err")"
inc ip addr add 127.0.0.5/8 dev eth0 scope global
b=$(bundle lo5 "true" "/var/run/netns/$C")
hako create --bundle "$b" lo5 </dev/null >"$work/lo5.err" 2>&1; rc=$?
check "an address the guest refuses (a loopback one on eth0): a clear error" "1 1" \
  "$([ $rc -ne 0 ] && echo 1) $(grep -c 'the guest could not set up eth0: adding the address 127.0.0.5/8' "$work/lo5.err")"
check "...nothing left behind" "0 0 0 0" "$(leftovers) $(hako list -q | wc -l) $(pgrep -fc "qemu-system.*$root/")"
inc ip addr del 127.0.0.5/8 dev eth0
b=$(bundle hostnet "true")
python3 - "$b/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
json.dump(c, open(sys.argv[1], "w"))
PY
hako create --bundle "$b" hostnet </dev/null >"$work/hostnet.err" 2>&1; rc=$?
check "host networking (no network namespace) is refused" "1 1" \
  "$([ $rc -ne 0 ] && echo 1) $(grep -c "share the host's network namespace" "$work/hostnet.err")"

# --- Docker: its default bridge, -p, a user-defined network with its DNS -------------------------
if command -v dockerd >/dev/null; then
  ip netns add "$DKNS" && ip -n "$DKNS" link set lo up
  DK_WORK=$work/dk
  mkdir -p "$DK_WORK"
  hako_runtime_wrapper "$DK_WORK/hako-runtime" "$HAKO"
  cat >"$DK_WORK/daemon.json" <<JSON
{"runtimes": {"hako": {"path": "$DK_WORK/hako-runtime"}}, "bip": "10.233.0.1/24", "ip6tables": false}
JSON
  nsenter --net="/var/run/netns/$DKNS" dockerd --config-file "$DK_WORK/daemon.json" --data-root "$DK_WORK/data" \
    --exec-root "$DK_WORK/x" --pidfile "$DK_WORK/docker.pid" -H "unix://$DK_WORK/d.sock" >"$DK_WORK/dockerd.log" 2>&1 &
  for _ in $(seq 150); do dk info >/dev/null 2>&1 && break; sleep 0.2; done
  img=hako-test/busybox:latest
  busybox_image_archive "$HAKO" "$work/img.tar" "$img" && dk load -i "$work/img.tar" >/dev/null
  check "docker: dockerd (in its own namespace) runs, the image loaded" 0 "$?"
  t0=$(date +%s%N)
  dk run -d --name hweb --runtime hako "$img" sh -c "$(serve hako-on-bridge)" >/dev/null 2>"$work/err"
  echo "# docker run -d (bridge) with hako: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  hip=$(dk inspect -f '{{.NetworkSettings.IPAddress}}' hweb 2>/dev/null)
  check "docker: a hako container on the default bridge has its address" "yes" \
    "$(case $hip in 10.233.0.*) echo yes;; *) echo "no: '$hip' $(cat "$work/err")";; esac)"
  check "docker: a runc container fetches from the hako container" "hako-on-bridge" \
    "$(dk run --rm "$img" timeout 10 wget -qO- "http://$hip/" 2>&1)"
  dk run -d --name rweb "$img" sh -c "$(serve runc-on-bridge)" >/dev/null 2>&1
  rip=$(dk inspect -f '{{.NetworkSettings.IPAddress}}' rweb 2>/dev/null)
  check "docker: a hako container fetches from a runc container" "runc-on-bridge" \
    "$(dk run --rm --runtime hako "$img" timeout 10 wget -qO- "http://$rip/" 2>&1)"
  dk run -d --name pub -p 127.0.0.1:18080:80 --runtime hako "$img" sh -c "$(serve published)" >/dev/null 2>&1
  check "docker run -p: the host's port reaches the hako container" "published" \
    "$(for _ in $(seq 30); do o=$(nsenter --net="/var/run/netns/$DKNS" wget -qO- -T 2 http://127.0.0.1:18080/ 2>/dev/null) && break; sleep 0.3; done; echo "$o")"
  dk network create --subnet 10.234.0.0/24 hnet >/dev/null 2>&1
  dk run -d --name named --network hnet "$img" sh -c "$(serve found-by-name)" >/dev/null 2>&1
  out=$(dk run --rm --network hnet --runtime hako "$img" sh -c \
    'a=$(nslookup named 2>/dev/null | awk "/^Name:/ {f=1} f && /^Address/ {print \$2; exit}"); echo "$a"; timeout 10 wget -qO- "http://$a/"' 2>&1)
  check "docker: a user-defined network, the name resolved by Docker's embedded DNS (relayed)" "found-by-name" \
    "$(tail -1 <<<"$out")"
  dk network connect hnet hweb >/dev/null 2>&1
  check "docker network connect: the running hako container gets a second interface" "eth1 yes" \
    "$(for _ in $(seq 50); do o=$(dk exec hweb ip -o -4 addr show 2>/dev/null | awk '$2 != "lo" && $4 ~ /^10[.]234[.]0[.]/ {print $2, "yes"}') && [ -n "$o" ] && break; sleep 0.2; done; echo "$o")"
  nip=$(dk inspect -f '{{(index .NetworkSettings.Networks "hnet").IPAddress}}' hweb 2>/dev/null)
  check "...and answers on it" "hako-on-bridge" \
    "$(dk run --rm --network hnet "$img" timeout 10 wget -qO- "http://$nip/" 2>&1)"
  dk run --rm --network host --runtime hako "$img" true >/dev/null 2>"$work/err"; rc=$?
  check "docker --network host is refused with a clear error" "1 1" \
    "$([ $rc -ne 0 ] && echo 1) $(grep -c "share the host's network namespace" "$work/err")"
  dk rm -f hweb rweb pub named >/dev/null 2>&1
  check "docker: nothing of hako left in dockerd's namespace" "0" \
    "$(ip -n "$DKNS" -o link show | grep -c ' hako[0-9]')"
  dockerd_stop "$DK_WORK"; DK_WORK=
else
  echo "# SKIP docker: dockerd not installed"
fi

# --- podman: its CNI bridge and -p ----------------------------------------------------------------
pm() {
  nsenter --net="/var/run/netns/$PMNS" podman --root "$work/pm/storage" --runroot "$work/pm/run" \
    --tmpdir "$work/pm/tmp" --storage-driver vfs --cgroup-manager cgroupfs --events-backend file \
    --runtime "${PM_RUNTIME:-$work/pm/hako-runtime}" "$@"
}
if command -v podman >/dev/null; then
  ip netns add "$PMNS" && ip -n "$PMNS" link set lo up
  mkdir -p "$work/pm"
  hako_runtime_wrapper "$work/pm/hako-runtime" "$HAKO"
  [ -f "$work/img.tar" ] || busybox_image_archive "$HAKO" "$work/img.tar" hako-test/busybox:latest
  pm load -i "$work/img.tar" >/dev/null 2>&1
  R=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
  pimg=localhost/hako-test/busybox:latest
  pm run -d --name pw -p 18081:80 "${R[@]}" "$pimg" sh -c "$(serve podman-hako)" >/dev/null 2>"$work/err"
  pip=$(pm inspect -f '{{.NetworkSettings.IPAddress}}' pw 2>/dev/null)
  check "podman: the default network's address, reachable from podman's namespace" "podman-hako" \
    "$(for _ in $(seq 30); do o=$(nsenter --net="/var/run/netns/$PMNS" wget -qO- -T 2 "http://$pip/" 2>/dev/null) && break; sleep 0.3; done; echo "$o")"
  check "podman run -p: the published port reaches the hako container" "podman-hako" \
    "$(nsenter --net="/var/run/netns/$PMNS" wget -qO- -T 5 http://127.0.0.1:18081/ 2>&1)"
  check "podman: a runc container fetches from it" "podman-hako" \
    "$(PM_RUNTIME=runc pm run --rm "${R[@]}" "$pimg" timeout 10 wget -qO- "http://$pip/" 2>&1)"
  pm rm -f -t 0 pw >/dev/null 2>&1
else
  echo "# SKIP podman: not installed"
fi

tap_done
