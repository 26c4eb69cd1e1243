#!/bin/bash
# cli_hardening.sh - the real binary against hostile inputs (issue 9): non-regular files
# refused before a read (no hang), unreadable files reported as such and never
# replaced, first contact without a network, and the smaller reasons of item 12.
# Each check was seen failing on the code before its fix.
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN
DATA=${CA_DATA:-$(cact_find_data "${CA_ROOT:-.}")}
REAL=$DATA/cifar-10-batches-bin
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost CIFAR_ACT_RETRY_BASE_MS=10 CIFAR_ACT_STALL_SECONDS=2

# ---- 2. A FIFO is refused at once (before: blocked for ever, only SIGKILL ended it) ----
D=$TMP/fifo/cifar-10-batches-bin
mkdir -p "$D"
cp "$REAL/batches.meta.txt" "$D/"
mkfifo "$D/test_batch.bin"
expect_exit 1 "FIFO dataset file, --no-verify" -- timeout -k 2 10 "$BIN" --data "$TMP/fifo" \
    --no-verify --out "$TMP/o1" -n 1 -q
expect_grep "FIFO named" "test_batch.bin is a FIFO, not a regular file" "$TMP/err"
rm "$D/test_batch.bin"; cp "$REAL/test_batch.bin" "$D/"
rm "$D/batches.meta.txt"; mkfifo "$D/batches.meta.txt"
expect_exit 1 "FIFO class-name file, --no-verify" -- timeout -k 2 10 "$BIN" --data "$TMP/fifo" \
    --no-verify --out "$TMP/o1" -n 1 -q
expect_grep "FIFO meta named" "batches.meta.txt is a FIFO" "$TMP/err"

mkfifo "$TMP/arch.fifo"
expect_exit 1 "FIFO as --archive" -- timeout -k 2 10 "$BIN" --download-only --data "$TMP/d-fifo" \
    --archive "$TMP/arch.fifo" -q
expect_grep "archive FIFO named" "arch.fifo is a FIFO, not a regular file" "$TMP/err"
expect_true "no lock or directories left by the refused archive" -- [ ! -e "$TMP/d-fifo" ]

# ---- 12. Reasons ----
mkdir -p "$TMP/adir"
expect_exit 1 "--archive DIR" -- timeout -k 2 10 "$BIN" --download-only --data "$TMP/d-dir" \
    --archive "$TMP/adir" -q
expect_grep "--archive DIR says why" "adir is a directory, not a regular file" "$TMP/err"
expect_exit 2 "--data ''" -- "$BIN" --data '' --out "$TMP/o2" -n 1 -q
expect_grep "--data '' named" "^cifar-act: --data: the directory name is empty" "$TMP/err"
# The data is verified, so a bad --archive is not needed: but it is said.
expect_exit 0 "bad --archive, data verified" -- "$BIN" --download-only --data "$DATA" \
    --archive "$TMP/nonexistent.tar.gz"
expect_grep "bad --archive said" "nonexistent.tar.gz not found; not needed: the data under .* is already verified" "$TMP/err"

summary cli_hardening
