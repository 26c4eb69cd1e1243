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
expect_grep "--data '' named" "^cifar-act: --data: empty directory name" "$TMP/err"
# The data is verified, so a bad --archive is not needed: but it is said.
expect_exit 0 "bad --archive, data verified" -- "$BIN" --download-only --data "$DATA" \
    --archive "$TMP/nonexistent.tar.gz"
expect_grep "bad --archive said" "nonexistent.tar.gz not found; not needed: the data under .* is already verified" "$TMP/err"

# Paths longer than the system takes (item 12): one line naming the option, the limit
# and the reason, before anything is created. Before: a message cut at 1024 bytes with
# no reason, or "cannot stat ... unreadable is not corrupt" for --data, and empty
# directories left behind.
# 4060 bytes: inside PATH_MAX, but not with the names created under it.
long=$TMP/long; while [ ${#long} -lt 4060 ]; do long=$long/$(printf 'c%.0s' {1..200}); done
long=${long:0:4060}
comp=$TMP/long/$(printf 'b%.0s' {1..300})
for o in --out --data --logdir --archive; do
    p=$long
    case $o in
    --archive) extra=(--download-only --data "$TMP/d-long"); p=$long/$(printf 'c%.0s' {1..200}) ;;
    --data) extra=(--out "$TMP/o-long") ;;
    *) extra=(--data "$DATA") ;;
    esac
    expect_exit 2 "$o near PATH_MAX" -- "$BIN" "${extra[@]}" $o "$p" -n 1 -q
    expect_grep "$o near PATH_MAX: option, limit, reason" \
        "^cifar-act: $o: the path is [0-9]+ bytes.*limit is [0-9]+ bytes.*PATH_MAX 4096.*: File name too long( \(see cifar-act --help\))?$" "$TMP/err"
    expect_true "$o near PATH_MAX: one short line" -- [ "$(wc -l <"$TMP/err")" -eq 1 -a "$(wc -c <"$TMP/err")" -lt 300 ]
    expect_exit 2 "$o NAME_MAX" -- "$BIN" "${extra[@]}" $o "$comp" -n 1 -q
    expect_grep "$o NAME_MAX: option, limit, reason" \
        "^cifar-act: $o: a name in the path is 300 bytes, more than NAME_MAX \(255\): 'bbbb.*: File name too long( \(see cifar-act --help\))?$" "$TMP/err"
    expect_true "$o: nothing created" -- [ ! -e "$TMP/long" -a ! -e "$TMP/o-long" -a ! -e "$TMP/d-long" ]
done
# An --archive path inside PATH_MAX (only read: no room needed) that is not there: the
# message keeps its end, the reason, though the path does not fit in it.
expect_exit 1 "--archive 4060 bytes, absent" -- "$BIN" --download-only --data "$TMP/d-long" \
    --archive "$long" -q
expect_grep "--archive 4060 bytes: the reason survives" \
    "^cifar-act: cannot open $TMP/long/[c/]+\.\.\.[c/]+: No such file or directory$" "$TMP/err"
expect_true "--archive 4060 bytes: one line under 1100 bytes" -- \
    [ "$(wc -l <"$TMP/err")" -eq 1 -a "$(wc -c <"$TMP/err")" -lt 1100 ]
