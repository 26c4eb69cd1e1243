#!/bin/bash
# cli_out.sh - the output directory never lies (issue 9 items 3 and 4), on the real
# binary: re-runs, failed and interrupted runs, two runs at once, killed runs, and
# sizes refused before any work.
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN
DATA=$CA_SHARED
count() { find "$1" -maxdepth 1 -name "$2" | wc -l | tr -d ' '; }

# truthful DIR: manifest.json lists exactly the cifar-act files in DIR (or neither exists).
truthful() {
    python3 - "$1" <<'EOF'
import json, os, re, sys
d = sys.argv[1]
ours = {f for f in os.listdir(d)
        if re.fullmatch(r'(input|output|compare)_[0-9]+\.png(\.tmp\..*)?|manifest\.json(\.tmp\..*)?', f)}
listed = set()
if os.path.exists(os.path.join(d, 'manifest.json')):
    m = json.load(open(os.path.join(d, 'manifest.json')))
    listed = {'manifest.json'} | {b[k] for b in m['batches'] for k in ('input', 'output', 'compare') if k in b}
if ours != listed:
    sys.exit(f"in {d}: files {sorted(ours - listed)[:5]} not listed, listed {sorted(listed - ours)[:5]} absent")
EOF
}
# all_listed DIR FOREIGN...: every file under DIR (recursively), but the FOREIGN ones the
# test planted, is manifest.json or in its "files" list, and every listed file is there.
all_listed() {
    python3 - "$@" <<'EOF'
import json, os, sys
d, foreign = sys.argv[1], set(sys.argv[2:])
have = {os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs} - foreign
listed = set()
if os.path.exists(os.path.join(d, 'manifest.json')):
    listed = {'manifest.json'} | set(json.load(open(os.path.join(d, 'manifest.json')))['files'])
if have != listed:
    sys.exit(f"in {d}: files {sorted(have - listed)[:5]} not listed, listed {sorted(listed - have)[:5]} absent")
EOF
}
no_staging() { ! ls -A "$(dirname "$1")" | grep -q cifar-act-stage; }

# ---- a second run with fewer batches, another layout ----
O=$TMP/o
expect_exit 0 first-run -- "$BIN" --data "$DATA" --out "$O" -n 5 -q
expect_exit 0 fewer-batches -- "$BIN" --data "$DATA" --out "$O" -n 2 -q
expect_true fewer-batches-4-pngs -- test "$(count "$O" '*.png')" = 4
expect_true fewer-batches-truthful -- truthful "$O"
expect_exit 0 pairs-after-separate -- "$BIN" --data "$DATA" --out "$O" -n 2 --layout pairs -q
expect_true pairs-only -- test "$(count "$O" 'input_*')" = 0 -a "$(count "$O" 'compare_*')" = 2
expect_true pairs-truthful -- truthful "$O"
expect_true no-staging-left -- no_staging "$O"

# ---- a failed run leaves the previous result ----
cp "$O/manifest.json" "$TMP/manifest.before"
bad=$TMP/bad/cifar-10-batches-bin
mkdir -p "$bad"
cp "$DATA/cifar-10-batches-bin/batches.meta.txt" "$bad/"
head -c $((3073 * 100)) "$DATA/cifar-10-batches-bin/test_batch.bin" >"$bad/test_batch.bin"
printf '\x0c' | dd of="$bad/test_batch.bin" bs=1 seek=$((3073 * 77)) conv=notrunc 2>/dev/null
expect_exit 1 failing-run -- "$BIN" --data "$TMP/bad" --no-verify --out "$O" -b 10 -q
expect_true failed-run-kept-manifest -- cmp -s "$O/manifest.json" "$TMP/manifest.before"
expect_true failed-run-truthful -- truthful "$O"
expect_true failed-run-no-staging -- no_staging "$O"

# ---- Ctrl-C and SIGTERM midway: the previous result, complete ----
O=$TMP/int
"$BIN" --data "$DATA" --out "$O" -n 3 -q
cp "$O/output_0000.png" "$TMP/png.before"
for sig in INT TERM; do
    want=$([ $sig = INT ] && echo 130 || echo 143)
    "$BIN" --data "$DATA" --out "$O" --fn relu -b 4 --jobs 1 -q 2>/dev/null &
    pid=$!
    sleep 0.3
    kill -$sig $pid 2>/dev/null
    wait $pid
    rc=$?
    expect_true "sig$sig-exit-$want ($rc)" -- test $rc -eq $want
    expect_true "sig$sig-previous-result" -- cmp -s "$O/output_0000.png" "$TMP/png.before"
    expect_true "sig$sig-truthful" -- truthful "$O"
    expect_true "sig$sig-3-batches" -- test "$(count "$O" '*.png')" = 6
    expect_true "sig$sig-no-staging" -- no_staging "$O"
