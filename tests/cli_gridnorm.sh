#!/bin/bash
# cli_gridnorm.sh - --grid-normalize/--value-range/--scale-each and the clip report;
# --tensor, the lesson's first demo. The real binary: exit codes, stdout, stderr.
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN
DATA=$CA_DATA

# ---- --help: our lines fit in 80 columns ----
expect_exit 0 help -- "$BIN" --help
for o in --grid-normalize --value-range --scale-each --tensor; do
    expect_grep "help$o" "^ +$o" "$TMP/out"
done
expect_true help-width -- test -z "$(awk '/^      --grid-normalize|^      --tensor LIST/{on=1} /^      --png-level|^      --no-lut/{on=0} on && length($0) > 79' "$TMP/out")"

# ---- make_grid's options: usage errors ----
expect_exit 2 range-needs-normalize -- "$BIN" --value-range -1,1
expect_grep range-needs-normalize "^cifar-act: --value-range works only with --grid-normalize" "$TMP/err"
expect_exit 2 scale-each-needs-normalize -- "$BIN" --scale-each
expect_grep scale-each-needs-normalize "^cifar-act: --scale-each works only with --grid-normalize" "$TMP/err"
for bad in 1 1, ,1 a,b 1,2,3 '1, 2' 1,inf nan,1; do
    expect_exit 2 "bad-range-$bad" -- "$BIN" --grid-normalize --value-range "$bad"
    expect_grep "bad-range-$bad" "^cifar-act: --value-range: '.*' is not LO,HI" "$TMP/err"
done
expect_exit 2 range-order -- "$BIN" --grid-normalize --value-range 1,-1
expect_grep range-order "LO must be less than HI" "$TMP/err"
expect_exit 2 range-equal -- "$BIN" --grid-normalize --value-range 0.5,0.5

# ---- the clip report and the hint ----
if [ -f "$DATA/cifar-10-batches-bin/test_batch.bin" ]; then
    expect_exit 0 clip-report -- "$BIN" --data "$DATA" --fn log_softmax -n 1 -o "$TMP/o1"
    expect_grep clip-input '^cifar-act: input: 0% of values below 0 shown as 0, 0% above 1$' "$TMP/out"
    expect_grep clip-output '^cifar-act: output: 100\.0% of values below 0 shown as 0, 0% above 1$' "$TMP/out"
    expect_grep clip-hint '^cifar-act: hint: --grid-normalize' "$TMP/out"
    expect_grep clip-manifest '"output": \{"range": \[0, 1\], "values": 196608, "below": 196608' "$TMP/o1/manifest.json"
    expect_exit 0 clip-sigmoid -- "$BIN" --data "$DATA" --fn sigmoid -n 1 -o "$TMP/o2"
    expect_grep clip-sigmoid '^cifar-act: output: 0% of values below 0 shown as 0, 0% above 1$' "$TMP/out"
    expect_true clip-sigmoid-no-hint -- test "$(grep -c hint "$TMP/out")" -eq 0
    expect_exit 0 clip-normalized -- "$BIN" --data "$DATA" --fn log_softmax -n 1 -o "$TMP/o3" --grid-normalize
    expect_grep clip-normalized '^cifar-act: output: scaled by its min and max' "$TMP/out"
    expect_grep clip-normalized-manifest '"grid_normalize": \{"normalize": true, "value_range": null, "scale_each": false\}' "$TMP/o3/manifest.json"
    expect_exit 0 clip-range -- "$BIN" --data "$DATA" --fn tanh --normalize 0.5,0.5 -n 1 -o "$TMP/o4" --grid-normalize --value-range=-0.5,0.5 --style tensorboard --scale-each
    expect_grep clip-range '^cifar-act: output: [0-9.]+% of values below -0\.5 shown as 0, [0-9.]+% above 0\.5$' "$TMP/out"
    expect_grep clip-range-hint '^cifar-act: hint: widen --value-range' "$TMP/out"
    expect_exit 0 clip-quiet -- "$BIN" --data "$DATA" --fn log_softmax -n 1 -o "$TMP/o5" -q
    expect_true clip-quiet-silent -- test ! -s "$TMP/out"