# Relative: the limit applies to the absolute path.
mkdir -p "$TMP/rel"
rel=.; while [ ${#rel} -lt $((4060 - ${#TMP} - 4)) ]; do rel=$rel/$(printf 'r%.0s' {1..200}); done
expect_exit 2 "relative --out near PATH_MAX" -- env -C "$TMP/rel" "$BIN" --data "$DATA" \
    --out "$rel" -n 1 -q
expect_grep "relative --out: said absolute" "the path is [0-9]+ bytes as an absolute path" "$TMP/err"
expect_true "relative --out: nothing created" -- [ -z "$(ls -A "$TMP/rel")" ]
# Just inside the limit still works.
ok=$TMP/ok; while [ ${#ok} -lt 3700 ]; do ok=$ok/$(printf 'k%.0s' {1..200}); done
expect_exit 0 "--out 3700 bytes works" -- "$BIN" --data "$DATA" --out "$ok" -n 1 -q
rm -rf "$TMP/ok"

# A parameter name longer than any buffer (item 12): before, "bad number" (leaky_relu)
# or a cut name (relu).
a64=$(printf 'a%.0s' {1..64}); a300=$(printf 'a%.0s' {1..300})
for n in "$a64" "$a300"; do
    expect_exit 2 "--fn ${#n}-character parameter" -- "$BIN" --data "$DATA" --out "$TMP/o3" \
        --fn "leaky_relu($n=1)" -n 1 -q
    expect_grep "--fn ${#n}-character parameter: unknown, named" \
        "^cifar-act: --fn: leaky_relu: unknown parameter 'a{20}.*' \(${#n} characters; parameters: negative_slope\)" "$TMP/err"
    expect_exit 2 "--fn relu ${#n}-character parameter" -- "$BIN" --data "$DATA" --out "$TMP/o3" \
        --fn "relu($n=1)" -n 1 -q
    expect_grep "--fn relu ${#n}-character parameter: unknown, named" \
        "^cifar-act: --fn: relu: unknown parameter 'a{20}.*' \(${#n} characters; relu takes no parameters\)" "$TMP/err"
done

# ---- 10. First run without a network (an empty network namespace: no packet can
# leave it, the official host cannot resolve). Before: 31 s of retries, no advice,
# and data/, a lock file and an empty cifar-10-batches-bin/ left behind. ----
if unshare -n true 2>/dev/null; then
    start=$(date +%s)
    expect_exit 1 "no network" -- env -u CIFAR_ACT_RETRY_BASE_MS timeout -k 2 60 \
        unshare -n "$BIN" --download-only --data "$TMP/nonet/data"
    took=$(( $(date +%s) - start ))
    expect_true "no network: not retried (${took}s)" -- [ "$took" -lt 10 ]
    expect_true "no network: no retry notices" -- [ "$(grep -c retry "$TMP/err")" -eq 0 ]
    expect_grep "no network: says what to do" "resolve.*--archive FILE.*--data DIR.*--offline" "$TMP/err"
    expect_true "no network: nothing left behind" -- [ ! -e "$TMP/nonet" ]
    mkdir -p "$TMP/nonet2"
    expect_exit 1 "no network, the job" -- timeout -k 2 60 unshare -n "$BIN" \
        --data "$TMP/nonet2/data" --out "$TMP/nonet2/out" -q
    expect_true "no network, the job: no empty --out or data left" -- \
        [ -z "$(ls -A "$TMP/nonet2")" ]
else
    fail "unshare -n is not available (needs root or user namespaces)"
fi

# ---- 8. Unreadable is not corrupt (as a non-root user: root reads anything).
# Before: treated as failed verification, downloaded over the user's file. Run in an
# empty network namespace and with a file:// URL, so that a regression that does try
# to download cannot reach any network. ----
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
    U=$TMP/perm; mkdir -p "$U/data/cifar-10-batches-bin"
    cp "$REAL/test_batch.bin" "$REAL/batches.meta.txt" "$U/data/cifar-10-batches-bin/"
    chmod 000 "$U/data/cifar-10-batches-bin/test_batch.bin"
    chmod -R a+rwX "$U" 2>/dev/null; chmod 000 "$U/data/cifar-10-batches-bin/test_batch.bin"
    chmod a+rx "$TMP"
    before=$(stat -c %i "$U/data/cifar-10-batches-bin/test_batch.bin")
    expect_exit 1 "unreadable file" -- unshare -n setpriv --reuid=65534 --regid=65534 --clear-groups \
        timeout -k 2 30 "$BIN" --download-only --data "$U/data" --url "file://$TMP/none.tar.gz"
    expect_grep "unreadable: permission denied, named" "test_batch.bin: Permission denied" "$TMP/err"
    expect_grep "unreadable: not replaced" "left as it is" "$TMP/err"
    expect_true "unreadable: the file is untouched" -- \
        [ "$(stat -c %i "$U/data/cifar-10-batches-bin/test_batch.bin")" = "$before" ]
    expect_exit 1 "unreadable, --offline" -- unshare -n setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$BIN" --download-only --data "$U/data" --offline
    expect_true "unreadable, --offline: no advice to fetch the archive" -- \
        [ "$(grep -c 'offline, so not downloading' "$TMP/err")" -eq 0 ]
    expect_exit 1 "unreadable, the job" -- unshare -n setpriv --reuid=65534 --regid=65534 \
        --clear-groups "$BIN" --data "$U/data" --url "file://$TMP/none.tar.gz" --out "$U/out" -n 1 -q
    expect_grep "the job says permission denied" "Permission denied" "$TMP/err"
else
    fail "setpriv and unshare (util-linux) and root are needed to test as another user"
fi

summary cli_hardening
