#!/bin/bash
# cli_main.sh - the real binary: exit codes, messages, files written and not written.
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN
DATA=${CA_DATA:-$(cact_find_data "${CA_ROOT:-.}")}
if [ -z "$DATA" ]; then
    fail "the real test set was not found (\$CIFAR_ACT_DATA, ./data, ../shared)"
    summary cli_main; exit
fi

# png_size FILE -> "WxH" from the IHDR chunk.
png_size() {
    od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'
}
count() { find "$1" -name "$2" | wc -l | tr -d ' '; }

# ---- help, version, list, usage errors ----
expect_exit 0 help -- "$BIN" --help
expect_grep help-examples 'Examples:' "$TMP/out"
expect_grep help-fn "leaky_relu\(negative_slope=0.2\)" "$TMP/out"
expect_exit 0 version -- "$BIN" --version
expect_grep version '^cifar-act [0-9]+\.[0-9]+' "$TMP/out"
expect_exit 0 list -- "$BIN" --list
for f in relu relu6 leaky_relu rrelu elu selu celu gelu silu mish sigmoid hardsigmoid tanh \
         hardtanh hardswish hardshrink softshrink tanhshrink softplus softsign logsigmoid \
         threshold prelu identity softmax log_softmax softmin; do
    expect_grep "list-$f" "^$f " "$TMP/out"
done
expect_grep list-params 'negative_slope=0.01' "$TMP/out"

expect_exit 2 unknown-option -- "$BIN" --frobnicate
expect_grep unknown-option "^cifar-act: unknown option '--frobnicate'" "$TMP/err"
expect_true unknown-option-one-line -- test "$(wc -l <"$TMP/err")" -eq 1
expect_exit 2 unknown-short-option -- "$BIN" -z
expect_grep unknown-short-option "unknown option '-z'" "$TMP/err"
expect_exit 2 missing-value -- "$BIN" --batch
expect_grep missing-value "^cifar-act: --batch needs a value" "$TMP/err"
expect_exit 2 stray-argument -- "$BIN" extra
expect_grep stray-argument "unexpected argument 'extra'" "$TMP/err"
expect_exit 2 bad-batch -- "$BIN" --batch 0
expect_grep bad-batch "^cifar-act: --batch: '0' is not a whole number" "$TMP/err"
expect_exit 2 bad-batch-text -- "$BIN" --batch 12x
expect_exit 2 bad-level -- "$BIN" --png-level 10
expect_exit 2 bad-style -- "$BIN" --style pil
expect_grep bad-style 'choose one of: torchvision, tensorboard' "$TMP/err"
expect_exit 2 unknown-fn -- "$BIN" --fn sigmod
expect_grep unknown-fn 'sigmoid' "$TMP/err"
expect_exit 2 unknown-param -- "$BIN" --fn 'leaky_relu(slope=0.2)'
expect_grep unknown-param 'negative_slope' "$TMP/err"
expect_exit 2 bad-normalize -- "$BIN" --normalize 0.5
expect_exit 2 coarse-cifar10 -- "$BIN" --label coarse
expect_true one-line-errors -- test "$(wc -l <"$TMP/err")" -eq 1

# ---- the main job on the real test set ----
O=$TMP/o1
expect_exit 0 run-2-batches -- "$BIN" --data "$DATA" --out "$O" --max-batches 2 --fn sigmoid
expect_grep summary '2 batches, 128 images -> 4 PNG files' "$TMP/out"
expect_true files-0 -- test -s "$O/input_0000.png" -a -s "$O/output_0000.png"
expect_true files-1 -- test -s "$O/input_0001.png" -a -s "$O/output_0001.png"
expect_true no-batch-2 -- test ! -e "$O/input_0002.png"
expect_true size-274 -- test "$(png_size "$O/input_0000.png")" = 274x274
expect_true manifest -- test -s "$O/manifest.json"
expect_true manifest-json -- python3 -c "
import json,sys
m=json.load(open('$O/manifest.json'))
assert m['batch_size']==64 and len(m['batches'])==2, m['batch_size']
b=m['batches'][1]
assert b['images'][0]==64 and b['input']=='input_0001.png' and b['output']=='output_0001.png'
assert m['batches'][0]['labels'][:4]==[3,8,8,0] and m['batches'][0]['class_names'][0]=='cat'
assert m['functions'][0]['name']=='sigmoid' and m['functions'][0]['module']=='Sigmoid'
assert m['tool']=='cifar-act' and m['version'], m.get('version')
s=b['output_stats']; assert 0.5<=s['min']<=s['mean']<=s['max']<=0.7311, s
s=b['input_stats']; assert 0<=s['min']<=s['mean']<=s['max']<=1, s
"
expect_true no-temp-files -- test "$(count "$O" '*.tmp.*')" = 0

