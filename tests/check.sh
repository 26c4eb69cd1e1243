#!/bin/bash
# check.sh - the whole suite (make check; the README's test command and CI's):
#   1. make test            unit and CLI tests (tests/run-tests.sh)
#   2. make asan            the same tests, rebuilt with AddressSanitizer + UBSan
#   3. fuzz                 every libFuzzer target: its committed seeds, then
#                           FUZZ_SECONDS of fuzzing (tools/fuzz.sh)
#   4. valgrind             one end-to-end job (make check-valgrind): no error, no leak
# Stages 1-2 count their own checks; 3 counts one per target, 4 one. Every stage runs
# even after a failure, and the last line adds them up: "check: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
build=${BUILD:-build}
secs=${FUZZ_SECONDS:-30}
mkdir -p "$build"
passed=0 failed=0 failing=""

# A stage whose log ends with run-tests.sh's "total: N passed, N failed".
counted() {
    local name=$1 log=$build/check-$1.log; shift
    echo "== $name: $*"
    "$@" 2>&1 | tee "$log" | grep -E '^(total:|[A-Za-z0-9_.-]+: [0-9]+ passed, [1-9][0-9]* failed|FAIL|failing:)'
    local rc=${PIPESTATUS[0]}
    local line p f
    line=$(grep -E '^total: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -z "$line" ]; then p=0 f=1; else
        p=$(echo "$line" | sed -E 's/total: ([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -eq 0 ] || failing="$failing $name"
}

counted test make --no-print-directory BUILD="$build" test
counted asan make --no-print-directory asan

echo "== fuzz: tools/fuzz.sh $secs"
FUZZ_BUILD=$build tools/fuzz.sh "$secs" >"$build/check-fuzz.log" 2>&1
fuzz_rc=$?
cat "$build/check-fuzz.log"
p=$(grep -c '^fuzz [a-z_]*: [0-9]*s, ' "$build/check-fuzz.log")
f=$(grep -c '^fuzz [a-z_]*: \(FAILED\|a committed seed fails\)' "$build/check-fuzz.log")
if [ "$fuzz_rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
passed=$((passed + p)); failed=$((failed + f))
[ "$f" -eq 0 ] || failing="$failing fuzz"

echo "== valgrind: make check-valgrind"
if make --no-print-directory BUILD="$build" check-valgrind >"$build/check-valgrind.log" 2>&1; then
    echo "valgrind: no errors, no leaks"; passed=$((passed + 1))
else
    tail -n 30 "$build/check-valgrind.log"; failed=$((failed + 1)); failing="$failing valgrind"
fi

[ -n "$failing" ] && echo "failing stages:$failing (logs: $build/check-*.log)"
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
