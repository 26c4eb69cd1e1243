#!/bin/sh
# Regenerate the README's picture: the first 16 test images (left) and their sigmoid
# (right), as `cifar-act --layout pairs` writes them. Run from the repository root:
#   tools/readme/make-picture.sh [DATA_DIR]      (default ../shared)
set -eu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
./cifar-act --data "${1:-../shared}" --fn sigmoid --batch 16 --max-batches 1 \
    --layout pairs --scale 2 --out "$out" --quiet
cp "$out/compare_0000.png" tools/readme/sigmoid-pairs.png
