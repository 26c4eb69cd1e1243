#!/bin/bash
# Run every libFuzzer target (make fuzz) for SECONDS each (default 60), on a working
# corpus seeded from the committed seeds in tests/fuzz/NAME/ (the seeds themselves are
# never modified). Prints one line per target: executions, coverage, corpus size.
# A crash, leak or sanitizer report fails the script and leaves the reproducer in
# $BUILD/fuzz/crashes-NAME/: add it to tests/fuzz/NAME/ as a regression seed.
#   tools/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
build=${FUZZ_BUILD:-build}
targets=("$@")
# Every tests/fuzz_NAME.c is a target (the Makefile builds the same list).
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(ls tests/fuzz_*.c | sed -E "s|tests/fuzz_(.*)\.c|\1|")
make --no-print-directory BUILD="$build" fuzz >/dev/null
status=0
for t in "${targets[@]}"; do
    bin=$build/fuzz/fuzz_$t
    corpus=$build/fuzz/corpus-$t crashes=$build/fuzz/crashes-$t
    mkdir -p "$corpus" "$crashes"
    cp -n tests/fuzz/"$t"/* "$corpus"/ 2>/dev/null || true
    log=$build/fuzz/$t.log
    # Every committed seed first, as a regression run; then fuzz.
    if ! "$bin" -runs=0 tests/fuzz/"$t" >"$log.seeds" 2>&1; then
        echo "fuzz $t: a committed seed fails (see $log.seeds)"; status=1; continue
    fi
    if nice "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
            -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1; then
        line=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
        echo "fuzz $t: ${secs}s, $(grep -Eo 'Done [0-9]+ runs' "$log" | tail -n 1 | cut -d' ' -f2) runs," \
             "$(echo "$line" | grep -Eo 'cov: [0-9]+' || true)," \
             "$(echo "$line" | grep -Eo 'ft: [0-9]+' || true)," \
             "corpus $(ls "$corpus" | wc -l) files"
    else
        echo "fuzz $t: FAILED (log $log, reproducer in $crashes/):"
        grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -n 5
        status=1
    fi
done
exit $status
