#!/bin/sh
# Build the libFuzzer target for the tar.gz extractor and run it for SECONDS (default
# 300) on a corpus seeded with small fixture archives. Needs clang. tools/fuzz.sh runs
# every target on the committed seeds (tests/fuzz/).
#   tools/fuzz_archive.sh [SECONDS] [extra libFuzzer flags...]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-300}
[ $# -gt 0 ] && shift
make fuzz
corpus=build/fuzz-corpus
seeds=build/fuzz-seeds
mkdir -p "$corpus" "$seeds/src"
if [ -z "$(ls -A "$corpus")" ]; then
    # Seeds: mode byte 1 + raw tar, mode byte 0 + tar.gz, for GNU and pax layouts.
    head -c 3073 /dev/urandom >"$seeds/src/test_batch.bin"
    : >"$seeds/src/batches.meta.txt"
    for fmt in gnu pax; do
        python3 tools/make_fixture_archive.py "$seeds/$fmt.tar.gz" "$seeds/src" \
            --format "$fmt" --long-name
        { printf '\001'; gzip -dc "$seeds/$fmt.tar.gz"; } >"$corpus/seed-$fmt-tar"
        { printf '\000'; cat "$seeds/$fmt.tar.gz"; } >"$corpus/seed-$fmt-gz"
    done
fi
exec build/fuzz/fuzz_archive -max_total_time="$secs" -rss_limit_mb=2048 "$@" "$corpus"