O=$TMP/full
expect_exit 0 full-run -- "$BIN" --data "$DATA" --out "$O" --quiet
expect_true quiet -- test ! -s "$TMP/out" -a ! -s "$TMP/err"
expect_true full-314 -- test "$(count "$O" '*.png')" = 314
expect_true last-274x70 -- test "$(png_size "$O/output_0156.png")" = 274x70

O=$TMP/tb
expect_exit 0 tensorboard -- "$BIN" --data "$DATA" --out "$O" --style tensorboard -n 1 -q
expect_true tb-256 -- test "$(png_size "$O/output_0000.png")" = 256x256
expect_exit 0 drop-last -- "$BIN" --data "$DATA" --out "$TMP/dl" --drop-last -b 1000 -q
expect_true drop-last-10 -- test "$(count "$TMP/dl" 'output_*.png')" = 10
expect_exit 0 batch-3 -- "$BIN" --data "$DATA" --out "$TMP/b3" -b 3 -n 2 -q
expect_true batch-3-size -- test "$(png_size "$TMP/b3/input_0000.png")" = 104x36

O=$TMP/pairs
expect_exit 0 pairs -- "$BIN" --data "$DATA" --out "$O" --layout pairs --scale 2 -n 1 -q
expect_true pairs-file -- test -s "$O/compare_0000.png" -a ! -e "$O/input_0000.png"
expect_true pairs-size -- test "$(png_size "$O/compare_0000.png")" = 1112x548

# ---- same pixels whatever the route: jobs, in-place, float path ----
same_dirs() { # same_dirs A B: every PNG and the manifest byte-identical
    local f rc=0
    for f in "$1"/*.png "$1"/manifest.json; do cmp -s "$f" "$2/${f##*/}" || { echo "differs: $f"; rc=1; }; done
    [ "$(count "$1" '*.png')" = "$(count "$2" '*.png')" ] || rc=1
    return $rc
}
for fn in sigmoid 'leaky_relu(negative_slope=0.2)' softmax; do
    args=(--data "$DATA" --fn "$fn" --normalize 0.5,0.25 -n 3 -b 50 -q)
    "$BIN" "${args[@]}" --out "$TMP/j1" --jobs 1
    "$BIN" "${args[@]}" --out "$TMP/j2" --jobs 2
    "$BIN" "${args[@]}" --out "$TMP/ip" --inplace --no-lut
    "$BIN" "${args[@]}" --out "$TMP/fl" --no-lut
    expect_true "jobs-identical $fn" -- same_dirs "$TMP/j1" "$TMP/j2"
    expect_true "inplace-identical $fn" -- same_dirs "$TMP/j1" "$TMP/ip"
    expect_true "float-path-identical $fn" -- same_dirs "$TMP/j1" "$TMP/fl"
    rm -rf "$TMP/j1" "$TMP/j2" "$TMP/ip" "$TMP/fl"
done

# ---- shuffle ----
"$BIN" --data "$DATA" --out "$TMP/s1" --shuffle --seed 7 -n 1 -q
"$BIN" --data "$DATA" --out "$TMP/s2" --shuffle --seed 7 -n 1 -q
"$BIN" --data "$DATA" --out "$TMP/s3" --shuffle --seed 8 -n 1 -q
expect_true shuffle-same-seed -- cmp -s "$TMP/s1/input_0000.png" "$TMP/s2/input_0000.png"
differs() { ! cmp -s "$1" "$2"; }
expect_true shuffle-other-seed -- differs "$TMP/s1/input_0000.png" "$TMP/s3/input_0000.png"
expect_grep shuffle-manifest '"seed": 7' "$TMP/s1/manifest.json"

# ---- data directory from the environment ----
expect_exit 0 env-data -- env CIFAR_ACT_DATA="$DATA" "$BIN" --out "$TMP/env" -n 1 -q
expect_true env-data-files -- test -s "$TMP/env/output_0000.png"

