#!/usr/bin/env bash
# Builds the `ci` preset (ASan + UBSan) and runs the test binary against fresh local services:
# setup → build → services start → fresh database bazaar_test → build/ci/tests/bazaar_tests "$@".
# Arguments go to the doctest binary (e.g. scripts/test.sh -tc='router*' -s). The output is also written
# to .local/logs/test.log. Ends with a line "N passed, N failed" (test cases) and the binary's exit status.
# Services keep running afterwards (scripts/services.sh stop stops them).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BAZAAR_ROOT"

"$BAZAAR_ROOT/scripts/setup.sh"
build_preset ci
"$BAZAAR_ROOT/scripts/services.sh" start

info "creating a fresh database bazaar_test"
recreate_db bazaar_test
export BAZAAR_TEST_DATABASE_URL BAZAAR_TEST_REDIS_URL
BAZAAR_TEST_DATABASE_URL=$(db_url bazaar_test)
BAZAAR_TEST_REDIS_URL=$(redis_url)

# LeakSanitizer is off unless ASAN_OPTIONS says otherwise: it needs ptrace, which containers without
# CAP_SYS_PTRACE refuse, and then it aborts the run (or reports nothing) after every test passed.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

bin=$BAZAAR_ROOT/build/ci/tests/bazaar_tests
[[ -x $bin ]] || die "$bin was not built"
mkdir -p "$BAZAAR_LOCAL/logs"
log=$BAZAAR_LOCAL/logs/test.log

info "running $bin $*"
set +e
"$bin" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# doctest's summary: "[doctest] test cases:  X |  Y passed | Z failed | W skipped" (colours stripped).
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^\[doctest\] test cases:' | tail -n 1 || true)
if [[ -z $summary ]]; then
  echo "test.sh: no doctest summary; the test binary crashed or did not run (exit status $status)"
  echo "0 passed, 1 failed"
  exit $((status == 0 ? 1 : status))
fi
read -r passed failed < <(awk -F'|' '{ p = $2; f = $3; gsub(/[^0-9]/, "", p); gsub(/[^0-9]/, "", f); print p + 0, f + 0 }' <<<"$summary")
if ((status == 0 && passed + failed == 0)); then
  echo "test.sh: no test case ran"
  status=1
fi
echo "$passed passed, $failed failed"
exit "$status"
