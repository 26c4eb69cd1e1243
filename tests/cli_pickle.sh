#!/bin/bash
# cli_pickle.sh - the real binary on torchvision's Python version of the test set
# (cifar-10-batches-py/), written at test time by tools/make_cifar_pickle.py from the
# binary test set: same PNGs as from the binary version, the manifest says which
# version was read, torchvision's MD5s are checked, and the not-found message names
# both versions.
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN
SHARED=$CA_SHARED
[ -e "$SHARED/cifar-10-batches-bin/test_batch.bin" ] || SHARED=$CA_ROOT/data
PY=$TMP/py
expect_true generate -- python3 "$CA_ROOT/tools/make_cifar_pickle.py" \
    --bin "$SHARED/cifar-10-batches-bin" --out "$PY"

fmt() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['data_format'])" "$1"; }

# Verified by torchvision's published MD5s: our test_batch cannot match them (the binary
# version has no file names, ours are made up), so the run must refuse, saying why.
expect_exit 1 py-md5 -- "$BIN" --data "$PY" --out "$TMP/o0" -n 1 -q
expect_grep py-md5 "test_batch: MD5 [0-9a-f]{32}, expected 40351d587109b95175f43aff81a1287e \(torchvision's published digest\)" "$TMP/err"
expect_true py-md5-one-line -- test "$(wc -l <"$TMP/err")" -eq 1
expect_true py-md5-no-output -- test ! -e "$TMP/o0/manifest.json"

# --no-verify: the pickles are read; PNGs identical to the binary version's.
expect_exit 0 py-run -- "$BIN" --data "$PY" --no-verify --out "$TMP/o1" -n 3 -b 50 --fn sigmoid -q
expect_exit 0 bin-run -- "$BIN" --data "$SHARED" --out "$TMP/o2" -n 3 -b 50 --fn sigmoid -q
expect_true py-format -- test "$(fmt "$TMP/o1/manifest.json")" = python
expect_true bin-format -- test "$(fmt "$TMP/o2/manifest.json")" = binary
n=0 bad=0
for f in "$TMP"/o2/*.png; do
    n=$((n + 1)); cmp -s "$f" "$TMP/o1/${f##*/}" || { bad=$((bad + 1)); echo "differs: $f"; }
done
expect_true same-pngs -- test "$n" -ge 6 -a "$bad" -eq 0

# Both versions present: the binary one is used, and the manifest says so.
mkdir -p "$PY/cifar-10-batches-bin"
cp "$SHARED"/cifar-10-batches-bin/{test_batch.bin,batches.meta.txt} "$PY/cifar-10-batches-bin/"
expect_exit 0 both-run -- "$BIN" --data "$PY" --out "$TMP/o3" -n 1 -q
expect_true both-format -- test "$(fmt "$TMP/o3/manifest.json")" = binary
rm -r "$PY/cifar-10-batches-bin"

# Neither: one line naming both versions and where each comes from.
mkdir -p "$TMP/empty"
expect_exit 1 not-found -- "$BIN" --data "$TMP/empty" --offline --out "$TMP/o4" -q
expect_grep not-found "cifar-10-binary.tar.gz" "$TMP/err"
expect_grep not-found-py "or the Python version: .*/cifar-10-batches-py/ as torchvision.datasets.CIFAR10\(root, download=True\) leaves it, or its archive cifar-10-python.tar.gz" "$TMP/err"
expect_true not-found-one-line -- test "$(wc -l <"$TMP/err")" -eq 1

# --archive torchvision's archive: members are checked by torchvision's MD5s while they
# are extracted (ours differ: made-up file names), then the archive's own; nothing is
# left behind. (The archive-digest refusal itself: test_pickle.c, test_pyfetch.)
(cd "$PY" && python3 -c "import tarfile; t = tarfile.open('$TMP/cifar-10-python.tar.gz', 'w:gz'); [t.add('cifar-10-batches-py/' + n) for n in ('batches.meta', 'test_batch')]; t.close()")
mkdir -p "$TMP/arch"
expect_exit 1 archive-md5 -- "$BIN" --data "$TMP/arch" --archive "$TMP/cifar-10-python.tar.gz" --out "$TMP/o5" -q
expect_grep archive-md5 "cifar-10-batches-py/test_batch: MD5 [0-9a-f]{32}, expected 40351d587109b95175f43aff81a1287e" "$TMP/err"
expect_true archive-nothing-left -- test -z "$(ls -A "$TMP/arch/cifar-10-batches-py")"

# CIFAR-100's layout (made-up labels from the CIFAR-10 images): coarse labels, 20 classes.
expect_true generate-100 -- python3 "$CA_ROOT/tools/make_cifar_pickle.py" \
    --bin "$SHARED/cifar-10-batches-bin" --out "$PY" --cifar100
expect_exit 0 py100-run -- "$BIN" --data "$PY" --dataset cifar100 --label coarse --no-verify \
    --out "$TMP/o6" -n 1 -q
expect_true py100-manifest -- python3 -c "
import json, sys
m = json.load(open('$TMP/o6/manifest.json'))
assert m['data_format'] == 'python' and m['label'] == 'coarse' and len(m['classes']) == 20, m
"
expect_exit 1 py100-md5 -- "$BIN" --data "$PY" --dataset cifar100 --out "$TMP/o7" -n 1 -q
expect_grep py100-md5 "cifar-100-python/test: MD5 [0-9a-f]{32}, expected f0ef6b0ae62326f3e7ffdfab6717acfc" "$TMP/err"

# --help says where the Python version is looked for.
expect_exit 0 help -- "$BIN" --help
expect_grep help-py-dir "^ +cifar-10-batches-py/ \(if no binary one\)" "$TMP/out"
expect_grep help-py-archive "\(torchvision's cifar-10-python.tar.gz too: its MD5s\)" "$TMP/out"

summary cli_pickle
