#!/bin/bash
# cli_progress.sh - the progress bars, on a pseudo-terminal (tests/pty_run.py): sized
# to the terminal (no frame wider than COLS - 1), percentage, rate and an ETA that is
# m:ss, --:-- or "stalled", for the batches and the download; "resuming at X of Y MB"
# after a dropped connection; nothing of it with --quiet or when stderr is a file.
. "$(dirname "$0")/lib.sh"
ROOT=$CA_ROOT
SHARED=$CA_DATA
BIN=$CA_BIN
PTY=(python3 "$ROOT/tests/pty_run.py")
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost CIFAR_ACT_RETRY_BASE_MS=10

PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
serve() { # serve NAME ARGS...: a loopback server on the archive; sets PORT
    local name=$1; shift
    python3 "$ROOT/tests/http_server.py" "$ARCH" --log "$TMP/$name.log" "$@" >"$TMP/$name.port" &
    PIDS="$PIDS $!"
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.1; done
    PORT=$(head -n 1 "$TMP/$name.port")
}
# frames LOG: what the terminal showed, one redraw (between \r or \n) per line.
frames() { tr '\r' '\n' <"$1" | sed 's/ *$//' | grep -v '^$'; }
# widest LOG: the longest bar frame, in characters (messages are whole lines of their own).
widest() { tr '\r' '\n' <"$1" | awk '/^(download|extract|batch) / { if (length > m) m = length } END { print m + 0 }'; }

# ---- batches ----
for cols in 80 50; do
    L=$TMP/run$cols.tty
    expect_exit 0 "run-on-tty-$cols" -- "${PTY[@]}" $cols "$L" -- "$BIN" --data "$SHARED" \
        --out "$TMP/o$cols" --jobs 1
    frames "$L" >"$TMP/f"
    expect_true "run-fits-$cols ($(widest "$L") columns)" -- test "$(widest "$L")" -le $((cols - 1))
    # 80 columns show everything; 50 leave out the rate to keep a bar.
    rate='  [0-9]+ img/s'; [ $cols -lt 60 ] && rate=''
    expect_grep "run-bar-$cols" "^batch  [0-9]+/157 \\[#*-*\\] +[0-9]+%$rate  ETA [0-9]+:[0-9][0-9]\$" "$TMP/f"
    expect_grep "run-bar-done-$cols" "^batch  157/157 \\[#+\\] +100%$rate  ETA 0:00\$" "$TMP/f"
    expect_true "run-bar-fills-width-$cols" -- test "$(grep -m1 '^batch  157/157' "$TMP/f" | awk '{print length}')" -ge $((cols - 2))
    expect_true "run-eta-sane-$cols" -- bash -c "! grep -E 'ETA ([0-9]{3,}:|[0-9]+ s)' '$TMP/f'"
done
L=$TMP/quiet.tty
expect_exit 0 "quiet-on-tty" -- "${PTY[@]}" 80 "$L" -- "$BIN" --data "$SHARED" --out "$TMP/oq" -n 3 --quiet
expect_true "quiet-prints-nothing" -- test ! -s "$L"
expect_exit 0 "stderr-to-file" -- "$BIN" --data "$SHARED" --out "$TMP/of" -n 3
expect_true "no-bar-without-tty" -- bash -c "! grep -q \$'\\r' '$TMP/err' && ! grep -q '^batch' '$TMP/err'"

# ---- the download ----
mkdir -p "$TMP/src"
ln -s "$SHARED/cifar-10-batches-bin/test_batch.bin" "$TMP/src/test_batch.bin"
ln -s "$SHARED/cifar-10-batches-bin/batches.meta.txt" "$TMP/src/batches.meta.txt"
ARCH=$TMP/real.tar.gz
python3 "$ROOT/tools/make_fixture_archive.py" "$ARCH" "$TMP/src" --level 1
SHA=$(sha256sum "$ARCH" | cut -d' ' -f1)
MB=$(awk -v b="$(stat -c %s "$ARCH")" 'BEGIN { printf "%.1f", b / 1e6 }')
# Responses that stop after 8 MB each, at about 20 MB/s: the bar shows a rate and an
# ETA, and each resumed transfer says where it picked up (8.0, 16.0, ... MB).
serve drop --drop-after 8000000 --rate 20000000
L=$TMP/dl.tty
expect_exit 0 "download-on-tty" -- "${PTY[@]}" 70 "$L" -- "$BIN" --download-only --data "$TMP/d1" \
    --url "http://127.0.0.1:$PORT/cifar-10-binary.tar.gz" --sha256 "$SHA"
