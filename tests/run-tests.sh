#!/bin/bash
# Run every test program (build/tests/test_*), CLI script (tests/cli_*.sh) and source
# check (tests/src_*.sh), add up their "name: N passed, N failed" lines, and end with
# the total on the last line.
set -u
cd "$(dirname "$0")/.."
export CA_BUILD=${CA_BUILD:-build}
export CA_BIN=${CA_BIN:-$PWD/cifar-act}
export CA_ROOT=$PWD
# The real dataset, by one rule for every test (tests/lib.sh: cact_find_data).
CA_LIB_RULE_ONLY=1 . tests/lib.sh
if ! CA_DATA=$(cact_find_data "$CA_ROOT"); then
    echo "tests: the real CIFAR-10 test set (cifar-10-batches-bin/test_batch.bin) is in none" \
         "of: \$CIFAR_ACT_DATA (${CIFAR_ACT_DATA:-unset}), $CA_ROOT/data, $CA_ROOT/../shared;" \
         "run the README's first command (it downloads it to ./data) or set CIFAR_ACT_DATA"
    echo "total: 0 passed, 1 failed"
    exit 1
fi
export CA_DATA
export CA_SHARED=$CA_DATA # the old name, for tests written before the rule; use CA_DATA
echo "tests: real dataset from $CA_DATA (\$CIFAR_ACT_DATA, then ./data, then ../shared)"
# The binary's own default (--data from CIFAR_ACT_DATA) must not leak into the tests.
unset CIFAR_ACT_DATA
passed=0 failed=0 broken=""
for t in "$CA_BUILD"/tests/test_* tests/cli_*.sh tests/src_*.sh; do
    [ -e "$t" ] || continue
    case "$t" in *.d | *.log) continue ;; esac
    name=$(basename "$t")
    log="$CA_BUILD/tests/$name.log"
    mkdir -p "$CA_BUILD/tests"
    start=$(date +%s)
    if [ "${t%.sh}" != "$t" ]; then bash "$t" >"$log" 2>&1; else "$t" >"$log" 2>&1; fi
    rc=$?
    line=$(grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$name: crashed or printed no summary (exit $rc)"; tail -n 20 "$log"
        failed=$((failed + 1)); broken="$broken $name"; continue
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    echo "$line  ($(( $(date +%s) - start ))s)"
    grep -E '^SKIP' "$log"  # a part that could not run here says so
    if [ "$f" -ne 0 ]; then grep -E '^FAIL' "$log" | head -n 30; broken="$broken $name"; fi
done
[ -n "$broken" ] && echo "failing:$broken (logs in $CA_BUILD/tests/)"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