# ---- errors: clear, one line, exit 1, nothing written ----
touch "$TMP/plainfile"
expect_exit 1 out-not-dir -- "$BIN" --data "$DATA" --out "$TMP/plainfile/sub" -n 1
expect_grep out-not-dir "plainfile" "$TMP/err"

bad=$TMP/bad/cifar-10-batches-bin
mkdir -p "$bad"
cp "$DATA/cifar-10-batches-bin/batches.meta.txt" "$bad/"
head -c 30000 "$DATA/cifar-10-batches-bin/test_batch.bin" >"$bad/test_batch.bin"
expect_exit 1 truncated -- "$BIN" --data "$TMP/bad" --no-verify --out "$TMP/bo" -q
expect_grep truncated 'test_batch.bin: size 30000 bytes is not a multiple of the 3073-byte record' "$TMP/err"
expect_true truncated-nothing-written -- test "$(count "$TMP/bo" '*')" -le 1
: >"$bad/test_batch.bin"
expect_exit 1 empty -- "$BIN" --data "$TMP/bad" --no-verify --out "$TMP/bo" -q
expect_grep empty 'is empty' "$TMP/err"
head -c $((3073 * 100)) "$DATA/cifar-10-batches-bin/test_batch.bin" >"$bad/test_batch.bin"
printf '\x0c' | dd of="$bad/test_batch.bin" bs=1 seek=$((3073 * 77)) conv=notrunc 2>/dev/null
expect_exit 1 bad-label -- "$BIN" --data "$TMP/bad" --no-verify --out "$TMP/bo" -b 10 -q
expect_grep bad-label 'record 77 has label 12' "$TMP/err"
expect_true bad-label-nothing-written -- test "$(count "$TMP/bo" '*.png')" = 0
rm "$bad/test_batch.bin"
expect_exit 1 missing -- "$BIN" --data "$TMP/bad" --no-verify --out "$TMP/bo" -q
expect_grep missing 'test_batch.bin not found.*--download-only' "$TMP/err"
expect_true errors-one-line -- test "$(wc -l <"$TMP/err")" -eq 1

# ---- Ctrl-C and SIGTERM: stop cleanly with 130 / 143, no temporary files ----
# A slow job (zlib level 9, 2x grids, one thread) so the signal lands mid-run.
for sig in INT:130 TERM:143; do
    "$BIN" --data "$DATA" --out "$TMP/sig${sig%:*}" -b 8 -q --jobs 1 --png-level 9 --scale 2 \
        --max-batches 400 &
    pid=$!
    sleep 0.5
    kill -"${sig%:*}" $pid 2>/dev/null
    wait $pid
    rc=$?
    expect_true "sig${sig%:*}-exit ($rc)" -- test $rc -eq "${sig#*:}"
    expect_true "sig${sig%:*}-no-temp" -- test "$(count "$TMP/sig${sig%:*}" '*.tmp.*')" = 0
done

# ---- option values the parser must refuse, with one line naming the option ----
expect_exit 2 seed-space -- "$BIN" --seed ' -1'
expect_grep seed-space "^cifar-act: --seed: ' -1' is not a whole number" "$TMP/err"
expect_exit 2 max-batches-space -- "$BIN" --max-batches ' -1'
expect_exit 2 sha256-short -- "$BIN" --sha256 abc
expect_grep sha256-short '^cifar-act: --sha256: .abc. is not a SHA-256' "$TMP/err"
expect_exit 2 data-empty -- "$BIN" --data ''
expect_grep data-empty '^cifar-act: --data: empty' "$TMP/err"
expect_exit 2 normalize-prefix-once -- "$BIN" --normalize 0.5,x
expect_true normalize-prefix-once-text -- test "$(grep -o -- '--normalize' "$TMP/err" | wc -l)" -eq 1
expect_exit 2 fn-chain-limit -- "$BIN" $(for i in $(seq 17); do printf -- '--fn relu '; done)
expect_grep fn-chain-limit 'at most 16 functions' "$TMP/err"

# ---- a full stdout is an error, not a silent success ----
if [ -w /dev/full ]; then
    expect_exit 1 help-dev-full -- sh -c "'$BIN' --help >/dev/full"
    expect_grep help-dev-full '^cifar-act: cannot write to standard output' "$TMP/err"
    expect_exit 1 list-dev-full -- sh -c "'$BIN' --list >/dev/full"
    expect_exit 1 version-dev-full -- sh -c "'$BIN' --version >/dev/full"
fi

summary cli_main
