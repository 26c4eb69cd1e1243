#!/bin/bash
# cli_shard.sh - --shard K/N and --merge (issue #13 section 2): N shards run in any
# order, one after the other or all at once, into one --out/--logdir give what one
# unsharded run gives - the same PNG files, manifest.json, index.html and TensorBoard
# records (but wall_time), read back by TensorBoard's own loaders - for N = 1, 3 and 8,
# on the real test set (a 20-batch prefix and the whole 157 batches). Then OUT's
# promise with shards (outdir.h), the merge's messages and the usage errors.
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN
DATA=$CA_DATA
ROOT=${CA_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
VENV=$ROOT/build/venv
CIFAR_BIN=$DATA/cifar-10-batches-bin/test_batch.bin
# Never the network: every run reads ../shared (--data), and under unshare -n when we can.
NET=()
unshare -n true 2>/dev/null && NET=(unshare -n)
run() { "${NET[@]}" "$BIN" --data "$DATA" "$@"; }
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_COUNT JOB_COMPLETION_INDEX

# same REF DIR [REFLOG LOG]: DIR holds exactly REF's files, byte for byte (so the same
# pixels), no part and no staging directory left; the logs hold the same records.
# The manifests may differ only in where the event file is: each run has its own logdir
# and the event file's name holds a time and a pid (both must be there, though).
same() {
    local ref=$1 dir=$2 name=$3 m
    for m in "$ref" "$dir"; do
        [ -f "$m/manifest.json" ] && sed -E -e 's|("logdir": )"[^"]*"|\1"L"|' \
            -e 's|("event_file": )"events\.out\.tfevents\.[^"]*"|\1"E"|' \
            "$m/manifest.json" >"$TMP/m.$([ "$m" = "$ref" ] && echo a || echo b)"
    done
    if diff -r -x manifest.json "$ref" "$dir" >"$TMP/diff" 2>&1 &&
        diff "$TMP/m.a" "$TMP/m.b" >>"$TMP/diff" 2>&1; then pass; else
        fail "$name: $dir differs from $ref: $(head -c 600 "$TMP/diff")"; fi
    rm -f "$TMP/m.a" "$TMP/m.b"
    if [ $# -ge 5 ]; then
        local n
        n=$(ls -A "$5" | wc -l)
        if [ "$n" -eq 1 ] && ls "$5"/events.out.tfevents.* >/dev/null 2>&1; then pass; else
            fail "$name: $5 holds $(ls -A "$5" | tr '\n' ' '), not one event file"; fi
        if [ -x "$VENV/bin/python" ]; then
            "$VENV/bin/python" "$ROOT/tests/tb_check.py" same "$4" "$5" >"$TMP/same" 2>&1
            expect_grep "$name-same-records" '^PASS same-records-but-wall-time' "$TMP/same"
        else
            python3 "$ROOT/tools/tfevents_read.py" --records "$4" | grep '^record' | \
                sed -E 's/wall_time=[^ ]+//' >"$TMP/r1"
            python3 "$ROOT/tools/tfevents_read.py" --records "$5" | grep '^record' | \
                sed -E 's/wall_time=[^ ]+//' >"$TMP/r2"
            expect_true "$name-same-records" -- cmp -s "$TMP/r1" "$TMP/r2"
        fi
    fi
}

# shards N ORDER OUT LOG MODE ARGS...: shards K in ORDER (seq: one after another; par:
# all at once) of N, with ARGS; every one must exit 0.
shards() {
    local n=$1 order=$2 out=$3 log=$4 mode=$5 k pids=() bad=0
    shift 5
    local extra=()
    [ "$log" != - ] && extra=(--logdir "$log")
    for k in $order; do
        if [ "$mode" = par ]; then
            run --out "$out" "${extra[@]}" --shard "$k/$n" -q "$@" &
            pids+=($!)
        else
            run --out "$out" "${extra[@]}" --shard "$k/$n" -q "$@" || bad=1
        fi
    done
    for k in "${pids[@]}"; do wait "$k" || bad=1; done
    return $bad
}

# ---- Equivalence: 20 batches, with the viewer and an event file ----
# The pixel files too: each spans several shards' batches, so the shards write their own
# batches' bytes (html/pxshard_K.b64) and the merge cuts them into html/px_F.js; `same`
# compares them byte for byte and finds no pxshard file left.
A=(-n 20 -j 1)
run --out "$TMP/ref" --logdir "$TMP/reflog" -q "${A[@]}"
expect_true ref-has-manifest -- test -s "$TMP/ref/manifest.json"
for case in "1 0 seq" "3 2_0_1 seq" "3 0_1_2 par" "8 7_6_5_4_3_2_1_0 seq" "8 3_0_7_1_6_2_5_4 par"; do
    set -- $case
    n=$1 order=${2//_/ } mode=$3 tag="n$1-$3"
    expect_true "$tag-exit-0" -- shards "$n" "$order" "$TMP/$tag" "$TMP/$tag.log" "$mode" "${A[@]}"
    same "$TMP/ref" "$TMP/$tag" "$tag" "$TMP/reflog" "$TMP/$tag.log"
done

# Other settings: pairs, a channel-wise chain (float path), shuffle, no viewer.
B=(-n 9 -j 2 --layout pairs --fn softmax --normalize 0.5,0.5 --shuffle --seed 7 --no-html)
run --out "$TMP/refb" -q "${B[@]}"
expect_true pairs-exit-0 -- shards 3 "1 2 0" "$TMP/b" - par "${B[@]}"
same "$TMP/refb" "$TMP/b" pairs-softmax-shuffle

# Without pixel files; and the whole test set in batches of 96 (105 batches, five to a
# pixel file, the last batch of 16 images), so a short batch ends a pixel file.
run --out "$TMP/refnp" -q -n 12 -j 1 --no-html-pixels
expect_true no-pixels-exit-0 -- shards 3 "2 1 0" "$TMP/np" - par -n 12 -j 1 --no-html-pixels
same "$TMP/refnp" "$TMP/np" no-html-pixels
run --out "$TMP/refshort" -q -j 2 --batch 96
expect_true short-last-exit-0 -- shards 4 "3 1 0 2" "$TMP/short" - seq -j 2 --batch 96
same "$TMP/refshort" "$TMP/short" short-last-batch

# More shards than batches: the empty ones write an empty part; the result is the same.
run --out "$TMP/ref5" -q -n 5 -j 1
expect_true n8-of-5-exit-0 -- shards 8 "7 6 5 4 3 2 1 0" "$TMP/e" - seq -n 5 -j 1
same "$TMP/ref5" "$TMP/e" more-shards-than-batches

# The whole test set, 157 batches, 3 shards at once; TensorBoard's own loaders (the
# PNGs in TensorBoard's style, so that they are what the event file's images must be).
run --out "$TMP/full" --logdir "$TMP/fulllog" -q -j 1 --style tensorboard
expect_true full-exit-0 -- shards 3 "0 1 2" "$TMP/fs" "$TMP/fslog" par -j 1 --style tensorboard
same "$TMP/full" "$TMP/fs" full-157 "$TMP/fulllog" "$TMP/fslog"
if [ -x "$VENV/bin/python" ]; then
    # EventAccumulator (the Python loader): every step 0..156 in order, pixels ours.
    (cd "$TMP" && "$VENV/bin/python" "$ROOT/tests/tb_check.py" loader "$TMP/fslog" "$TMP/fs" \
        "$CIFAR_BIN" 64) >"$TMP/loader" 2>&1
    expect_grep full-loader-input-steps '^PASS loader-input-steps' "$TMP/loader"
    expect_grep full-loader-output-steps '^PASS loader-output-steps' "$TMP/loader"
    expect_grep full-loader-input-pixels '^PASS loader-input-pixels-equal-our-pngs' "$TMP/loader"
    expect_grep full-loader-histogram-steps '^PASS loader-output-values-steps' "$TMP/loader"
    expect_true full-loader-no-fail -- bash -c "! grep -q '^FAIL' '$TMP/loader'"
    # A real server, --load_fast=false and the Rust data server: all 157 steps listed.
    trap 'tb_stop; rm -rf "$TMP"' EXIT
    for mode in python rust; do
        extra=()
        [ "$mode" = python ] && extra=(--load_fast=false)
        if ! tb_start "$TMP/tb-$mode.log" "$VENV/bin/tensorboard" --logdir "$TMP/fslog" \
            --host 127.0.0.1 --port 0 --samples_per_plugin images=100000 "${extra[@]}"; then
            fail "tensorboard-$mode did not start: $(tail -n 5 "$TMP/tb-$mode.log")"
        else
            "$VENV/bin/python" "$ROOT/tests/tb_check.py" server "$TB_URL" "$TMP/fs" 157 \
                >"$TMP/server-$mode" 2>&1
            expect_grep "server-$mode-input-157-steps" '^PASS server-input-lists-all-157-steps' \
                "$TMP/server-$mode"
            expect_grep "server-$mode-output-pixels" \
                '^PASS server-output-individualImage-pixels-are-ours' "$TMP/server-$mode"
            expect_true "server-$mode-no-fail" -- bash -c "! grep -q '^FAIL' '$TMP/server-$mode'"
        fi
        tb_stop
    done
else
    echo "SKIP cli_shard: TensorBoard loaders (no $VENV; make venv)"
fi

# ---- OUT's promise with shards ----
# manifest.json absent or true at every moment: a watcher reads OUT while 8 shards
# replace an earlier complete run of other settings (relu) at once.
run --out "$TMP/w" -q -n 20 -j 1 --fn relu
python3 - "$TMP/w" >"$TMP/watch" 2>&1 <<'EOF' &
import json, os, sys, time
d = sys.argv[1]
seen = bad = 0
end = time.time() + 60
while time.time() < end and not os.path.exists(d + ".stop"):
    try:
        text = open(os.path.join(d, "manifest.json")).read()
    except FileNotFoundError:
        continue
    m = json.loads(text)  # never half-written
    names = set(os.listdir(d))
    seen += 1
    missing = [f for f in m["files"] if not os.path.exists(os.path.join(d, f))]
    parts = [n for n in names if n.startswith("manifest.part-")]
    if missing or parts:
        bad += 1
        print("bad moment: missing %s, parts %s" % (missing[:3], parts[:3]))
print("seen %d bad %d" % (seen, bad))
EOF
WATCH=$!
expect_true watched-exit-0 -- shards 8 "0 1 2 3 4 5 6 7" "$TMP/w" - par -n 20 -j 1
touch "$TMP/w.stop"
wait $WATCH
expect_grep manifest-never-lies '^seen [0-9]+ bad 0$' "$TMP/watch"
run --out "$TMP/wref" -q -n 20 -j 1
same "$TMP/wref" "$TMP/w" after-relu-run

# While a sharded run is incomplete there is no manifest.json, and an earlier complete
# run's files are gone from the first shard's commit on.
run --out "$TMP/p" -q -n 6 -j 1 --fn tanh
run --out "$TMP/p" -q -n 6 -j 1 --shard 1/3
expect_true incomplete-no-manifest -- test ! -e "$TMP/p/manifest.json"
expect_true incomplete-no-old-index -- test ! -e "$TMP/p/index.html"
expect_true incomplete-old-files-gone -- test ! -e "$TMP/p/input_0000.png"
expect_true incomplete-own-files -- test -s "$TMP/p/output_0004.png" -a -s "$TMP/p/manifest.part-0001.json"
# Said when it happens (and only then): a shard over a complete run replaces it.
run --out "$TMP/said" -q -n 3 -j 1
expect_exit 0 shard-over-complete -- "${NET[@]}" "$BIN" --data "$DATA" --out "$TMP/said" -n 3 -j 1 --shard 0/2
expect_grep shard-over-complete-says 'said held a complete run; this shard started a new one there' "$TMP/out"
expect_exit 0 shard-over-part -- "${NET[@]}" "$BIN" --data "$DATA" --out "$TMP/said" -n 3 -j 1 --shard 0/2
expect_true shard-over-part-silent -- bash -c "! grep -q 'held a complete run' '$TMP/out'"
# A part of another run (other settings, other N) is cleared by the next commit.
run --out "$TMP/p" -q -n 6 -j 1 --shard 0/2 --fn relu
expect_true other-run-part-cleared -- test ! -e "$TMP/p/output_0001.png"
expect_true other-run-part-gone -- test ! -e "$TMP/p/manifest.part-0001.json"
expect_true other-run-ours-there -- test -s "$TMP/p/manifest.part-0000.json"
expect_true p-exit-0 -- shards 3 "2 0 1" "$TMP/p" - seq -n 6 -j 1
run --out "$TMP/pref" -q -n 6 -j 1
same "$TMP/pref" "$TMP/p" after-other-runs

# Over an earlier run of the other layout, with pixel files: a shard keeps only the
# names its own run writes (not input_K.png under --layout pairs, nor an earlier run's
# html/pxshard file when this run writes none).
run --out "$TMP/lay" -q -n 6 -j 1
run --out "$TMP/lay" -q -n 6 -j 1 --shard 0/3
expect_true lay-exit-0 -- shards 3 "0 2 1" "$TMP/lay" - seq -n 6 -j 1 --layout pairs --no-html-pixels
run --out "$TMP/layref" -q -n 6 -j 1 --layout pairs --no-html-pixels
same "$TMP/layref" "$TMP/lay" other-layout-over-default

# A killed shard leaves no part and a staging directory; the next commit sweeps it;
# --merge names the missing shard.
rm -rf "$TMP/k"
run --out "$TMP/k" -q -n 4 -j 1 --shard 0/2
# (other settings, so slow that it is surely killed mid-way: 20 batches at scale 8)
"${NET[@]}" "$BIN" --data "$DATA" --out "$TMP/k" --shard 1/2 -q -j 1 --scale 8 -n 40 &
KPID=$!
for _ in $(seq 1 100); do
    ls -d "$TMP"/k/.cifar-act-stage.* >/dev/null 2>&1 && break
    sleep 0.05
done
kill -9 $KPID 2>/dev/null
wait $KPID 2>/dev/null
expect_true killed-no-part -- test ! -e "$TMP/k/manifest.part-0001.json"
expect_true killed-no-manifest -- test ! -e "$TMP/k/manifest.json"
expect_exit 1 merge-missing -- "$BIN" --merge "$TMP/k"
expect_grep merge-names-missing 'k: 1 of 2 shards missing \(no part\): 1$' "$TMP/err"
run --out "$TMP/k" -q -n 4 -j 1 --shard 0/2
expect_true killed-stage-swept -- bash -c "! ls -d '$TMP'/k/.cifar-act-stage.* 2>/dev/null"
run --out "$TMP/k" -q -n 4 -j 1 --shard 1/2
run --out "$TMP/kref" -q -n 4 -j 1
same "$TMP/kref" "$TMP/k" after-kill

# --merge: by hand, the same result; nothing to do after; unreadable parts named.
rm -rf "$TMP/mm"
for k in 0 2 1; do run --out "$TMP/mm" -q -n 6 -j 1 --shard $k/3; done
same "$TMP/pref" "$TMP/mm" auto-merge
rm -rf "$TMP/mm"
for k in 0 2; do run --out "$TMP/mm" -q -n 6 -j 1 --shard $k/3; done
expect_exit 1 merge-two-of-three -- "$BIN" --merge "$TMP/mm"
expect_grep merge-lists-missing '1 of 3 shards missing \(no part\): 1$' "$TMP/err"
cp "$TMP/mm/manifest.part-0000.json" "$TMP/part0"
printf '{"cifar-act-part": 1, "run": "x"' >"$TMP/mm/manifest.part-0001.json"
expect_exit 1 merge-bad-part -- "$BIN" --merge "$TMP/mm"
expect_grep merge-bad-part-named 'manifest\.part-0001\.json' "$TMP/err"
rm "$TMP/mm/manifest.part-0001.json"
sed 's/"batch_size": 64/"batch_size": 65/' "$TMP/part0" >"$TMP/mm/manifest.part-0000.json"
expect_exit 1 merge-tampered-settings -- "$BIN" --merge "$TMP/mm"
expect_grep merge-tampered-named 'manifest\.part-0000\.json.*run' "$TMP/err"
cp "$TMP/part0" "$TMP/mm/manifest.part-0000.json"
# The missing shard's part, made elsewhere, copied in with its files: --merge completes.
run --out "$TMP/m1" -q -n 6 -j 1 --shard 1/3
cp "$TMP"/m1/*_0001.png "$TMP"/m1/*_0004.png "$TMP/mm/"
cp "$TMP/m1/html/pxshard_0001.b64" "$TMP/mm/html/"
# (its pixel bytes cut short first: the merge names the file and writes nothing)
cp "$TMP/m1/manifest.part-0001.json" "$TMP/mm/"
truncate -s -4096 "$TMP/mm/html/pxshard_0001.b64"
expect_exit 1 merge-short-pixels -- "$BIN" --merge "$TMP/mm"
expect_grep merge-short-pixels-named 'html/pxshard_0001\.b64: .* bytes, but shard 1 of 3' "$TMP/err"
expect_true merge-short-no-manifest -- test ! -e "$TMP/mm/manifest.json"
cp "$TMP/m1/html/pxshard_0001.b64" "$TMP/mm/html/"
expect_exit 0 merge-by-hand -- "$BIN" --merge "$TMP/mm"
expect_grep merge-says 'merged 3 parts \(6 batches, 384 images\)' "$TMP/out"
same "$TMP/pref" "$TMP/mm" merge-by-hand
expect_exit 0 merge-nothing-to-do -- "$BIN" --merge "$TMP/mm"
expect_grep merge-nothing 'nothing to merge' "$TMP/out"
expect_exit 1 merge-no-dir -- "$BIN" --merge "$TMP/no-such"
expect_grep merge-no-dir-named 'no-such: no such directory' "$TMP/err"
mkdir -p "$TMP/empty"
expect_exit 1 merge-no-part -- "$BIN" --merge "$TMP/empty"
expect_grep merge-no-part-says 'no manifest part' "$TMP/err"

# ---- --shard auto: Slurm's and Kubernetes' variables ----
rm -rf "$TMP/auto"
expect_exit 0 slurm-auto -- env SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=4 \
    SLURM_ARRAY_TASK_COUNT=3 "${NET[@]}" "$BIN" --data "$DATA" --out "$TMP/auto" -n 6 -j 1 --shard auto
expect_grep slurm-auto-k1 'shard 1 of 3 done' "$TMP/out"
expect_exit 0 k8s-auto -- env JOB_COMPLETION_INDEX=2 \
    "${NET[@]}" "$BIN" --data "$DATA" --out "$TMP/auto" -n 6 -j 1 --shard auto/3
expect_grep k8s-auto-k2 'shard 2 of 3 done' "$TMP/out"
expect_exit 0 slurm-auto-n -- env SLURM_ARRAY_TASK_ID=10 SLURM_ARRAY_TASK_MIN=10 \
    JOB_COMPLETION_INDEX=2 "${NET[@]}" "$BIN" --data "$DATA" --out "$TMP/auto" -n 6 -j 1 --shard auto/3
expect_grep slurm-first-k0-merged 'shard 0 of 3 done; all 3 parts there' "$TMP/out"
same "$TMP/pref" "$TMP/auto" auto
expect_exit 2 auto-no-count -- env SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=0 \
    "$BIN" --data "$DATA" --out "$TMP/x" --shard auto
expect_grep auto-no-count-named 'SLURM_ARRAY_TASK_COUNT is not set' "$TMP/err"
expect_exit 2 auto-no-id -- env SLURM_ARRAY_TASK_COUNT=3 "$BIN" --data "$DATA" --out "$TMP/x" --shard auto
expect_grep auto-no-id-named 'SLURM_ARRAY_TASK_ID is not set' "$TMP/err"
expect_exit 2 auto-n-nothing -- "$BIN" --data "$DATA" --out "$TMP/x" --shard auto/4
expect_grep auto-n-nothing-named 'SLURM_ARRAY_TASK_ID is not set, nor JOB_COMPLETION_INDEX' "$TMP/err"
expect_exit 2 auto-no-min -- env SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 \
    "$BIN" --data "$DATA" --out "$TMP/x" --shard auto
expect_grep auto-no-min-named 'SLURM_ARRAY_TASK_MIN is not set' "$TMP/err"
expect_exit 2 auto-gap -- env SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_COUNT=4 \
    "$BIN" --data "$DATA" --out "$TMP/x" --shard auto
expect_grep auto-gap-named 'SLURM_ARRAY_TASK_ID 6 - SLURM_ARRAY_TASK_MIN 0 is not below N = 4' "$TMP/err"
expect_exit 2 k8s-index-too-big -- env JOB_COMPLETION_INDEX=4 "$BIN" --data "$DATA" --out "$TMP/x" --shard auto/4
expect_grep k8s-index-named 'JOB_COMPLETION_INDEX is not a whole number in range \(0\.\.3\)' "$TMP/err"
expect_exit 2 k8s-index-junk -- env JOB_COMPLETION_INDEX=-1 "$BIN" --data "$DATA" --out "$TMP/x" --shard auto/4
expect_true auto-wrote-nothing -- test ! -e "$TMP/x"

# ---- Usage errors: one line, exit 2, nothing written ----
for bad in "3/3" "0/0" "1/1025" "x" "1" "-1/2" "1/2/3" "auto/0" "auto/x"; do
    expect_exit 2 "shard-$bad" -- "$BIN" --data "$DATA" --out "$TMP/x" --shard "$bad"
    expect_grep "shard-$bad-says" '^cifar-act: --shard' "$TMP/err"
done
expect_exit 2 shard-gallery -- "$BIN" --data "$DATA" --out "$TMP/x" --shard 0/2 --gallery
expect_grep shard-gallery-says 'cannot be combined with --gallery' "$TMP/err"
expect_exit 2 shard-tensor -- "$BIN" --shard 0/2 --tensor '[1,2]'
expect_grep shard-tensor-says 'cannot be combined with --tensor' "$TMP/err"
expect_exit 2 shard-download-only -- "${NET[@]}" "$BIN" --data "$TMP/x" --shard 0/2 --download-only
expect_grep shard-download-only-says 'cannot be combined with --download-only' "$TMP/err"
expect_exit 2 shard-logdir-alone -- "$BIN" --data "$DATA" --logdir "$TMP/x" --shard 0/2
expect_grep shard-logdir-alone-says 'needs an output directory' "$TMP/err"
expect_exit 2 merge-with-shard -- "$BIN" --merge "$TMP/x" --shard 0/2
expect_true usage-wrote-nothing -- test ! -e "$TMP/x"

summary cli_shard
