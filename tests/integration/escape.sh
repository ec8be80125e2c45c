#!/usr/bin/env bash
# Escape attempts from a root container in the guest (issue 12, docs/security.md "Escape
# attempts"): a --privileged container (every capability, no seccomp, writable /proc/sys) and a
# default one try to read a host file outside the shared directory through the virtio-fs share
# (symlinks made in the guest and on the host, `..`, hard links, open_by_handle_at with the host's
# own file handle and guessed ones, bind mounts and a second mount of the share made in the guest),
# to write to a read-only volume (also after remounting it read-write), to reach a service on the
# host's 127.0.0.1 (also by routing 127.0.0.1 out of the guest's eth0), and to see or signal host
# processes. Every attempt must fail; afterwards the host's files under the test directory and its
# mount table are as before and nothing of ours runs. Traffic goes only to 127.0.0.1.
# usage: escape.sh HAKO_BINARY   (HAKO_KERNEL / HAKO_INITRD must point at the guest image)
# Prints TAP.
set -u
here=$(dirname "$(readlink -f "$0")")
HAKO=${1:?usage: escape.sh HAKO_BINARY}
HAKO=$(readlink -f "$HAKO")
[ -n "${HAKO_KERNEL:-}" ] && [ -n "${HAKO_INITRD:-}" ] || { echo "Bail out! HAKO_KERNEL/HAKO_INITRD not set"; exit 1; }
. "$here/tap-lib.sh"

work=$(mktemp -d /tmp/hako-escape.XXXXXX)
chmod 0755 "$work"
export HAKO_ROOT=$work/state
# A private image root: a write into the image's rootfs would show in the file listing below (and
# would not poison the images other suites use).
export HAKO_IMAGE_ROOT=$work/images
export HAKO_BOOT_TIMEOUT=${HAKO_BOOT_TIMEOUT:-60}
pids=()

# Every process of ours has $work in its command line (hako's --root, QEMU's and virtiofsd's
# state paths, the listener's directory).
ours() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = $$ ] && continue
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "$work" && echo -n "${p#/proc/} "
  done
}
# ... but for the loopback listener (timeout and python).
vms_left() {
  local p
  for p in $(ours); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q python3 || echo -n "$p "
  done
}
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for p in $(ours); do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

hako() { "$HAKO" --root "$work/state" "$@"; }
# The host's files under the test's directories: path, type, size, mode, links, owner, mtime,
# symlink target. The guest's scratch directory in the rw volume is left out (it writes there).
listing() {
  find "$work/host" "$work/images" -path "$work/host/share/scratch" -prune -o \
    -printf '%p %y %s %m %n %U:%G %T@ %l\n' | sort
}
# Lines of the first file not in the second.
only_in() { comm -23 <(sort "$1") <(sort "$2"); }

# --- the host side: a secret outside the share, the shares, a static helper ---------------------
token=hako-escape-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
secret=$work/host/secret
mkdir -p "$work/host/share/scratch" "$work/host/share/bin" "$work/host/share/chain" \
  "$work/host/share/chain2" "$work/host/ro/sub" "$work/host/outside" "$work/www"
printf '%s\n' "$token" > "$secret" && chmod 0600 "$secret"
echo keep > "$work/host/ro/keep.txt"
echo public-file > "$work/host/outside/public"
# Symlinks made on the host inside the share, pointing out of it: absolute, relative, a climb far
# above the root, a chain of relative links.
ln -s "$secret" "$work/host/share/hostlink"
ln -s ../secret "$work/host/share/rellink"
ln -s ../../../../../../../../../.. "$work/host/share/up"
ln -s ../chain2/b "$work/host/share/chain/a"
ln -s ../../secret "$work/host/share/chain2/b"
# A hard link made on the host into the share: the same file, so the guest reads it (by design).
ln "$work/host/outside/public" "$work/host/share/hardlinked"
if ! gcc -static -O1 -o "$work/host/share/bin/escape-helper" "$here/../escape/escape-helper.c" 2>"$work/gcc.err"; then
  echo "Bail out! cannot build the static helper: $(head -3 "$work/gcc.err")"; exit 1
