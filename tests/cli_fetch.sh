#!/bin/bash
# cli_fetch.sh - `cifar-act --download-only` against the loopback server (tests/http_server.py).
#
# NOTE: this exercises the lead's CLI wiring of fetch_ensure() (flags --data, --url,
# --sha256, --archive, --offline, --keep-archive, --quiet, --download-only). While
# src/main.c is still the placeholder ("not built yet") it skips with a zero summary;
# once the CLI lands it runs for real and must pass.
. "$(dirname "$0")/lib.sh"
CA_ROOT=${CA_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SHARED=${CA_DATA:-$(cact_find_data "$CA_ROOT")}

if "$CA_BIN" --help 2>&1 | grep -q "not built yet"; then
    echo "SKIP: $CA_BIN is the placeholder CLI (no --download-only yet)"
    summary cli_fetch; exit
fi
if [ ! -f "$SHARED/cifar-10-batches-bin/test_batch.bin" ]; then
    fail "the real test set was not found (\$CIFAR_ACT_DATA, ./data, ../shared)"
    summary cli_fetch; exit
fi

unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost
export CIFAR_ACT_RETRY_BASE_MS=10 CIFAR_ACT_STALL_SECONDS=2

PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# serve NAME ARGS...: start a server on the real-data archive; sets PORT.
serve() {
    local name=$1; shift
    python3 "$CA_ROOT/tests/http_server.py" "$ARCH" --log "$TMP/$name.log" "$@" \
        >"$TMP/$name.port" &
    PIDS="$PIDS $!"
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
    PORT=$(head -n 1 "$TMP/$name.port")
}

# An archive in the official layout around the real test batch: the CLI always checks
# the official member MD5s, so only real data can pass.
mkdir -p "$TMP/src"
ln -s "$SHARED/cifar-10-batches-bin/test_batch.bin" "$TMP/src/test_batch.bin"
ln -s "$SHARED/cifar-10-batches-bin/batches.meta.txt" "$TMP/src/batches.meta.txt"
ARCH=$TMP/real.tar.gz
python3 "$CA_ROOT/tools/make_fixture_archive.py" "$ARCH" "$TMP/src" --level 1
SHA=$(sha256sum "$ARCH" | cut -d' ' -f1)
BATCH=cifar-10-batches-bin/test_batch.bin

serve ok
URL=http://127.0.0.1:$PORT/cifar-10-binary.tar.gz
D=$TMP/d1
expect_exit 0 "download" -- "$CA_BIN" --download-only --data "$D" --url "$URL" --sha256 "$SHA" --quiet
expect_true "byte-identical" -- cmp -s "$D/$BATCH" "$SHARED/$BATCH"
expect_true "no .part" -- test ! -e "$D/cifar-10-binary.tar.gz.part"
expect_exit 0 "present: offline fine" -- "$CA_BIN" --download-only --data "$D" --offline --quiet
expect_true "no second request" -- test "$(wc -l <"$TMP/ok.log")" -eq 1

# The main job on the downloaded data: same pixels as on the shared copy.
expect_exit 0 "job on downloaded data" -- "$CA_BIN" --data "$D" --out "$TMP/job1" -n 2 --quiet
"$CA_BIN" --data "$SHARED" --no-verify --out "$TMP/job0" -n 2 --quiet
expect_true "job output identical" -- cmp -s "$TMP/job1/output_0001.png" "$TMP/job0/output_0001.png"
# Data missing: the main job downloads first (from --url), then runs.
expect_exit 0 "job downloads when missing" -- "$CA_BIN" --data "$TMP/d9" --url "$URL" \
    --sha256 "$SHA" --out "$TMP/job9" -n 1 --quiet
expect_true "job after download" -- test -s "$TMP/job9/output_0000.png" -a -s "$TMP/d9/$BATCH"

expect_exit 1 "offline, nothing there" -- "$CA_BIN" --download-only --data "$TMP/d2" --offline
expect_grep "offline says what to put where" "cifar-10-binary.tar.gz" "$TMP/err"
expect_grep "offline mentions --archive" "--archive" "$TMP/err"

expect_exit 0 "--archive" -- "$CA_BIN" --download-only --data "$TMP/d3" --archive "$ARCH" --quiet
expect_true "--archive result" -- cmp -s "$TMP/d3/$BATCH" "$SHARED/$BATCH"

expect_exit 1 "wrong sha256" -- "$CA_BIN" --download-only --data "$TMP/d4" --url "$URL" \
    --sha256 0000000000000000000000000000000000000000000000000000000000000000 --quiet
expect_grep "sha mismatch shows actual" "$SHA" "$TMP/err"
expect_true "nothing left after mismatch" -- test ! -e "$TMP/d4/$BATCH" -a ! -e "$TMP/d4/cifar-10-binary.tar.gz.part"

expect_exit 2 "malformed sha256" -- "$CA_BIN" --download-only --data "$TMP/d5" --url "$URL" --sha256 xyz

expect_exit 0 "--keep-archive" -- "$CA_BIN" --download-only --data "$TMP/d6" --url "$URL" --keep-archive --quiet
expect_true "kept archive" -- cmp -s "$TMP/d6/cifar-10-binary.tar.gz" "$ARCH"

serve missing --status 404
expect_exit 1 "404" -- "$CA_BIN" --download-only --data "$TMP/d7" --url "http://127.0.0.1:$PORT/x.tar.gz" --quiet
expect_grep "404 reported" "404" "$TMP/err"

serve drop --drop-after 4000000
expect_exit 0 "resumes dropped connections" -- "$CA_BIN" --download-only --data "$TMP/d8" \
    --url "http://127.0.0.1:$PORT/cifar-10-binary.tar.gz" --sha256 "$SHA" --quiet
expect_true "resumed result" -- cmp -s "$TMP/d8/$BATCH" "$SHARED/$BATCH"
expect_grep "Range requests sent" "bytes=4000000- 206" "$TMP/drop.log"

# Server errors are retried, and the user is told each time (not with --quiet).
serve flaky --fail 2
expect_exit 0 "retries 5xx" -- "$CA_BIN" --download-only --data "$TMP/d10" \
    --url "http://127.0.0.1:$PORT/cifar-10-binary.tar.gz" --sha256 "$SHA"
expect_grep "retry notice" "^cifar-act: .*500.*; retry 1 of 5 in 0\.0 s$" "$TMP/err"
expect_grep "second retry notice" "retry 2 of 5" "$TMP/err"
expect_true "retried result" -- cmp -s "$TMP/d10/$BATCH" "$SHARED/$BATCH"
serve flaky2 --fail 1
expect_exit 0 "retries quietly" -- "$CA_BIN" --download-only --data "$TMP/d11" \
    --url "http://127.0.0.1:$PORT/cifar-10-binary.tar.gz" --sha256 "$SHA" --quiet
expect_true "quiet means quiet" -- test ! -s "$TMP/err"

summary cli_fetch
