#!/bin/bash
# cli_browser.sh - the pages the real binary writes (index.html, gallery.html), checked
# by file and then in Debian's headless Chromium from file:// (tests/browser_test.py,
# which starts and stops its own browser by PID).
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN

# The test data rule: $CIFAR_ACT_DATA, then ./data, then ../shared.
DATA=$CA_SHARED
for d in "${CIFAR_ACT_DATA:-}" "$CA_ROOT/data"; do
    if [ -n "$d" ] && [ -f "$d/cifar-10-batches-bin/test_batch.bin" ]; then DATA=$d; break; fi
done

# ---- files ----
# Pixel values are on by default: 157 batches of 64, 8 to a file (html.h), 20 files.
expect_exit 0 viewer-run -- "$BIN" --data "$DATA" --fn sigmoid -o "$TMP/viewer" -q
expect_true viewer-index -- test -s "$TMP/viewer/index.html"
expect_true viewer-pixels -- test "$(ls "$TMP/viewer/html" | grep -c '^px_[0-9]*\.js$')" -eq 20
expect_true viewer-pixels-listed -- test "$(grep -o '"html/px_[0-9]*\.js"' "$TMP/viewer/manifest.json" | wc -l)" -eq 20
expect_true viewer-no-temp -- test -z "$(find "$TMP/viewer" -name '*.tmp.*')"
expect_grep viewer-manifest-link 'href="manifest.json"' "$TMP/viewer/index.html"
expect_true viewer-no-network -- test -z "$(grep -oE '(src|href)="(https?:)?//[^"]*' "$TMP/viewer/index.html")"
expect_exit 0 no-html -- "$BIN" --data "$DATA" --fn relu -n 2 --no-html -o "$TMP/nohtml" -q
expect_true no-html-none -- test ! -e "$TMP/nohtml/index.html" -a ! -e "$TMP/nohtml/html"
expect_exit 0 shuffled-run -- "$BIN" --data "$DATA" --fn sigmoid --shuffle --seed 3 -n 10 -o "$TMP/shuffled" -q
expect_true default-index -- test -s "$TMP/shuffled/index.html"
expect_true default-pixels -- test -s "$TMP/shuffled/html/px_0000.js"
expect_exit 0 explicit-pixels -- "$BIN" --data "$DATA" --fn sigmoid -n 2 --html-pixels -o "$TMP/explicit" -q
expect_true explicit-pixels-file -- test -s "$TMP/explicit/html/px_0000.js"
expect_exit 0 nopix-run -- "$BIN" --data "$DATA" --fn sigmoid -n 3 --no-html-pixels -o "$TMP/nopix" -q
expect_true nopix-index -- test -s "$TMP/nopix/index.html"
expect_true nopix-none -- test ! -e "$TMP/nopix/html"
expect_exit 0 gallery-run -- "$BIN" --data "$DATA" --normalize 0.5,0.5 \
    --gallery 'relu,sigmoid,tanh,gelu(approximate=tanh)' -o "$TMP/gallery" -q
for f in gallery.png gallery.html gallery.json; do
    expect_true "gallery-$f" -- test -s "$TMP/gallery/$f"
done
expect_true gallery-no-batches -- test ! -e "$TMP/gallery/input_0000.png"
expect_exit 0 gallery-all -- "$BIN" --data "$DATA" --gallery --gallery-batch 3 -o "$TMP/gallery-all" -q
expect_grep gallery-all-batch '"batch": 3' "$TMP/gallery-all/gallery.json"
expect_grep gallery-all-elu '"spec": "elu\(alpha=1\)"' "$TMP/gallery-all/gallery.json"
expect_exit 2 gallery-channelwise -- "$BIN" --data "$DATA" --gallery relu,softmax -o "$TMP/g2"
expect_grep gallery-channelwise "softmax is channel-wise" "$TMP/err"
expect_exit 2 gallery-batch-range -- "$BIN" --data "$DATA" --gallery relu --gallery-batch 157 -o "$TMP/g3"
expect_grep gallery-batch-range "0\.\.156" "$TMP/err"
expect_exit 2 gallery-bad-spec -- "$BIN" --data "$DATA" --gallery 'relu,nosuch' -o "$TMP/g4"
expect_grep gallery-bad-spec "nosuch" "$TMP/err"
expect_exit 2 gallery-with-fn -- "$BIN" --data "$DATA" --gallery relu --fn tanh -o "$TMP/g5"
expect_grep gallery-with-fn "not --fn" "$TMP/err"
expect_exit 2 gallery-empty-name -- "$BIN" --data "$DATA" --gallery 'relu,,tanh' -o "$TMP/g6"
expect_exit 0 gallery-commas-in-parens -- "$BIN" --data "$DATA" -q -o "$TMP/g7" \
    --gallery 'hardtanh(min_val=-0.5, max_val=0.5),relu'
expect_grep gallery-commas-in-parens '"spec": "hardtanh\(min_val=-0.5, max_val=0.5\)"' "$TMP/g7/gallery.json"
expect_true gallery-no-output-dirs -- test ! -e "$TMP/g5" -a ! -e "$TMP/g6"

# ---- in the browser ----
python3 "$CA_ROOT/tests/browser_test.py" "$DATA" "$TMP/viewer" "$TMP/shuffled" "$TMP/nopix" "$TMP/gallery" \
    ${CA_SHOTS:+"$CA_SHOTS"} >"$TMP/browser.log" 2>&1
cat "$TMP/browser.log"
line=$(grep -E '^browser: [0-9]+ passed, [0-9]+ failed$' "$TMP/browser.log" | tail -n 1)
if [ -z "$line" ]; then
    fail "browser_test.py printed no summary"
else
    PASSED=$((PASSED + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
    FAILED=$((FAILED + $(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')))
fi
summary cli_browser