fi
handle=$("$work/host/share/bin/escape-helper" encode "$secret")
printf '%s\n' "$handle" > "$work/host/share/handle.txt"
check "the host's file handle opens the secret on the host (the helper works)" "1" \
  "$("$work/host/share/bin/escape-helper" exact "$handle" "$work/host" | grep -c "OPENED .*$token")"

# The attacker: one script, run as root in a privileged and in a default container. Each attempt
# prints "name|exit code|output on one line".
cat > "$work/host/share/attack.sh" <<'SH'
t() { name=$1; shift; o=$( ( "$@" ) 2>&1 ); rc=$?; printf '%s|%s|%s\n' "$name" "$rc" "$(printf %s "$o" | tr '\n' ' ')"; }
S=/vol/scratch/$MODE
mkdir -p "$S" /mnt
# The helper runs from the container's own rootfs: a binary executed straight from a virtio-fs
# share crashes now and then in this guest when another process opens it meanwhile, which the
# handle brute force below does (a robustness bug of its own, not an escape).
cp /vol/bin/escape-helper /tmp/escape-helper && H=/tmp/escape-helper

# Host processes: the host writes their pids once it sees our VM.
i=0; while [ ! -s "/vol/scratch/pids.$MODE" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
for p in $(cat "/vol/scratch/pids.$MODE"); do
  if [ -e "/proc/$p" ]; then c=$(tr '\0' ' ' < "/proc/$p/cmdline"); e=1; else c=; e=0; fi
  kill -0 "$p" 2>/dev/null; echo "hostpid|$p|exists=$e kill=$?|$c"
done
echo "guestpids||$(ls /proc | grep -E '^[0-9]+$' | tr '\n' ' ')"
for f in /proc/[0-9]*/cmdline; do echo "cmdline||$(tr '\0' ' ' < "$f" 2>/dev/null)"; done

# Reading the secret through the share.
t sym_guest_abs sh -c "ln -s '$SECRET' $S/gl && cat $S/gl"
t sym_host_abs cat /vol/hostlink
t sym_host_rel cat /vol/rellink
t sym_host_up cat "/vol/up$SECRET"
t sym_host_chain cat /vol/chain/a
t sym_guest_chain sh -c "mkdir -p $S/d1/d2 && ln -s ../../../../../../../../.. $S/d1/d2/up && ln -s d1/d2/up $S/up2 && cat $S/up2$SECRET"
t dotdot_1 cat /vol/../secret
t dotdot_abs cat "/vol/../../../../../../..$SECRET"
t dotdot_rel sh -c 'cd /vol/chain && cat ../../secret ../../../secret ../../../../../../secret'
t hardlink_guest ln "$SECRET" "$S/hl"
t hardlink_guest_dotdot ln /vol/../secret "$S/hl2"
t hardlink_host cat /vol/hardlinked
dirs=/vol
if [ "$MODE" = priv ]; then
  mkdir -p /mnt/share /mnt/bind /mnt/rw
  t mount_share mount -t virtiofs "$(awk '$2 == "/vol" { print $1 }' /proc/mounts)" /mnt/share
  t share_top ls -A /mnt/share
  t share_find find /mnt/share -name "secret*"
  t share_dotdot cat /mnt/share/../secret "/mnt/share/vol/../../../../..$SECRET"
  t share_up sh -c "cat \$(find /mnt/share -name up -type l | sed 's|\$|$SECRET|')"
  t mount_bind mount --bind /vol /mnt/bind
  t bind_dotdot cat /mnt/bind/../secret "/mnt/bind/up$SECRET" /mnt/bind/rellink
  dirs="/vol /mnt/share /mnt/bind /"
fi
# Not through t: one line per directory and kind of handle.
$H try "$(cat /vol/handle.txt)" $dirs 2>&1; echo "handle|$?|"

# Writing to the read-only volume (and, privileged, to the image's rootfs).
t ro_touch touch /ro/new
t ro_append sh -c 'echo x >> /ro/keep.txt'
t ro_rm rm /ro/keep.txt
t ro_chmod chmod 0777 /ro/keep.txt
t ro_mkdir mkdir /ro/newdir
t ro_rename mv /ro/sub /ro/sub2
# The read-only file's handle opened on the read-write volume's mount (the same virtio-fs
# superblock): the guest's read-only flag is not in the way, the host's must be.
t ro_handle_reopen $H reopen /ro/keep.txt /vol
if [ "$MODE" = priv ]; then
  t ro_remount mount -o remount,rw /ro
  t ro_remount_touch touch /ro/new2
  t ro_remount_append sh -c 'echo x >> /ro/keep.txt'
  t ro_bind_rw sh -c 'mount --bind /ro /mnt/rw && mount -o remount,bind,rw /mnt/rw && touch /mnt/rw/new3'
  t share_remount mount -o remount,rw /mnt/share
  t share_top_write touch /mnt/share/new
  t share_ro_write sh -c 'for d in $(find /mnt/share/vol -maxdepth 3 -name keep.txt); do echo x >> "$d" || exit 1; done; [ -n "$d" ]'
  t share_rootfs_write sh -c 'for d in /mnt/share/vol/*/rootfs; do touch "$d/new" || exit 1; done; [ -d "$d" ]'
  t share_rootfs_bin sh -c 'for d in /mnt/share/vol/*/rootfs; do echo hacked > "$d/bin/busybox" || exit 1; done; [ -d "$d" ]'
  t rootfs_handle_reopen sh -c "$H reopen /mnt/share/vol/*/rootfs/bin/busybox /vol"
fi

# A service on the host's 127.0.0.1.
get() { printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 nc "$@"; }
t net_wget wget -T 3 -q -O- "http://127.0.0.1:$PORT/"
t net_nc get 127.0.0.1 "$PORT"
t net_nc_localhost get localhost "$PORT"
t net_udp $H udp 127.0.0.1 "$UPORT" udp-from-guest
if [ "$MODE" = priv ]; then
  # Route 127.0.0.1 out of eth0 to the NAT, so that slirp4netns gets a connection for 127.0.0.1
  # and would make it from the host, were it not for the cgroup BPF filter.
  gw=$(ip route | awk '$1 == "default" { print $3 }')
  t net_route sh -c "sysctl -w net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1 >/dev/null &&
    ip addr del 127.0.0.1/8 dev lo && ip route add 127.0.0.1/32 via $gw dev eth0 && ip route get 127.0.0.1"
  tx0=$(cat /sys/class/net/eth0/statistics/tx_packets)
  t net_routed_nc get 127.0.0.1 "$PORT"
  tx1=$(cat /sys/class/net/eth0/statistics/tx_packets)
  echo "net_routed_tx|0|$((tx1 - tx0))"
  t net_routed_udp $H udp 127.0.0.1 "$UPORT" udp-routed-from-guest
fi
echo "done|0|"
SH

# A service on the host's loopback, bounded in time.
for port in $(shuf -i 20000-60000 -n 20); do
  ss -Hltn "sport = :$port" | grep -q . || break
done
echo "host-service-$token" > "$work/www/index.html"
timeout 300 python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$port" \
  >"$work/http.log" 2>&1 & http_pid=$!; pids+=($http_pid)
for i in $(seq 50); do r=$(curl -s -m 2 "http://127.0.0.1:$port/") && break; sleep 0.1; done
check "the host reaches its own loopback service (sanity)" "host-service-$token" "$r"
# And a UDP one that writes down every datagram it gets.
for uport in $(shuf -i 20000-60000 -n 20); do
  ss -Hlun "sport = :$uport" | grep -q . || break
done
timeout 300 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    d, peer = s.recvfrom(2048)
    with open(sys.argv[2], "ab") as f: f.write(d.strip() + b"\n")
' "$uport" "$work/udp.log" 2>"$work/udp.err" & udp_pid=$!; pids+=($udp_pid)
for i in $(seq 50); do
  echo udp-from-host > /dev/udp/127.0.0.1/"$uport"; sleep 0.1; [ -s "$work/udp.log" ] && break
done
check "the host reaches its own loopback UDP service (sanity)" "udp-from-host" "$(sort -u "$work/udp.log" 2>/dev/null)"

# A first run assembles the private image; then the host's state is taken.
out=$(hako run --rm busybox true 2>&1); rc=$?
check "a container runs (and the image is assembled)" "0" "$rc${out:+: $out}"
listing > "$work/list.before"
cp /proc/self/mountinfo "$work/mountinfo.before"

# Runs the attack script in a container of MODE (priv|default) and tells it the host's pids
# (init, this shell, the listeners, hako, QEMU, virtiofsd) once its VM runs.
attack() {
  local mode=$1 flags=() p qemu= vfs= hakopid
  [ "$mode" = priv ] && flags=(--privileged)
  hako run --rm "${flags[@]}" -e MODE="$mode" -e SECRET="$secret" -e PORT="$port" -e UPORT="$uport" \
    -v "$work/host/share:/vol" -v "$work/host/ro:/ro:ro" busybox sh /vol/attack.sh \
    >"$work/out.$mode" 2>"$work/err.$mode" & hakopid=$!
  for i in $(seq 300); do
    for p in $(ours); do
      case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
        *qemu-system*) qemu=$p ;;
        *virtiofsd*) vfs=$p ;;
      esac
    done
    [ -n "$qemu" ] && [ -n "$vfs" ] && break
    kill -0 "$hakopid" 2>/dev/null || break
    sleep 0.1
  done
  # pid 1 too: the host's init; the guest has a pid 1 of its own.
  hostpids="$$ $http_pid $udp_pid $hakopid $qemu $vfs 1"
  echo "$hostpids" > "$work/host/share/scratch/.pids.$mode"
  mv "$work/host/share/scratch/.pids.$mode" "$work/host/share/scratch/pids.$mode"
  wait "$hakopid"; echo "rc=$?" >> "$work/err.$mode"
  vm_found=${qemu:+qemu}:${vfs:+virtiofsd}
}

