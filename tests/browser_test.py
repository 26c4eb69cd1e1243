#!/usr/bin/env python3
"""browser_test.py - the pages cifar-act wrote, in Debian's headless Chromium, from file://.

Usage: browser_test.py DATA_DIR VIEWER_DIR SHUFFLED_DIR NOPIX_DIR GALLERY_DIR [SHOTS_DIR]
  VIEWER_DIR: --fn sigmoid on the whole test set; SHUFFLED_DIR: a --fn sigmoid
  --shuffle run; NOPIX_DIR: a run with --no-html-pixels; GALLERY_DIR: --gallery with
  the functions its gallery.json lists.
Prints "browser: N passed, N failed" last (tests/run-tests.sh adds it up).
"""
import functools
import http.server
import json
import math
import threading
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

PASSED = FAILED = 0


def check(cond, name, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print("FAIL: %s %s" % (name, detail), flush=True)
    return cond


def url(d, page, frag=""):
    return "file://" + os.path.abspath(os.path.join(d, page)) + frag


def shown(b):
    """The files the three panels show now, and the step in the page."""
    return b.eval("[document.getElementById('in-img').getAttribute('src'),"
                  " document.getElementById('out-img').getAttribute('src'),"
                  " document.getElementById('bl-in').getAttribute('src'),"
                  " +document.getElementById('slider').value, location.hash]")


def expect_step(b, k, how):
    ok = b.wait_for("document.getElementById('in-img').getAttribute('src') === 'input_%04d.png'" % k, 5)
    got = shown(b)
    want = ["input_%04d.png" % k, "output_%04d.png" % k, "input_%04d.png" % k, k, "#%d" % k]
    check(ok and got == want, "step by " + how, "got %s, wanted %s" % (got, want))


def images_loaded(b, name):
    """Every visible <img> has loaded (naturalWidth > 0)."""
    b.wait_for("Array.from(document.images).every(function(i){return i.complete})", 10)
    bad = b.eval("Array.from(document.images).filter(function(i){var r=i.getBoundingClientRect();"
                 "return r.width>0 && r.height>0 && getComputedStyle(i).display!=='none' && i.closest('.clip').offsetParent!==null;})"
                 ".filter(function(i){return !(i.naturalWidth>0)}).map(function(i){return i.src})")
    n = b.eval("Array.from(document.images).filter(function(i){return i.naturalWidth>0}).length")
    check(bad == [] and n > 0, name + ": every visible image loaded", "broken: %s" % bad)


def not_blank(b, name, min_colors=50):
    """The viewport, at a quarter of its size (decoding is pure Python)."""
    n = cdp.distinct_colors(b.screenshot(clip=[0, 0, b.width, b.height], scale=0.25))
    check(n >= min_colors, name + ": screenshot not blank", "%d distinct colours" % n)


def clip_pixels(b, sel):
    r = b.rect(sel)
    return cdp.png_decode(b.screenshot(clip=[r[0], r[1], min(r[2], 160), min(r[3], 160)]))[3]


def read_image(data_dir, idx):
    with open(os.path.join(data_dir, "cifar-10-batches-bin", "test_batch.bin"), "rb") as f:
        f.seek(idx * 3073)
        rec = f.read(3073)
    return rec[0], rec[1:]


def hover_pixel(b, d, data_dir, k, i, tx, ty, what):
    """Hover pixel (tx, ty) of tile i at step k of a --fn sigmoid page (torchvision grid,
    nrow 8, padding 2, zoom 2): the page must show that image's bytes from the data
    file and their sigmoid (ToTensor then sigmoid) within print precision."""
    man = json.load(open(os.path.join(d, "manifest.json")))
    idx = man["batches"][k]["images"][i]
    b.open(url(d, "index.html", "#%d" % k))
    b.wait_for("document.getElementById('in-img').getAttribute('src') === 'input_%04d.png' &&"
               " document.getElementById('in-img').complete" % k, 5)
    b.eval("window.scrollTo(0, 0)")
    r = b.rect("#in-clip")
    zoom = 2  # the page's default
    x, y = 2 + (i % 8) * 34 + tx, 2 + (i // 8) * 34 + ty
    b.mouse(r[0] + x * zoom + 1, r[1] + y * zoom + 1)
    ok = b.wait_for("/output pixel/.test(document.getElementById('pixel-info').textContent)", 10)
    info = b.eval("document.getElementById('tile-info').textContent")
    check(ok and "dataset index %d" % idx in info, what + ": hover shows the tile's pixel values",
          "%r %r" % (info, b.eval("document.getElementById('pixel-info').textContent")))
    _, px = read_image(data_dir, idx)
    want_bytes = [px[c * 1024 + ty * 32 + tx] for c in range(3)]
    got = b.eval("(document.querySelector('#pixel-info .p1')||{}).textContent")
    check(got == "input bytes R G B: %d %d %d" % tuple(want_bytes), what + ": input bytes under the cursor",
          "%r, wanted %s (image %d)" % (got, want_bytes, idx))
    got = (b.eval("(document.querySelector('#pixel-info .p3')||{}).textContent") or ": ").split(": ")[1].split()
    want = [1 / (1 + math.exp(-v / 255)) for v in want_bytes]
    check(len(got) == 3 and all(abs(float(g) - w) < 1e-4 for g, w in zip(got, want)),
          what + ": sigmoid output values under the cursor", "%s vs %s" % (got, want))


def viewer(b, d, data_dir, shots):
    b.open(url(d, "index.html"))
    images_loaded(b, "viewer")
    b.wait_for("performance.getEntriesByName('first-contentful-paint').length > 0", 5)
    fcp = b.eval("(performance.getEntriesByName('first-contentful-paint')[0]||{}).startTime")
    check(fcp is not None and fcp < 1000, "first paint under a second from file://", "FCP %s ms" % fcp)
    print("viewer: first contentful paint %.0f ms after navigation (157 steps, file://)" % (fcp or -1))
    expect_step(b, 0, "opening the page")
    n = b.eval("document.getElementById('slider').max")
    check(n == "156", "every step is in the slider", "max %s" % n)
    # Only the shown step's and its neighbours' PNGs are fetched.
    pngs = [u.split("/")[-1] for u in b.requested() if u.endswith(".png")]
    check(sorted(set(pngs)) == ["input_0000.png", "input_0001.png", "output_0000.png", "output_0001.png"],
          "loads only the shown and neighbouring steps", str(sorted(set(pngs))))
    if shots:
        png = b.screenshot()
        with open(os.path.join(shots, "viewer.png"), "wb") as f:
            f.write(png)
    not_blank(b, "viewer")

    # Keys, buttons, the typed step, the fragment, the back button.
    b.key("ArrowRight", vk=39)
    expect_step(b, 1, "key ArrowRight")
    b.key("End", vk=35)
    expect_step(b, 156, "key End")
    b.key("ArrowLeft", vk=37)
    expect_step(b, 155, "key ArrowLeft")
    b.key("Home", vk=36)
    expect_step(b, 0, "key Home")
    r = b.rect("#next")
    b.mouse(r[0] + r[2] / 2, r[1] + r[3] / 2, click=True)
    expect_step(b, 1, "button next")
    r = b.rect("#prev")
    b.mouse(r[0] + r[2] / 2, r[1] + r[3] / 2, click=True)
    expect_step(b, 0, "button prev")
    r = b.rect("#last")
    b.mouse(r[0] + r[2] / 2, r[1] + r[3] / 2, click=True)
    expect_step(b, 156, "button last")
    r = b.rect("#step")
    b.mouse(r[0] + r[2] / 2, r[1] + r[3] / 2, click=True)
    b.eval("document.getElementById('step').select()")
    b.type_text("42")
    b.key("Enter", vk=13)
    expect_step(b, 42, "typed step 42")
    got = b.eval("document.getElementById('plot-hin').getAttribute('d')")
    want = b.eval("JSON.parse(document.getElementById('cact-data').textContent).b[42].hi")
    check(got == want and got != b.eval("JSON.parse(document.getElementById('cact-data').textContent).b[0].hi"),
          "the plot shows the shown step's histogram", "%.60s vs %.60s" % (got, want))
    # history.back() is what the back button does (a traversal to the previous entry).
    b.eval("history.back()")
    expect_step(b, 156, "the back button")
    b.eval("history.back()")
    expect_step(b, 0, "the back button twice")

    b.open(url(d, "index.html", "#42"))
    expect_step(b, 42, "opening index.html#42")
    images_loaded(b, "viewer at #42")

    # Hover tile 0 of step 0: test image 0 is a cat; its pixel values under the cursor.
    b.open(url(d, "index.html"))
    b.wait_for("document.getElementById('in-img').complete")
    r = b.rect("#in-clip")
    zoom = 2  # the page's default
    tx, ty = 5, 7  # pixel inside the tile
    b.mouse(r[0] + (2 + tx) * zoom + 1, r[1] + (2 + ty) * zoom + 1)
    b.wait_for("/output pixel/.test(document.getElementById('pixel-info').textContent)", 5)
    info = b.eval("document.getElementById('tile-info').textContent")
    check("dataset index 0" in info and "label 3: cat" in info, "hover shows the class name", repr(info))
    label, px = read_image(data_dir, 0)
    check(label == 3, "test image 0 is a cat in the data file")
    pxjs = [u.split("/")[-1] for u in b.requested() if "/html/" in u]
    check(pxjs == ["px_0000.js"], "hover loads only the step's pixel file", str(pxjs))
    want_bytes = [px[c * 1024 + ty * 32 + tx] for c in range(3)]
    got = b.eval("document.querySelector('#pixel-info .p1').textContent")
    check(got == "input bytes R G B: %d %d %d" % tuple(want_bytes), "hover: input bytes under the cursor",
          "%r, wanted %s" % (got, want_bytes))
    got = b.eval("document.querySelector('#pixel-info .p3').textContent").split(": ")[1].split()
    want = [1 / (1 + math.exp(-v / 255)) for v in want_bytes]
    check(len(got) == 3 and all(abs(float(g) - w) < 1e-4 for g, w in zip(got, want)),
          "hover: sigmoid output values under the cursor", "%s vs %s" % (got, want))
    enl = b.eval("[document.querySelector('#enl-in img').naturalWidth, document.querySelector('#enl-out img').naturalWidth]")
    check(enl[0] > 0 and enl[1] > 0, "hover: the tile enlarged, input and output")
    # Another tile: 2700's class from the data file, found by dataset index.
    b.eval("var f=document.getElementById('find'); f.value='2700'; f.dispatchEvent(new Event('change'))")
    expect_step(b, 42, "find image 2700")
    label, _ = read_image(data_dir, 2700)
    classes = b.eval("JSON.parse(document.getElementById('cact-data').textContent).classes")
    info = b.eval("document.getElementById('tile-info').textContent")
    check("dataset index 2700" in info and classes[label] in info, "find shows the image's class", repr(info))
    if shots:
        with open(os.path.join(shots, "viewer-hover.png"), "wb") as f:
            f.write(b.screenshot())
    # Pixel files hold several steps each (src/html.h): a step inside a file (42: the
    # third of px_0005.js) and the short last step (156: 16 images, px_0019.js).
    hover_pixel(b, d, data_dir, 42, 12, 20, 3, "step 42, tile 12")
    hover_pixel(b, d, data_dir, 156, 15, 31, 31, "step 156 (short), tile 15")

    # The blend control changes the shown pixels: at 0 the compare panel is the input.
    b.open(url(d, "index.html"))
    images_loaded(b, "viewer (blend)")
    b.eval("window.scrollTo(0, 0)")
    full = clip_pixels(b, "#bl-clip")
    inp = clip_pixels(b, "#in-clip")
    out = clip_pixels(b, "#out-clip")
    check(full == out and full != inp, "blend at output shows the output")
    r = b.rect("#blend")
    b.mouse(r[0] + r[2] / 2, r[1] + r[3] / 2, click=True)
    b.key("Home", vk=36)  # the focused slider to 0: only the input shows
    b.pump(0.2)
    zero = clip_pixels(b, "#bl-clip")
    check(zero != full and zero == inp, "the blend control changes the shown pixels (to the input at 0)")
    b.key("ArrowRight", vk=39)
    b.key("ArrowRight", vk=39)
    b.pump(0.1)
    mid = clip_pixels(b, "#bl-clip")
    check(mid != zero and mid != full, "blend in between mixes input and output")
    check(b.eval("getComputedStyle(document.getElementById('in-img')).imageRendering") == "pixelated",
          "crisp pixels (image-rendering: pixelated)")
    b.eval("var z=document.getElementById('zoom'); z.value='8'; z.dispatchEvent(new Event('change'))")
    w = b.eval("document.getElementById('in-clip').getBoundingClientRect().width")
    check(w == 274 * 8, "zoom 8x", "width %s" % w)
    probs = b.console_problems()
    check(probs == [], "viewer: no console errors or warnings", str(probs))


def shuffled(b, d, data_dir):
    man = json.load(open(os.path.join(d, "manifest.json")))
    k, i = 3, 17
    idx = man["batches"][k]["images"][i]
    b.open(url(d, "index.html"))
    b.eval("var f=document.getElementById('find'); f.value='%d'; f.dispatchEvent(new Event('change'))" % idx)
    expect_step(b, k, "find with --shuffle")
    info = b.eval("document.getElementById('tile-info').textContent")
    check("dataset index %d" % idx in info and man["batches"][k]["class_names"][i] in info,
          "find with --shuffle shows the image", repr(info))
    check(b.eval("document.querySelector('#in-clip .mark').style.display") == "block",
          "find marks the tile")
    hover_pixel(b, d, data_dir, k, i, 9, 30, "--shuffle, step %d, tile %d" % (k, i))
    probs = b.console_problems()
    check(probs == [], "shuffled viewer: no console errors or warnings", str(probs))


def nopix(b, d):
    """A --no-html-pixels page: it says so under the cursor, and loads no pixel file."""
    b.open(url(d, "index.html"))
    b.wait_for("document.getElementById('in-img').complete", 5)
    r = b.rect("#in-clip")
    b.mouse(r[0] + 7 * 2 + 1, r[1] + 9 * 2 + 1)
    b.pump(0.3)
    pi = b.eval("document.getElementById('pixel-info').textContent")
    check("no pixel values" in pi, "with --no-html-pixels the page says it has no pixel values", repr(pi))
    pxjs = [u for u in b.requested() if "/html/" in u]
    check(pxjs == [], "with --no-html-pixels no pixel file is requested", str(pxjs))
    probs = b.console_problems()
    check(probs == [], "--no-html-pixels viewer: no console errors or warnings", str(probs))


def served(b, d):
    """The same page from a static server (127.0.0.1, a port the kernel picks)."""
    quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=d))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        b.open("http://127.0.0.1:%d/index.html#7" % srv.server_address[1])  # 157 steps
        expect_step(b, 7, "opening http://.../index.html#7 from a static server")
        images_loaded(b, "served viewer")
        r = b.rect("#out-clip")
        b.mouse(r[0] + 2 * 2 + 3, r[1] + 2 * 2 + 3)
        ok = b.wait_for("/output pixel/.test(document.getElementById('pixel-info').textContent)", 5)
        check(ok, "served viewer: pixel values on hover")
        probs = b.console_problems()
        check(probs == [], "served viewer: no console errors or warnings", str(probs))
    finally:
        srv.shutdown()
        srv.server_close()