frames "$L" >"$TMP/f"
expect_true "download-fits ($(widest "$L") columns)" -- test "$(widest "$L")" -le 69
expect_grep download-bar "^download  [0-9.]+/$MB MB \[#*-*\] +[0-9]+%  [0-9.]+ [kM]B/s  ETA [0-9]+:[0-9][0-9]$" "$TMP/f"
expect_grep download-done "^download  $MB/$MB MB \[#+\] +100%  .*ETA 0:00$" "$TMP/f"
expect_grep resuming "^cifar-act: resuming at 8\\.0 of $MB MB$" "$TMP/f"
expect_true "download-eta-sane" -- bash -c "! grep -E 'ETA ([0-9]{3,}:|[0-9]+ s)' '$TMP/f'"

# A server that stops sending after 3 MB and holds the connection: after 3 s without a
# byte the ETA says "stalled"; after 5 (CIFAR_ACT_STALL_SECONDS) the fetch retries.
serve stall --stall-after 3000000
L=$TMP/stall.tty
expect_exit 0 "stalled-download-on-tty" -- env CIFAR_ACT_STALL_SECONDS=5 "${PTY[@]}" 70 "$L" -- \
    "$BIN" --download-only --data "$TMP/d2" --url "http://127.0.0.1:$PORT/cifar-10-binary.tar.gz" \
    --sha256 "$SHA"
frames "$L" >"$TMP/f"
expect_grep stalled "^download  3\\.0/$MB MB \[#*-*\] +[0-9]+%  .*ETA stalled$" "$TMP/f"
expect_grep "resumed-after-stall" "^cifar-act: resuming at 3\\.0 of $MB MB$" "$TMP/f"
expect_true "stall-eta-sane" -- bash -c "! grep -E 'ETA ([0-9]{3,}:|[0-9]+ s)' '$TMP/f'"

# A .part left by an earlier run (Ctrl-C, a killed process): the next run says where
# it resumes before the bar continues from there.
serve part
mkdir -p "$TMP/d4"
head -c 5000000 "$ARCH" >"$TMP/d4/cifar-10-binary.tar.gz.part"
L=$TMP/part.tty
expect_exit 0 "part-download-on-tty" -- "${PTY[@]}" 70 "$L" -- "$BIN" --download-only \
    --data "$TMP/d4" --url "http://127.0.0.1:$PORT/cifar-10-binary.tar.gz" --sha256 "$SHA"
frames "$L" >"$TMP/f"
expect_true "part-resuming-first" -- test "$(head -n 1 "$TMP/f")" = "cifar-act: resuming at 5.0 of $MB MB"
expect_grep "part-range-sent" "bytes=5000000- 206" "$TMP/part.log"

# --archive: the same bar, saying what it does.
L=$TMP/arch.tty
expect_exit 0 "archive-on-tty" -- "${PTY[@]}" 70 "$L" -- "$BIN" --download-only \
    --data "$TMP/d5" --archive "$ARCH"
frames "$L" >"$TMP/f"
expect_grep archive-bar "^extract  $MB/$MB MB \[#+\] +100%  .*ETA 0:00$" "$TMP/f"

serve quiet
L=$TMP/dlq.tty
expect_exit 0 "quiet-download-on-tty" -- "${PTY[@]}" 70 "$L" -- "$BIN" --download-only --quiet \
    --data "$TMP/d3" --url "http://127.0.0.1:$PORT/cifar-10-binary.tar.gz" --sha256 "$SHA"
expect_true "quiet-download-prints-nothing" -- test ! -s "$L"
summary cli_progress