# Fields of the attack's output: exit code and output of attempt $1.
rc_of() { awk -F'|' -v n="$1" '$1 == n { print $2; exit }' "$out"; }
out_of() { awk -F'|' -v n="$1" '$1 == n { sub(/^[^|]*\|[^|]*\|/, ""); print; exit }' "$out"; }
# An attempt that must fail: it ran, exited non-zero, printed no secret, and (with a third
# argument) failed for that reason, so that a typo cannot pass for a refusal.
fails() {
  local name=$1 what=$2 why=${3:-} r o
  r=$(rc_of "$name") o=$(out_of "$name")
  if [ -z "$r" ]; then not_ok "$M: $what" "attempt $name did not run"
  elif [ "$r" = 0 ]; then not_ok "$M: $what" "ESCAPE? attempt $name succeeded: $o"
  elif grep -q -- "$token" <<<"$o"; then not_ok "$M: $what" "SECRET LEAKED by $name: $o"
  elif [ -n "$why" ] && ! grep -q -- "$why" <<<"$o"; then not_ok "$M: $what" "failed, but not with \"$why\": $o"
  else ok "$M: $what (exit $r: $(cut -c1-100 <<<"$o"))"; fi
}
enoent="No such file or directory" erofs="Read-only file system"

for M in priv default; do
  attack "$M"
  out=$work/out.$M
  r="$(tail -1 "$work/err.$M" | sed 's/rc=//'):$(grep -c '^done|' "$out")"
  if [ "$r" = 0:1 ]; then ok "$M: the attack script ran to its end"
  else not_ok "$M: the attack script ran to its end" "exit code:done lines $r" "stderr: $(head -c 600 "$work/err.$M")" "stdout: $(tail -c 600 "$out")"; fi
  check "$M: the host saw the VM's QEMU and virtiofsd (their pids are tried)" "qemu:virtiofsd" "$vm_found"
  check "$M: the secret appears nowhere in the container's output" 0 "$(cat "$out" "$work/err.$M" | grep -c -- "$token")"

  # --- host processes
  bad=
  for p in $hostpids; do
    line=$(grep "^hostpid|$p|" "$out")
    [ -n "$line" ] || { bad+=" $p:not-checked"; continue; }
    # kill -0 must fail, unless the number is a guest process's (it exists in the guest's /proc).
    case "$line" in
      *"exists=0 kill=0"*) bad+=" $p:signalled-but-not-in-guest" ;;
      *"exists=1 kill="*) [ "$(cut -d'|' -f4- <<<"$line")" = "$(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)" ] &&
                          bad+=" $p:host-cmdline-visible" ;;
    esac
  done
  grep '^hostpid|' "$out" | cut -d'|' -f2,3 | sed "s/^/# $M: host pid /"
  check "$M: host pids (init, test shell, listeners, hako, QEMU, virtiofsd) are not visible or signalable" "" "$bad"
  check "$M: /proc lists no host process (qemu, virtiofsd, hako, dockerd, containerd, the test's paths)" "" \
    "$(grep '^cmdline|' "$out" | grep -iE "qemu|virtiofsd|hako|dockerd|containerd|$work|python")"
  np=$(out_of guestpids | wc -w)
  check "$M: the guest's /proc holds only a few processes (the container's)" "yes" "$([ "$np" -ge 1 ] && [ "$np" -le 10 ] && echo yes || echo "no: $np: $(out_of guestpids)")"

  # --- reading the secret through the share
  fails sym_guest_abs "a symlink made in the guest to the host path" "$enoent"
  fails sym_host_abs "an absolute symlink made on the host, pointing out of the share" "$enoent"
  fails sym_host_rel "a relative symlink made on the host (../secret)" "$enoent"
  fails sym_host_up "a symlink made on the host climbing above the root, then the host path" "$enoent"
  fails sym_host_chain "a chain of relative symlinks made on the host" "$enoent"
  fails sym_guest_chain "a chain of relative symlinks made in the guest, then the host path" "$enoent"
  fails dotdot_1 ".. from the volume's mount point" "$enoent"
  fails dotdot_abs "many .. then the host path" "$enoent"
  fails dotdot_rel "relative .. from a directory in the share" "$enoent"
  fails hardlink_guest "a hard link (made in the guest) of the host path" "$enoent"
  fails hardlink_guest_dotdot "a hard link (made in the guest) through .." "$enoent"
  check "$M: a hard link made on the host into the share is the same file (readable, by design)" \
    "0|public-file" "$(rc_of hardlink_host)|$(out_of hardlink_host)"
  check "$M: the open_by_handle_at helper ran to its end" "0" "$(rc_of handle)"
  hh=$(grep '^host-handle /vol ' "$out")
  check "$M: open_by_handle_at with the host's handle of the secret fails (EOPNOTSUPP/ESTALE/EINVAL/EPERM/ENOENT)" \
    "yes" "$(grep -qE '^host-handle /vol tried=1 opened=0 errors=(EOPNOTSUPP|ESTALE|EINVAL|EPERM|ENOENT):1$' <<<"$hh" && echo yes || echo "$hh; $(grep '^handle|' "$out")")"
  check "$M: open_by_handle_at: nothing the helper opened (any dir, any variation) is the secret" \
    "0" "$(grep '^OPENED' "$out" | grep -c -- "$token")"
  echo "# $M: $(grep -E '^(host-handle|host-type-variants|fuse-nodeids) ' "$out" | tr '\n' ';')"
  if [ "$M" = priv ]; then
    check "priv: the share's tag mounts again in the guest (mount -t virtiofs)" "0" "$(rc_of mount_share)"
    check "priv: ... its top holds only hako's mount points" "0|vol" "$(rc_of share_top)|$(out_of share_top)"
    check "priv: ... no file named secret in it" "0|" "$(rc_of share_find)|$(out_of share_find)"
    fails share_dotdot ".. above the second mount of the share" "$enoent"
    fails share_up "the host's climbing symlink in the second mount" "$enoent"
    check "priv: a bind mount of the volume in the guest (mount --bind)" "0" "$(rc_of mount_bind)"
    fails bind_dotdot ".., the climbing and the relative symlink through the bind mount" "$enoent"
  fi

  # --- the read-only volume
  fails ro_touch "touch in the read-only volume" "$erofs"
  fails ro_append "append to a file of the read-only volume" "$erofs"
  fails ro_rm "rm in the read-only volume" "$erofs"
  fails ro_chmod "chmod in the read-only volume" "$erofs"
  fails ro_mkdir "mkdir in the read-only volume" "$erofs"
  fails ro_rename "rename in the read-only volume" "$erofs"
  if [ "$M" = priv ]; then
    fails ro_handle_reopen "the read-only file's handle opened for writing on the read-write volume's mount" "EROFS"
  else
    fails ro_handle_reopen "the read-only file's handle opened for writing on the read-write volume's mount" "EPERM"
  fi
  if [ "$M" = priv ]; then
    echo "# priv: mount -o remount,rw /ro: rc $(rc_of ro_remount) $(out_of ro_remount)"
    fails ro_remount_touch "touch after mount -o remount,rw /ro" "$erofs"
    fails ro_remount_append "append after mount -o remount,rw /ro" "$erofs"
    fails ro_bind_rw "a read-write bind of the read-only volume" "$erofs"
    echo "# priv: mount -o remount,rw of the share's second mount: rc $(rc_of share_remount) $(out_of share_remount)"
    fails share_top_write "write at the top of the share" "$erofs"
    fails share_ro_write "the read-only volume through the share's second mount" "$erofs"
    fails share_rootfs_write "the image's rootfs through the share's second mount (touch)" "$erofs"
    fails share_rootfs_bin "the image's rootfs through the share's second mount (overwrite busybox)" "$erofs"
    fails rootfs_handle_reopen "the image's busybox by its handle, for writing on the read-write volume's mount" "EROFS"
  fi

  # --- the host's loopback
  if [ "$(rc_of net_wget)" = 139 ]; then
    ok "$M: wget http://127.0.0.1:PORT/ # SKIP busybox-static's wget crashes in this image (docs/networking.md); nc is the client"
  else
    fails net_wget "wget http://127.0.0.1:PORT/ (the host's listener)"
  fi
  fails net_nc "nc 127.0.0.1 PORT"
  fails net_nc_localhost "nc localhost PORT"
  if [ "$M" = priv ]; then
    check "priv: 127.0.0.1 routed out of eth0 to the NAT" "0" "$(rc_of net_route)$(grep -q 'via' <<<"$(out_of net_route)" || echo ": $(out_of net_route)")"
    check "priv: ... packets for 127.0.0.1 really leave through eth0" "yes" \
      "$([ "$(out_of net_routed_tx)" -gt 0 ] 2>/dev/null && echo yes || echo "no: $(out_of net_routed_tx)")"
    fails net_routed_nc "nc 127.0.0.1 PORT routed to the NAT (slirp4netns would connect from the host)"
    check "priv: a UDP datagram to 127.0.0.1 routed to the NAT was sent" "0|sent" "$(rc_of net_routed_udp)|$(out_of net_routed_udp)"
  fi
  check "$M: no hako process, QEMU or virtiofsd is left" "" "$(vms_left)"
