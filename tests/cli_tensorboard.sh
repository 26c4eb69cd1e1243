#!/bin/bash
# cli_tensorboard.sh - --logdir event files, read by our reader (tools/tfevents_read.py),
# by protoc --decode_raw, and by TensorBoard itself: its EventAccumulator and a real
# tensorboard server (Python loader and Rust data server) on 127.0.0.1.
# The TensorBoard part needs build/venv with tests/requirements.txt (.ci/run makes it);
# without it, it prints a SKIP line and runs the rest.
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN
DATA=$CA_DATA
ROOT=${CA_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
READ="python3 $ROOT/tools/tfevents_read.py"
VENV=$ROOT/build/venv
CIFAR_BIN=$DATA/cifar-10-batches-bin/test_batch.bin
[ -f "$CIFAR_BIN" ] || CIFAR_BIN=$DATA/test_batch.bin

trap 'tb_stop; rm -rf "$TMP"' EXIT

one_file() { ls "$1"/events.out.tfevents.* 2>/dev/null | head -n 1; }

# ---- Without TensorBoard ----

# The whole test set, event file only: no PNG directory, no manifest, not even ./out.
mkdir -p "$TMP/cwd"
expect_exit 0 logdir-only -- bash -c "cd '$TMP/cwd' && '$BIN' --data '$DATA' --logdir tb -j 3"
expect_grep logdir-only-says-where 'events\.out\.tfevents\.' "$TMP/out"
expect_true logdir-only-no-out-dir -- test ! -e "$TMP/cwd/out"
expect_true logdir-only-just-one-file -- test "$(ls -A "$TMP/cwd/tb" | wc -l)" -eq 1
EV=$(one_file "$TMP/cwd/tb")
base=$(basename "$EV")
expect_true file-name-like-tensorboards -- \
    bash -c "[[ '$base' =~ ^events\.out\.tfevents\.[0-9]{10}\.$(hostname)\.[0-9]+\.[0-9]+$ ]]"
expect_exit 0 reader-good -- $READ "$TMP/cwd/tb"
expect_grep reader-157-input-steps '^  input +image +157 steps  0\.\.156$' "$TMP/out"
expect_grep reader-157-output-steps '^  output +image +157 steps  0\.\.156$' "$TMP/out"
expect_grep reader-histograms '^  output/values +histogram +157 steps' "$TMP/out"
expect_grep reader-text '^  settings +text +1 steps' "$TMP/out"
expect_grep reader-630-records ': 630 records, every CRC good$' "$TMP/out"

# wall_time never goes back in file order, though workers build steps out of order.
expect_true wall-time-monotone -- python3 -c "
import sys
sys.path.insert(0, '$ROOT/tools')
import tfevents_read as r
t = [r.describe(p)[1] for _, _, p in r.read_records('$EV')]
sys.exit(0 if len(t) == 630 and all(a <= b for a, b in zip(t, t[1:])) else 1)"

# Record order is step order whatever the thread count.
"$BIN" --data "$DATA" --logdir "$TMP/j1" -n 20 -j 1 -q
"$BIN" --data "$DATA" --logdir "$TMP/j4" -n 20 -j 4 -q
$READ --records "$TMP/j1" | grep '^record' >"$TMP/r1"
$READ --records "$TMP/j4" | grep '^record' >"$TMP/r4"
expect_true jobs-same-record-listing -- cmp -s "$TMP/r1" "$TMP/r4"
expect_true steps-in-order -- bash -c "grep ' image output ' '$TMP/r4' | awk '{print \$4}' | \
    tr '\n' ' ' | grep -qx '$(seq -s ' ' 0 19) '"

# protoc, independently of us: the version record and a step-1 image record.
$READ --payload 0 "$EV" | protoc --decode_raw >"$TMP/p0" 2>&1
expect_grep protoc-file-version '^3: "brain.Event:2"$' "$TMP/p0"
$READ --payload 6 "$EV" | protoc --decode_raw >"$TMP/p6" 2>&1
expect_grep protoc-step '^2: 1$' "$TMP/p6"
expect_grep protoc-tag '^    1: "input"$' "$TMP/p6"
expect_grep protoc-image-size '^      1: 256$' "$TMP/p6"
expect_grep protoc-colorspace '^      3: 3$' "$TMP/p6"
expect_grep protoc-png '^      4: "\\211PNG' "$TMP/p6"

# A flipped byte: our reader names the record.
"$BIN" --data "$DATA" --logdir "$TMP/small" -n 3 -q
SMALL=$(one_file "$TMP/small")
cp "$SMALL" "$TMP/flipped"
python3 - "$TMP/flipped" "$ROOT/tools" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import tfevents_read
recs = list(tfevents_read.read_records(sys.argv[1]))
off = recs[7][1] + 12 + 40          # inside record 7's payload (step 1, output image)
with open(sys.argv[1], "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x10]))
EOF
expect_exit 1 reader-flipped-byte -- $READ "$TMP/flipped"
expect_grep reader-names-record 'record 7 at byte [0-9]+: bad payload CRC' "$TMP/err"
cp "$SMALL" "$TMP/flipped-len"
printf '\x01' | dd of="$TMP/flipped-len" bs=1 seek=$(( $(stat -c %s "$SMALL") - 20 )) conv=notrunc 2>/dev/null
expect_exit 1 reader-flipped-tail -- $READ "$TMP/flipped-len"
expect_grep reader-names-last-record 'record 13 at byte' "$TMP/err"

# Mutated files (bytes flipped, cut, lengths or Events rewritten with valid CRCs): the reader
# always ends with 0 or 1 and a message, never a traceback.
expect_true reader-survives-mutations -- python3 - "$SMALL" "$ROOT/tools" <<'EOF'
import contextlib, io, os, random, sys, tempfile
sys.path.insert(0, sys.argv[2])
import tfevents_read
# The first five records (version, text, images, a histogram) are enough.
recs = [(off, len(p)) for k, off, p in tfevents_read.read_records(sys.argv[1]) if k < 5]
data = open(sys.argv[1], "rb").read()[:recs[-1][0] + recs[-1][1] + 16]
rng = random.Random(10)
fd, path = tempfile.mkstemp()
os.close(fd)
bad = 0
for i in range(120):
    b = bytearray(data)
    kind = i % 4
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:
        del b[rng.randrange(len(b)):]
    elif kind == 3:                               # a garbled Event with valid CRCs
        off, n = rng.choice(recs)
        for _ in range(rng.randint(1, 4)):
            b[off + 12 + rng.randrange(min(n, 40))] = rng.randrange(256)  # the fields, not the PNG
        crc = tfevents_read.masked_crc(bytes(b[off + 12:off + 12 + n]))
        b[off + 12 + n:off + 16 + n] = crc.to_bytes(4, "little")
    else:
        n = rng.choice([0, 1, 2**31, 2**63, len(b)])
        b[0:8] = n.to_bytes(8, "little")
        b[8:12] = tfevents_read.masked_crc(bytes(b[0:8])).to_bytes(4, "little")
    open(path, "wb").write(b)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            rc = tfevents_read.main(["tfevents_read", path])
        except Exception as e:  # an escaped exception is the bug this looks for
            rc = repr(e)
    if rc not in (0, 1):
        print("mutation", i, "->", rc)
        bad += 1
os.unlink(path)
sys.exit(1 if bad else 0)
EOF

# Bad --logdir: one line naming it, exit 1, no PNGs either.
touch "$TMP/plainfile"
expect_exit 1 logdir-not-a-dir -- "$BIN" --data "$DATA" --logdir "$TMP/plainfile/x" -n 1
expect_grep logdir-error-names-it "$TMP/plainfile" "$TMP/err"

# A killed run leaves whole records (slow PNG level so the kill lands mid-run).
"$BIN" --data "$DATA" --logdir "$TMP/killed" --png-level 9 -j 1 -q &
kpid=$!
sleep 1.5
kill -KILL "$kpid" 2>/dev/null
wait "$kpid" 2>/dev/null
KILLED=$(one_file "$TMP/killed")
expect_exit 0 killed-run-valid-prefix -- $READ "$KILLED"
expect_true killed-run-was-partial -- bash -c "! grep -q '157 steps' '$TMP/out'"

# The manifest names the event file too (the run's one file outside --out): the logdir
# as given and the file relative to it, the one file there. Before: not named.
mkdir -p "$TMP/mf"
expect_exit 0 manifest-logdir -- env -C "$TMP/mf" "$BIN" --data "$DATA" --out o --logdir tb -n 2 -q
expect_true manifest-names-event-file -- python3 -c "
import json, os, sys
m = json.load(open('$TMP/mf/o/manifest.json'))
have = os.listdir('$TMP/mf/tb')
sys.exit(0 if m.get('logdir') == 'tb' and have == [m.get('event_file')] else
         f'logdir {m.get(\"logdir\")!r} event_file {m.get(\"event_file\")!r}, in tb: {have}')"
expect_exit 0 manifest-no-logdir -- "$BIN" --data "$DATA" --out "$TMP/mf/o2" -n 1 -q
expect_true manifest-no-logdir-no-key -- python3 -c "
import json, sys
m = json.load(open('$TMP/mf/o2/manifest.json'))
sys.exit('logdir' in m or 'event_file' in m)"

# ---- TensorBoard itself ----
if ! "$VENV/bin/python" -c "import tensorboard, PIL, numpy" 2>/dev/null; then
    # CI installs it (.ci/run): there a missing TensorBoard is a failure, not a skip.
    if [ "${CI:-}" = true ]; then
        fail "CI=true but $VENV has no tensorboard: .ci/run's pip install did not happen"
        summary cli_tensorboard
        exit $?
    fi
    echo "SKIP: TensorBoard checks: $VENV has no tensorboard (pip install -r tests/requirements.txt into it; .ci/run does)"
    summary cli_tensorboard
    exit $?
fi
PY=$VENV/bin/python
CHECK="$ROOT/tests/tb_check.py"
# Count tb_check.py's PASS/FAIL lines as checks.
tb_check() {
    local out rc
    out=$("$PY" "$CHECK" "$@" 2>&1)
    rc=$?
    echo "$out"
    while read -r word rest; do
        case "$word" in
            PASS) pass ;;
            FAIL) fail "$rest" ;;
        esac
    done <<<"$out"
    if [ "$rc" -ne 0 ] && ! grep -q '^FAIL' <<<"$out"; then fail "tb_check.py $1 exited $rc"; fi
}

