#!/bin/bash
# tb_screenshot.sh - the README's picture of TensorBoard's Images dashboard showing a
# cifar-act run: writes an event file, starts tensorboard (build/venv, from
# tests/requirements.txt) on 127.0.0.1 with a port the kernel picks, and lets Debian's
# headless Chromium take the screenshot. Usage: tools/tb_screenshot.sh [OUT.png]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/tools/readme/tensorboard-images.png}
data=${DATA:-$root/../shared}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cifar-act-shot.XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
"$root/cifar-act" --data "$data" --logdir "$tmp/logs_relu" --fn relu --normalize 0.5,0.5 -q
"$root/build/venv/bin/tensorboard" --logdir "$tmp/logs_relu" --host 127.0.0.1 --port 0 \
    --samples_per_plugin images=100000 >"$tmp/tb.log" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 150); do
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$tmp/tb.log" | head -n 1) && [ -n "$url" ] && break
    sleep 0.2
done
[ -n "$url" ] || { cat "$tmp/tb.log" >&2; exit 1; }
# Wait until the run is loaded, then give the page time to draw the cards.
for _ in $(seq 1 150); do
    curl -s "$url/data/plugin/images/tags" | grep -q '"output"' && break
    sleep 0.2
done
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,700 \
    --virtual-time-budget=20000 --screenshot="$out" "$url/?darkMode=false#images" \
    >"$tmp/chromium.log" 2>&1 || { cat "$tmp/chromium.log" >&2; exit 1; }
echo "wrote $out"