done

# --- afterwards --------------------------------------------------------------------------------
check "the host service saw no request but the test's own" "1" "$(grep -c 'GET /' "$work/http.log")"
check "the host's UDP service got no datagram but the test's own" "udp-from-host" "$(sort -u "$work/udp.log")"
kill "$http_pid" "$udp_pid" 2>/dev/null; wait "$http_pid" "$udp_pid" 2>/dev/null
listing > "$work/list.after"
check "the host's files under the test directories are unchanged (names, sizes, modes, links, mtimes)" "" \
  "$(diff "$work/list.before" "$work/list.after" | grep '^[<>]')"
check "the secret is as it was (content, one link)" "$token 1" "$(cat "$secret") $(stat -c %h "$secret")"
check "the guest made no hard link to a host file in the share" "" "$(find "$work/host/share" -type f -links +1 ! -name hardlinked -print)"
check "no file in the share holds the secret" "" "$(grep -rl -- "$token" "$work/host/share" 2>/dev/null)"
check "the read-only volume holds what it held" "keep|keep.txt sub" "$(cat "$work/host/ro/keep.txt")|$(ls -A "$work/host/ro" | xargs)"
cp /proc/self/mountinfo "$work/mountinfo.after"
# Other engineers' suites may mount and unmount at the same time: a change is ours when it names
# the test's directory; any other change is shown, not counted.
changed=$( { only_in "$work/mountinfo.before" "$work/mountinfo.after"; only_in "$work/mountinfo.after" "$work/mountinfo.before"; } )
check "the host's mount table: no entry of the test's directories added or removed" "" "$(grep -F "$work" <<<"$changed")"
[ -n "$changed" ] && sed 's/^/# mount table changed meanwhile (not ours): /' <<<"$changed"
check "no hako process, QEMU, virtiofsd or listener is left" "" "$(ours)"
check "the state directory holds no container" "" "$(ls -A "$work/state" 2>/dev/null | grep -v '^\.')"
tap_done
