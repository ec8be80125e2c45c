#!/usr/bin/env bash
# Static checks over every tracked C file: clang-format (the repo's .clang-format), cppcheck, and
# with --tidy also clang-tidy (bugprone + clang-analyzer; slower). Prints TAP.
# usage: scripts/lint.sh BUILD_DIR [--tidy]
set -u
cd "$(dirname "$0")/.."
build=${1:?usage: lint.sh BUILD_DIR [--tidy]}
n=0; failed=0
step() { # name, command...
  local name=$1; shift
  n=$((n+1))
  if out=$("$@" 2>&1) && [ -z "$out" ]; then echo "ok $n - $name"; else failed=$((failed+1)); echo "not ok $n - $name"; echo "$out" | head -40 | sed 's/^/#   /'; fi
}
mapfile -t files < <(git ls-files '*.c' '*.h')
fmt() { clang-format --dry-run --Werror "${files[@]}" 2>&1 | grep -E "^[^ ].*(error|warning)" ; true; }
step "clang-format" fmt
cpp() {
  cppcheck --quiet --enable=warning,portability,performance --inline-suppr --project="$build/compile_commands.json" \
    -D__GNUC__ --suppress=preprocessorErrorDirective --suppress='*:*pb-c.c' --suppress='*:/usr/include/*' \
    --suppress=missingIncludeSystem 2>&1
}
step "cppcheck" cpp
if [ "${2:-}" = "--tidy" ]; then
  tidy() {
    mapfile -t srcs < <(git ls-files '*.c' | grep -v '^tests/fuzz/')
    clang-tidy -p "$build" --quiet -checks='-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-bugprone-narrowing-conversions,-bugprone-macro-parentheses,-bugprone-assignment-in-if-condition,clang-analyzer-*,-clang-analyzer-security.insecureAPI.*,-clang-analyzer-unix.Malloc,-clang-analyzer-valist.Uninitialized,-clang-analyzer-optin.performance.Padding' \
      "${srcs[@]}" 2>/dev/null | grep -E "warning:|error:" | sort -u
  }
  step "clang-tidy" tidy
fi
echo "1..$n"
[ "$failed" = 0 ]
