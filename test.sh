#!/usr/bin/env bash
# The whole test suite: installs dependencies (Debian packages), builds hako twice (plain, and
# with AddressSanitizer + UBSan), builds the guest kernel (cached outside the tree) and initrd, and
# runs unit, fuzz-corpus and integration tests (real microVMs) in both builds.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (VMs, mounts)" >&2; exit 1; }

bash scripts/deps.sh
# Guest pieces built outside the tree and cached (the first run pays ~5-18 min for the kernel):
# a static crun (falls back to Debian's dynamic one if it cannot be built), then the kernel.
bash guest/crun/build.sh || echo "test.sh: static crun not built; the initrd uses Debian's crun"
bash guest/kernel/build.sh
setup() { # dir, extra args...
  local dir=$1; shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null
}
setup build
# The agent is linked statically for the guest, which sanitizers cannot do: the sanitizer build
# tests the host side against the guest image of the plain build.
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dguest=false
ninja -C build
ninja -C build-asan

export HAKO_KERNEL=$(bash guest/kernel/build.sh --print-path)
export HAKO_INITRD=$PWD/build/guest/initrd.img
export HAKO_IMAGE_ROOT=${HAKO_IMAGE_ROOT:-/var/tmp/hako-test-images}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
for b in build build-asan; do
  echo "=== tests in $b"
  meson test -C "$b" --print-errorlogs --no-rebuild --num-processes 1 || status=1
done

# One closing line over both builds: every TAP subtest (and every non-TAP test) counted once.
python3 - build build-asan <<'PY'
import json, re, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    for line in open(f"{d}/meson-logs/testlog.json"):
        t = json.loads(line)
        oks = re.findall(r"^(not ok|ok)\b.*?(# SKIP.*)?$", t.get("stdout", ""), re.M)
        if not oks:
            if t["result"] in ("OK", "EXPECTEDFAIL"): passed += 1
            elif t["result"] == "SKIP": skipped += 1
            else: failed += 1
            continue
        for verdict, skip in oks:
            if skip: skipped += 1
            elif verdict == "ok": passed += 1
            else: failed += 1
        if t["result"] not in ("OK", "EXPECTEDFAIL", "SKIP") and not any(v == "not ok" for v, _ in oks):
            failed += 1  # crashed or timed out after its last subtest
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
