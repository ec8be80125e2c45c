#!/bin/bash
# Run the OCI runtime-tools validation suite (opencontainers/runtime-tools,
# validation/) against an OCI runtime and print a per-test TAP summary.
#
#   tests/conformance/run.sh RUNTIME [TEST...]
#
# RUNTIME is a runc-compatible binary or wrapper script (e.g. /usr/sbin/runc,
# or a script that exports HAKO_KERNEL/HAKO_INITRD and execs hako).  With no
# TEST names every built validation test is run, one at a time.
#
# Nothing is built inside the repository:
#   RT_CACHE (default /var/cache/hako/runtime-tools) holds the suite's Go
#            source in GOPATH layout: $RT_CACHE/gopath/src/github.com/...
#            (validation/, validation/util, cmd/runtimetest and the
#            mndrix/tap-go package).  Debian's golang-github-opencontainers-
#            runtime-tools-dev package ships only the library half of
#            runtime-tools (generate/, specerror/, ...), not validation/ or
#            runtimetest, so that half has to be put there once; everything
#            else comes from Debian packages (installed below if missing).
#   RT_WORK  (default /tmp/rt-conformance) receives the built test binaries,
#            runtimetest, the busybox rootfs tarball and per-runtime logs.
#
# Env knobs: RT_TIMEOUT (per test, seconds, default 300).
# Output: one line per test "name: PASS|FAIL|TIMEOUT (ok=N notok=M rc=R)"
# followed by "N passed, M failed"; full TAP + stderr per test are kept in
# $RT_WORK/logs/<runtime-name>/.
set -u

RUNTIME_ARG=${1:?usage: run.sh RUNTIME [TEST...]}
shift
RUNTIME_BIN=$(command -v "$RUNTIME_ARG" || true)
[ -n "$RUNTIME_BIN" ] || { echo "run.sh: runtime not found: $RUNTIME_ARG" >&2; exit 2; }
RUNTIME_BIN=$(readlink -f "$RUNTIME_BIN")

RT_CACHE=${RT_CACHE:-/var/cache/hako/runtime-tools}
RT_WORK=${RT_WORK:-/tmp/rt-conformance}
RT_TIMEOUT=${RT_TIMEOUT:-300}
SRC=$RT_CACHE/gopath/src/github.com/opencontainers/runtime-tools

# ---- dependencies (Debian packages) -------------------------------------
need_pkgs=""
for p in golang-go golang-github-opencontainers-runtime-tools-dev \
         golang-github-google-uuid-dev busybox-static; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs="$need_pkgs $p"
done
if [ -n "$need_pkgs" ]; then
    echo "run.sh: installing$need_pkgs" >&2
    apt-get install -y --no-install-recommends $need_pkgs >&2 ||
        { apt-get update >&2 && apt-get install -y --no-install-recommends $need_pkgs >&2; } ||
        { echo "run.sh: cannot install$need_pkgs" >&2; exit 2; }
fi
if [ ! -d "$SRC/validation/util" ] || [ ! -f "$SRC/cmd/runtimetest/main.go" ]; then
    echo "run.sh: runtime-tools validation source missing under $SRC" >&2
    echo "        (put validation/, validation/util/, cmd/runtimetest/ of" >&2
    echo "         github.com/opencontainers/runtime-tools and github.com/mndrix/tap-go there)" >&2
    exit 2
fi

# ---- build ----------------------------------------------------------------
export GO111MODULE=off GOFLAGS= GOPATH=$RT_CACHE/gopath:/usr/share/gocode
export GOCACHE=$RT_WORK/gocache
mkdir -p "$RT_WORK/bin"
build() { # build IMPORTPATH OUT [extra go flags]
    local pkg=$1 out=$2; shift 2
    # rebuild only when a source file is newer than the binary
    if [ -x "$out" ] && [ -z "$(find "$RT_CACHE/gopath/src" -name '*.go' -newer "$out" -print -quit)" ]; then
        return 0
    fi
    go build "$@" -o "$out" "$pkg"
}
build github.com/opencontainers/runtime-tools/cmd/runtimetest "$RT_WORK/bin/runtimetest" \
    -tags "netgo osusergo" -ldflags "-extldflags -static" ||
    { echo "run.sh: building runtimetest failed" >&2; exit 2; }
