#!/bin/sh
# Extraction throughput (MB/s of compressed input) of our pipeline vs gzip -dc | tar x,
# on an archive built around the real CIFAR-10 test batch from ../shared.
#   tools/bench_extract.sh [BENCH_BINARY]      (make bench-extract runs this)
# Env: CA_SHARED (default ../shared), LEVEL (gzip level of the archive, default 9 as
# gzip -9; the official archive's level is unknown, so try LEVEL=6 too).
set -eu
cd "$(dirname "$0")/.."
bin=${1:-build/tools/bench_extract}
shared=${CA_SHARED:-$(cd .. && pwd)/shared}
level=${LEVEL:-9}
work=$(mktemp -d "${TMPDIR:-/tmp}/cifar-act-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/x"
ln -s "$shared/cifar-10-batches-bin/test_batch.bin" "$work/src/test_batch.bin"
ln -s "$shared/cifar-10-batches-bin/batches.meta.txt" "$work/src/batches.meta.txt"
python3 tools/make_fixture_archive.py "$work/a.tar.gz" "$work/src" --level "$level"
size=$(stat -c %s "$work/a.tar.gz")
echo "archive: $size bytes (gzip level $level, real test_batch.bin + batches.meta.txt)"
"$bin" "$work/a.tar.gz" "$work"
best=""
for i in 1 2 3; do
    rm -rf "$work/x"; mkdir "$work/x"
    s=$(date +%s.%N)
    gzip -dc "$work/a.tar.gz" | tar xf - -C "$work/x"
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l 2>/dev/null || python3 -c "print($e - $s)")
    best=$(python3 -c "print(min(float('$t'), float('${best:-1e9}')))")
done
python3 -c "print('%-58s %7.1f MB/s  (%.3f s)' % ('gzip -dc | tar x (reference)', $size / $best / 1e6, $best))"
