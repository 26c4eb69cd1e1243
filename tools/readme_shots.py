#!/usr/bin/env python3
"""readme_shots.py - the README's pictures of the viewer and the gallery, from real data.

    tools/readme_shots.py ./cifar-act DATA_DIR   (writes tools/readme/viewer.png, gallery.png)

Runs cifar-act twice (sigmoid after --normalize 0.5,0.5 with the viewer; the gallery of
relu, sigmoid, tanh, gelu after the same Normalize), opens both pages from file:// in
headless Chromium (tests/cdp.py) and saves screenshots. Re-run it when the pages change.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import cdp  # noqa: E402


def main():
    binary, data = sys.argv[1], sys.argv[2]
    out = os.path.join(HERE, "readme")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cifar-act-shots.") as tmp:
        v, g = os.path.join(tmp, "viewer"), os.path.join(tmp, "gallery")
        subprocess.run([binary, "--data", data, "--fn", "sigmoid", "--normalize", "0.5,0.5",
                        "-o", v, "-q"], check=True)
        subprocess.run([binary, "--data", data, "--normalize", "0.5,0.5", "--gallery",
                        "relu,sigmoid,tanh,gelu(approximate=tanh)", "--gallery-batch", "42",
                        "-o", g, "-q"], check=True)
        with cdp.Browser(width=1280, height=1180) as b:
            b.open("file://" + v + "/index.html#42")
            b.wait_for("Array.from(document.images).every(function(i){return i.complete})")
            # Hover a tile (image 2700, a truck) so the detail panel shows its values.
            r = b.rect("#in-clip")
            b.mouse(r[0] + (2 + 4 * 34 + 16) * 2, r[1] + (2 + 34 + 12) * 2)
            b.wait_for("/output pixel/.test(document.getElementById('pixel-info').textContent)")
            with open(os.path.join(out, "viewer.png"), "wb") as f:
                f.write(b.screenshot())
            b.open("file://" + g + "/gallery.html")
            b.wait_for("Array.from(document.images).every(function(i){return i.complete})")
            h = min(b.eval("document.documentElement.scrollHeight"), 1100)
            b.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": h,
                                                          "deviceScaleFactor": 1, "mobile": False})
            with open(os.path.join(out, "gallery.png"), "wb") as f:
                f.write(b.screenshot())
    print("wrote", out + "/viewer.png", out + "/gallery.png")


if __name__ == "__main__":
    main()
