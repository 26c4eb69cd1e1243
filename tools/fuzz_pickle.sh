#!/bin/sh
# Build the libFuzzer target for the restricted unpickler and run it for SECONDS
# (default 120) on build/fuzz-pickle-corpus, seeded from tests/fuzz_pickle_seeds/.
# Needs clang and libclang-rt-14-dev. Not run by CI.
#   tools/fuzz_pickle.sh [SECONDS] [extra libFuzzer flags...]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-120}
[ $# -gt 0 ] && shift
make fuzz-pickle
mkdir -p build/fuzz-pickle-corpus
exec nice build/fuzz_pickle -max_total_time="$secs" -rss_limit_mb=2048 \
    -dict=tests/fuzz_pickle.dict -print_final_stats=1 "$@" \
    build/fuzz-pickle-corpus tests/fuzz_pickle_seeds