def gallery(b, d, shots):
    g = json.load(open(os.path.join(d, "gallery.json")))
    b.open(url(d, "gallery.html"))
    images_loaded(b, "gallery")
    titles = b.eval("Array.from(document.querySelectorAll('.card:not(.input) h3')).map(function(h){return h.textContent})")
    want = [c["spec"] for c in g["order"][1:]]
    check(titles == want, "gallery: one card per function, in order", "%s vs %s" % (titles, want))
    check(b.eval("document.querySelectorAll('.card.input').length") == 1, "gallery: the input card")
    check(b.eval("document.querySelectorAll('.card svg.plot .curve').length") == len(want) + 1,
          "gallery: a curve on every card")
    r = b.rect(".card.input .clip")
    b.mouse(r[0] + 3, r[1] + 3)
    info = b.eval("document.getElementById('tile-info').textContent")
    check(g["class_names"][0] in info, "gallery: hover shows the class", repr(info))
    if shots:
        with open(os.path.join(shots, "gallery.png"), "wb") as f:
            f.write(b.screenshot())
    not_blank(b, "gallery")
    probs = b.console_problems()
    check(probs == [], "gallery: no console errors or warnings", str(probs))


def main():
    data_dir, viewer_dir, shuffled_dir, nopix_dir, gallery_dir = sys.argv[1:6]
    shots = sys.argv[6] if len(sys.argv) > 6 else None
    if not cdp.find_chromium():
        check(False, "chromium is installed (tools/debian-packages.txt lists it)")
    else:
        t0 = time.monotonic()
        with cdp.Browser() as b:
            for name, fn in (("viewer", lambda: viewer(b, viewer_dir, data_dir, shots)),
                             ("shuffled", lambda: shuffled(b, shuffled_dir, data_dir)),
                             ("no pixels", lambda: nopix(b, nopix_dir)),
                             ("served", lambda: served(b, viewer_dir)),
                             ("gallery", lambda: gallery(b, gallery_dir, shots))):
                try:
                    b.events = []
                    fn()
                except Exception as e:  # a broken page must count as a failure, not a crash
                    check(False, name + " raised", repr(e))
        print("browser tests took %.1f s" % (time.monotonic() - t0))
    print("browser: %d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