# Our TensorBoard-style PNGs of the same run to compare pixels with.
"$BIN" --data "$DATA" --out "$TMP/png" --style tensorboard -q
tb_check loader "$TMP/cwd/tb" "$TMP/png" "$CIFAR_BIN" 64

# Shuffle + pairs + max-batches + threads: images equal the halves of compare_*.png.
"$BIN" --data "$DATA" --out "$TMP/pairs" --logdir "$TMP/pairs-tb" --layout pairs \
    --style tensorboard --shuffle --seed 7 -n 6 -j 3 -q
"$BIN" --data "$DATA" --logdir "$TMP/pairs-tb1" --shuffle --seed 7 -n 6 -j 1 -q
tb_check pairs "$TMP/pairs-tb" "$TMP/pairs" 8
tb_check same "$TMP/pairs-tb" "$TMP/pairs-tb1"

# The float path (softmax, channel-wise), Normalize and --inplace.
"$BIN" --data "$DATA" --out "$TMP/sm" --style tensorboard --logdir "$TMP/softmax" \
    --fn softmax --normalize 0.5,0.5 --inplace -n 4 -b 50 -j 2 -q
tb_check images "$TMP/softmax" "$TMP/sm"
"$BIN" --data "$DATA" --out "$TMP/ch" --style tensorboard --logdir "$TMP/chain" \
    --fn 'leaky_relu(0.2)' --fn tanh --normalize 0.5,0.5 -n 4 -j 2 -q
tb_check images "$TMP/chain" "$TMP/ch"

# Flipped byte: TensorBoard's reader reports a CRC failure at record 7 and stops there.
tb_check flipped "$TMP/flipped" 7
tb_check prefix "$KILLED"

# A real server, Python loader (--load_fast=false checks both CRCs) then the default
# (the Rust data server, tensorboard-data-server), each on a port the kernel picks.
for mode in python rust; do
    extra=()
    [ "$mode" = python ] && extra=(--load_fast=false)
    if ! tb_start "$TMP/tb-$mode.log" "$VENV/bin/tensorboard" --logdir "$TMP/cwd/tb" \
        --host 127.0.0.1 --port 0 --samples_per_plugin images=100000 "${extra[@]}"; then
        fail "tensorboard-$mode did not start: $(tail -n 5 "$TMP/tb-$mode.log")"
        tb_stop
        continue
    fi
    if [ "$mode" = rust ]; then
        expect_grep tensorboard-uses-rust-data-server 'fast data loading' "$TMP/tb-$mode.log"
    fi
    tb_check server "$TB_URL" "$TMP/png" 157
    tb_stop
done

summary cli_tensorboard