ALL_TESTS=()
for d in "$SRC"/validation/*/; do
    n=$(basename "$d")
    [ "$n" = util ] && continue
    ls "$d"/*.go >/dev/null 2>&1 || continue
    if build "github.com/opencontainers/runtime-tools/validation/$n" "$RT_WORK/bin/$n.t"; then
        ALL_TESTS+=("$n")
    else
        echo "run.sh: building $n failed, skipped" >&2
    fi
done

# ---- rootfs: static busybox + applet links -------------------------------
ROOTFS_TGZ=$RT_WORK/bin/rootfs-amd64.tar.gz
if [ ! -s "$ROOTFS_TGZ" ]; then
    BB=/bin/busybox
    file -L "$BB" 2>/dev/null | grep -q 'statically linked' || BB=$(command -v busybox)
    r=$RT_WORK/rootfs
    rm -rf "$r"
    mkdir -p "$r"/bin "$r"/proc "$r"/sys "$r"/dev "$r"/etc "$r"/tmp "$r"/root
    cp "$BB" "$r/bin/busybox"            # a real file, not a symlink
    for a in $("$r/bin/busybox" --list); do
        [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
    echo 'root:x:0:' > "$r/etc/group"
    tar -C "$r" -czf "$ROOTFS_TGZ" .
fi

# ---- run ------------------------------------------------------------------
[ $# -gt 0 ] && TESTS=("$@") || TESTS=("${ALL_TESTS[@]}")
LOGS=$RT_WORK/logs/$(basename "$RUNTIME_ARG")
mkdir -p "$LOGS"

# Force-delete containers a test left behind whose bundle is one of the
# suite's temp bundles (/tmp/ocitest*): never touches other users' containers.
cleanup_leftovers() {
    local ids
    ids=$("$RUNTIME_BIN" list --format json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
try:
    data = json.load(sys.stdin) or []
except Exception:
    data = []
for c in data:
    if "/ocitest" in (c.get("bundle") or ""):
        print(c.get("id"))
' 2>/dev/null)
    for id in $ids; do
        "$RUNTIME_BIN" kill "$id" KILL >/dev/null 2>&1
        "$RUNTIME_BIN" delete --force "$id" >/dev/null 2>&1
        echo "  (cleaned leftover container $id)" >&2
    done
}

# Remove temp bundles (/tmp/ocitest*) a test left behind, and any mounts
# under them: e.g. a runtime that fails half-way through a container with
# shared root propagation can leave the bundle's rootfs mounts on the host.
cleanup_bundles() { # cleanup_bundles LIST-OF-BUNDLES-THAT-EXISTED-BEFORE
    local before=$1 d
    for d in /tmp/ocitest*; do
        [ -d "$d" ] || continue
        case " $before " in *" $d "*) continue ;; esac
        if grep -q " $d[/ ]" /proc/mounts; then
            umount -R -l "$d" 2>/dev/null
            echo "  (unmounted leftover mounts under $d)" >&2
        fi
        rm -rf "$d"
    done
}

pass=0 fail=0
cd "$RT_WORK/bin" || exit 2
for t in "${TESTS[@]}"; do
    if [ ! -x "./$t.t" ]; then
        echo "$t: FAIL (not built)"; fail=$((fail + 1)); continue
    fi
    bundles_before=$(echo /tmp/ocitest*)
    start=$(date +%s)
    RUNTIME=$RUNTIME_BIN timeout -k 10 "$RT_TIMEOUT" "./$t.t" >"$LOGS/$t.tap" 2>"$LOGS/$t.err"
    rc=$?
    dur=$(( $(date +%s) - start ))
    cleanup_leftovers
    cleanup_bundles "$bundles_before"
    nok=$(grep -Ec '^ok [0-9]+' "$LOGS/$t.tap")
    # "not ok ... # TODO" lines are expected failures in TAP, not failures
    nnot=$(grep -E '^not ok [0-9]+' "$LOGS/$t.tap" | grep -vc '# TODO')
    # Several upstream tests (hooks, *_fail, prestart, poststart, poststop)
    # report a failure only as a YAML "error" diagnostic with no test line.
    ndiag=0
    if [ "$nok" -eq 0 ] && [ "$nnot" -eq 0 ]; then
        ndiag=$(grep -c '^ *"error":' "$LOGS/$t.tap")
    fi
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        verdict=TIMEOUT
    elif [ $rc -ne 0 ] || [ "$nnot" -gt 0 ] || [ "$ndiag" -gt 0 ]; then
        # (the *_fail tests print nothing at all when the runtime correctly
        # refuses the config, so a missing plan alone is not a failure)
        verdict=FAIL
    else
        verdict=PASS
    fi
    if [ $verdict = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    echo "$t: $verdict (ok=$nok notok=$nnot diag_errors=$ndiag rc=$rc ${dur}s)"
done
echo "logs: $LOGS"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