else
    echo "no CIFAR-10 under $DATA: clip report checks skipped"
fi

# ---- --tensor ----
expect_exit 0 tensor-lesson -- "$BIN" --tensor '[[1,-0.5],[-1,3]]' --fn relu
cat >"$TMP/want" <<'WANT'
torch.Size([1, 1, 2, 2])
input:
tensor([[[[ 1.0000, -0.5000],
          [-1.0000,  3.0000]]]])
output (relu, inplace=False):
tensor([[[[1., 0.],
          [0., 3.]]]])
input after the call (unchanged: inplace=False):
tensor([[[[ 1.0000, -0.5000],
          [-1.0000,  3.0000]]]])
WANT
expect_true tensor-lesson-text -- cmp -s "$TMP/out" "$TMP/want"
expect_exit 0 tensor-inplace -- "$BIN" --tensor '[[1,-0.5],[-1,3]]' --fn relu --inplace
expect_grep tensor-inplace '^input after the call \(overwritten: inplace=True\):$' "$TMP/out"
expect_true tensor-inplace-overwritten -- test "$(tail -n 2 "$TMP/out")" = "$(printf 'tensor([[[[1., 0.],\n          [0., 3.]]]])')"
expect_exit 0 tensor-chain-quiet -- "$BIN" --tensor '[1, 2]' --fn 'leaky_relu(negative_slope=0.1)' --fn tanh -q
expect_true tensor-chain-quiet -- test "$(cat "$TMP/out")" = "tensor([0.7616, 0.9640])"
expect_exit 0 tensor-default-fn -- "$BIN" --tensor 0 -q
expect_true tensor-default-fn -- test "$(cat "$TMP/out")" = "tensor(0.5000)"
expect_exit 2 tensor-ragged -- "$BIN" --tensor '[[1,2],[3]]'
expect_grep tensor-ragged "^cifar-act: --tensor: tensor literal: the list at offset 7 has 1 items, expected 2" "$TMP/err"
expect_true tensor-ragged-one-line -- test "$(wc -l <"$TMP/err")" -eq 1
expect_exit 2 tensor-deep -- "$BIN" --tensor '[[[[[1]]]]]'
expect_grep tensor-deep "more than 4 nested lists" "$TMP/err"
expect_exit 2 tensor-softmax-1d -- "$BIN" --tensor '[1,2]' --fn softmax
expect_grep tensor-softmax-1d "softmax runs over dimension 1" "$TMP/err"
expect_exit 2 tensor-normalize -- "$BIN" --tensor '[1]' --normalize 0.5,0.5
expect_grep tensor-normalize "^cifar-act: --tensor takes the numbers as they are" "$TMP/err"
# Empty, as torch.tensor([]) (before: refused as "empty list").
expect_exit 0 tensor-empty -- "$BIN" --tensor '[]' --fn relu -q
expect_true tensor-empty -- test "$(cat "$TMP/out")" = "tensor([])"
expect_exit 0 tensor-empty-3d -- "$BIN" --tensor '[[[], []]]' --fn softmax
expect_grep tensor-empty-3d-shape '^torch.Size\(\[1, 2, 0\]\)$' "$TMP/out"
expect_grep tensor-empty-3d-size '^tensor\(\[\], size=\(1, 2, 0\)\)$' "$TMP/out"
expect_exit 2 tensor-empty-2d -- "$BIN" --tensor '[[]]'
expect_grep tensor-empty-2d "^cifar-act: --tensor: cannot reshape tensor of 0 elements into shape \[-1, 1, 1, 0\]" "$TMP/err"
mkdir "$TMP/cwd"
expect_exit 0 tensor-no-files -- sh -c "cd '$TMP/cwd' && '$BIN' --tensor 1 -q"
expect_true tensor-no-files -- test -z "$(ls -A "$TMP/cwd")"

summary cli_gridnorm