done

# ---- SIGKILL: the staging directory is swept by the next run ----
"$BIN" --data "$DATA" --out "$O" -b 4 --jobs 1 -q &
pid=$!
sleep 0.3
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
expect_true killed-left-previous -- cmp -s "$O/output_0000.png" "$TMP/png.before"
expect_true killed-truthful -- truthful "$O"
: >"$O/output_0001.png.tmp.424242.0" # what a killed older version left
expect_exit 0 after-kill -- "$BIN" --data "$DATA" --out "$O" -n 1 -q
expect_true after-kill-swept -- no_staging "$O"
expect_true after-kill-no-temp -- test "$(count "$O" '*.tmp.*')" = 0
expect_true after-kill-truthful -- truthful "$O"

# ---- files that are not ours stay; ours of earlier runs go ----
O=$TMP/mixed
mkdir -p "$O/keep"
echo mine >"$O/notes.txt"
expect_exit 0 mixed-1 -- "$BIN" --data "$DATA" --out "$O" -n 3 -q
expect_exit 0 mixed-2 -- "$BIN" --data "$DATA" --out "$O" -n 1 -q
expect_true mixed-kept -- test -s "$O/notes.txt" -a -d "$O/keep"
expect_true mixed-2-pngs -- test "$(count "$O" '*.png')" = 2
expect_true mixed-truthful -- truthful "$O"

# ---- SIGKILL in the middle of a merge (outdir.h: "a run killed during a merge leaves
# no `last`"). The merge is a few ms of renames, so no outside signal lands in it:
# tests/killat.c (LD_PRELOAD) kills the run at its N-th rename or unlink in OUT (not
# counting the staging directory's own, before the merge). OUT holds an earlier run,
# a foreign notes.txt and a foreign keep/file, so the run merges. Two cases: more
# batches than the earlier run (3 -> 5: every file renamed over an old one or new) and
# fewer (5 -> 3: the earlier run's input_0003.png etc. are ours and stale, so the merge
# also removes them). ----
KILLAT=$(cd "$CA_BUILD/tests" 2>/dev/null && pwd)/killat.so
# killat N AFTER [SKIP] -- CMD...: CMD with the shim on $O: killed at the N-th counted
# call (0: never), before it or, with AFTER 1, after it; the count goes to $TMP/killat.n.
# ASan insists on coming first in the library list; LD_PRELOAD puts the shim before it.
killat() {
    local n=$1 after=$2 skip=.cifar-act-stage.; shift 2
    [ "$1" = -- ] || { skip=$1; shift; }
    shift
    env LD_PRELOAD="$KILLAT" CACT_KILLAT_DIR="$(realpath "$O")" CACT_KILLAT_SKIP="$skip" \
        CACT_KILLAT_N="$n" CACT_KILLAT_AFTER="$after" CACT_KILLAT_COUNT_FILE="$TMP/killat.n" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}
# merge_check WHAT DIR OLD NEW FOREIGN...: of the files in DIR but the FOREIGN ones and
# what is in staging directories ("ours"), with OLD the earlier run and NEW the new one:
#   whole   each is byte for byte a whole file of OLD or of NEW (both made by this binary,
#           so bytes, not pixels: the question is "whole or not"; a truncated PNG differs)
#   present every file both runs have is there but the manifest (renamed over, never absent)
#   none    there is no manifest.json
#   old|new exactly that run's files
merge_check() {
    python3 - "$@" <<'EOF'
import os, sys
what, d, old, new, foreign = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], set(sys.argv[5:])
def files(top):
    return {os.path.relpath(os.path.join(r, f), top) for r, _, fs in os.walk(top) for f in fs
            if not os.path.relpath(r, top).startswith('.cifar-act-stage.')} - foreign
def same(f, top):
    b = os.path.join(top, f)
    if not os.path.isfile(b):
        return False
    with open(os.path.join(d, f), 'rb') as x, open(b, 'rb') as y:
        return x.read() == y.read()
have, o, n = files(d), files(old), files(new)
if what == 'whole':
    bad = [f for f in sorted(have) if not (same(f, old) or same(f, new))]
    if bad:
        sys.exit(f"in {d}: neither the earlier run's nor the new run's whole file: {bad[:5]}")
elif what == 'present':
    gone = sorted((o & n) - have - {'manifest.json'})
    if gone:
        sys.exit(f"in {d}: replaced files absent: {gone[:5]}")
elif what == 'none':
    if 'manifest.json' in have:
        sys.exit(f"in {d}: manifest.json present after a kill during the merge")
else:
    top, want = (old, o) if what == 'old' else (new, n)
    if have != want or not all(same(f, top) for f in have):
        sys.exit(f"in {d}: not exactly the {what} run: extra {sorted(have - want)[:5]}, "
                 f"missing {sorted(want - have)[:5]}, "
                 f"changed {[f for f in sorted(have & want) if not same(f, top)][:5]}")
