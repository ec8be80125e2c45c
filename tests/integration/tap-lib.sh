# Sourced by the integration tests: TAP output. check NAME EXPECTED GOT; ok NAME; not_ok NAME
# [DETAIL...]. End a test with `tap_done`: the plan line and the exit status.
n=0; failed=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
not_ok() { n=$((n+1)); failed=$((failed+1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "expected: $(printf %q "$2")" "got:      $(printf %q "$3")"; fi; }
tap_done() { echo "1..$n"; [ "$failed" -eq 0 ]; }