EOF
}
foreign_kept() { cmp -s "$1/notes.txt" "$2/notes.txt" && cmp -s "$1/keep/file" "$2/keep/file" &&
                 test "$(ls -A "$1/keep")" = file; }
expect_true killat-built -- test -f "$KILLAT"
for pair in "3 5" "5 3"; do
    read -r old_n new_n <<<"$pair"
    K=$TMP/killmerge-${old_n}to$new_n tag=killmerge-${old_n}to$new_n
    mkdir -p "$K/foreign/keep"
    printf 'notes %s\n' "$tag" >"$K/foreign/notes.txt"
    printf 'kept %s\n' "$tag" >"$K/foreign/keep/file"
    cp -a "$K/foreign" "$K/old"
    expect_exit 0 "$tag-earlier" -- "$BIN" --data "$DATA" --out "$K/old" -n $old_n -q
    cp -a "$K/old" "$K/new"
    # The whole merge, counted: M calls; its result is the new run, for comparison.
    O=$K/new
    rm -f "$TMP/killat.n"
    expect_exit 0 "$tag-count" -- killat 0 0 -- "$BIN" --data "$DATA" --out "$O" -n $new_n -q
    M=$(cat "$TMP/killat.n" 2>/dev/null || echo 0)
    echo "$tag: the merge makes $M counted calls"
    expect_true "$tag-M-plausible ($M)" -- test "$M" -gt 10
    expect_true "$tag-count-listed" -- all_listed "$O" notes.txt keep/file
    expect_true "$tag-earlier-foreign-untouched" -- foreign_kept "$K/old" "$K/foreign"
    for n in 1 2 $(((M + 1) / 2)) $((M - 1)) $M; do
        for after in 0 1; do
            t=$tag-N$n-$([ $after = 1 ] && echo after || echo before)
            state=none
            [ $n = 1 ] && [ $after = 0 ] && state=old # nothing done yet
            [ $n = "$M" ] && [ $after = 1 ] && state=new # the manifest is in: done
            O=$K/run
            rm -rf "$O" && cp -a "$K/old" "$O"
            expect_exit 137 "$t-killed" -- killat $n $after -- "$BIN" --data "$DATA" --out "$O" -n $new_n -q
            for what in $state whole present; do
                expect_true "$t-$what" -- merge_check $what "$O" "$K/old" "$K/new" notes.txt keep/file
            done
            expect_true "$t-foreign-untouched" -- foreign_kept "$O" "$K/foreign"
            # The next run sweeps the killed run's staging directory and ends truthful.
            expect_exit 0 "$t-next-run" -- "$BIN" --data "$DATA" --out "$O" -n 2 -q
            expect_true "$t-next-swept" -- test "$(find "$O" "$(dirname "$O")" -maxdepth 1 \
                -name '*cifar-act-stage*' | wc -l)" = 0
            expect_true "$t-next-no-tmp" -- test "$(find "$O" -name '*.tmp.*' | wc -l)" = 0
            expect_true "$t-next-listed" -- all_listed "$O" notes.txt keep/file
            expect_true "$t-next-foreign-untouched" -- foreign_kept "$O" "$K/foreign"
        done
    done
done
# Killed at the staging directory's first rename or unlink, before the commit: the
# earlier run, untouched (the shim counting everything in OUT).
O=$K/run
rm -rf "$O" && cp -a "$K/old" "$O"
expect_exit 137 killstage-killed -- killat 1 0 '' -- "$BIN" --data "$DATA" --out "$O" -n 3 -q
expect_true killstage-old -- merge_check old "$O" "$K/old" "$K/new" notes.txt keep/file

# ---- two runs at once: the second waits and says so; one run's files result ----
O=$TMP/two
"$BIN" --data "$DATA" --out "$O" --fn relu -b 8 --jobs 1 -q &
pid=$!
sleep 0.3
expect_exit 0 concurrent-second -- "$BIN" --data "$DATA" --out "$O" --fn sigmoid -n 3
wait $pid
expect_true "concurrent-first-ok" -- test $? -eq 0
expect_grep concurrent-notice "waiting for another cifar-act writing to .*two" "$TMP/err"
expect_grep concurrent-last-wins '"name": "sigmoid"' "$O/manifest.json"
expect_true concurrent-3-batches -- test "$(count "$O" '*.png')" = 6
expect_true concurrent-truthful -- truthful "$O"

# ---- sizes refused at once, naming the options and the limit (item 4) ----
start=$(date +%s)
expect_exit 2 pairs-scale-49 -- "$BIN" --data "$DATA" --out "$TMP/big" --layout pairs --scale 49
expect_grep pairs-scale-49 "^cifar-act: .*--scale.*27244x13426 PNG.*2\^30" "$TMP/err"
expect_exit 2 scale-64-batch-192 -- "$BIN" --data "$DATA" --out "$TMP/big" --scale 64 --batch 192
expect_grep scale-64-batch-192 "--batch.*17536x52352 PNG" "$TMP/err"
# UBSan's signed overflow in grid.c; refused before the (absent) data is looked at.
expect_exit 2 huge-grid -- "$BIN" --data "$TMP/none" --split train --no-verify --batch 50000 \
    --nrow 1 --padding 1024 --scale 64 --out "$TMP/big"
expect_grep huge-grid "133120x3379265536 PNG" "$TMP/err"
expect_true refused-fast -- test $(($(date +%s) - start)) -le 3
expect_true refused-nothing-written -- test ! -e "$TMP/big/manifest.json"
expect_true refused-one-line -- test "$(wc -l <"$TMP/err")" -eq 1

# ---- every file listed: html, html pixels, pairs and the gallery, in turn (both the
# swap and, with a planted foreign file, the merge) ----
for mode in swap merge; do
    G=$TMP/all-$mode
    mkdir -p "$G"
    foreign=()
    if [ $mode = merge ]; then echo mine >"$G/notes.txt"; foreign=(notes.txt); fi
    i=0
    for args in "-n 3 --no-html-pixels" "-n 2 --html-pixels" "--gallery relu,tanh" "-n 2 --layout pairs --no-html" \
                "-n 1 --html-pixels" "--gallery sigmoid --no-html" "-n 2"; do
        i=$((i + 1))
        expect_exit 0 "all-$mode-$i" -- "$BIN" --data "$DATA" --out "$G" -q $args
        expect_true "all-$mode-$i-listed" -- all_listed "$G" "${foreign[@]}"
    done
    expect_true "all-$mode-foreign-kept" -- test "$mode" = swap -o -f "$G/notes.txt"
done
expect_exit 0 gallery-kind -- "$BIN" --data "$DATA" --out "$TMP/gk" -q --gallery 'relu,gelu(approximate=tanh)'
expect_grep gallery-kind '"kind": "gallery"' "$TMP/gk/manifest.json"
expect_grep gallery-order '"spec": "gelu.approximate=.tanh' "$TMP/gk/manifest.json"

# ---- --gallery and the job's options: each honoured or refused, never ignored ----
# Refused, naming both options, before anything is written (before: all ran, exit 0,
# the option silently ignored; --logdir even left an empty directory).
G=$TMP/gopt
for args in "--inplace" "--no-lut" "--max-batches 2" "-n 2" "--logdir $TMP/gopt-tb" \
            "--layout pairs" "--layout separate" "--html-pixels" "--jobs 2" "-j 1"; do
    expect_exit 2 "gallery-refuses $args" -- "$BIN" --data "$DATA" --out "$G" --gallery relu $args -q
    long=$(set -- $args; case $1 in -n) echo --max-batches ;; -j) echo --jobs ;; *) echo "$1" ;; esac)
    expect_grep "gallery-refuses $args: names both" "^cifar-act: $long cannot be combined with --gallery \(" "$TMP/err"
    expect_true "gallery-refuses $args: nothing written" -- test ! -e "$G" -a ! -e "$TMP/gopt-tb"
done
expect_exit 2 gallery-batch-alone -- "$BIN" --data "$DATA" --out "$G" --gallery-batch 0 -q
expect_grep gallery-batch-alone "^cifar-act: --gallery-batch goes with --gallery" "$TMP/err"
# Honoured: each shows in gallery.json (or the PNG's size).
gj() { python3 -c "import json,sys; m=json.load(open('$G/gallery.json')); print(eval(sys.argv[1]))" "$1"; }
# (--offline and no network namespace: the test split is all the data there is.)
expect_exit 0 gallery-honours -- unshare -n "$BIN" --data "$DATA" --out "$G" --gallery relu -q --offline \
    --batch 10 --shuffle --seed 7 --gallery-batch 2 --normalize 0.5,0.5 --nrow 5 --padding 3 \
    --scale 2 --no-html --png-level 1
expect_true gallery-honours-data -- test "$(gj "m['batch_size'], m['shuffle'], m['seed'], m['batch'], len(m['images'])")" = "(10, True, 7, 2, 10)"
expect_true gallery-honours-grid -- test "$(gj "m['grid'], m['normalize']['mean'][0]")" = "({'style': 'torchvision', 'nrow': 5, 'padding': 3, 'scale': 2}, 0.5)"
expect_true gallery-honours-no-html -- test ! -e "$G/gallery.html"
expect_true gallery-honours-shuffle -- test "$(gj "m['images'][:3] != [20, 21, 22]")" = True

summary cli_out
