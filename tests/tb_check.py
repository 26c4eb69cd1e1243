"""TensorBoard's own code reads cifar-act's event files (run by tests/cli_tensorboard.sh
with build/venv/bin/python, where tests/requirements.txt is installed).

Each check prints "PASS name" or "FAIL name: why"; the shell script counts them.

  tb_check.py loader LOGDIR PNGDIR CIFAR_BIN BATCH    EventAccumulator: every step of
      both image tags, pixels equal PNGDIR's TensorBoard-style grids (and, for the
      input, a numpy rendering of the raw bytes); histograms equal torch's
      make_histogram with SummaryWriter's default bins, recomputed here in numpy.
  tb_check.py server URL PNGDIR STEPS                 a running tensorboard's HTTP API
  tb_check.py pairs LOGDIR PNGDIR GAP                 images equal the halves of
      --layout pairs' compare_KKKK.png
  tb_check.py same FILE1 FILE2                         same records but wall_time
  tb_check.py flipped FILE K                           TensorBoard's record reader stops
      at record K with a CRC error; its loader yields K events and no more
  tb_check.py prefix FILE                              a killed run's file: every record
      TensorBoard's reader finds is whole, and it ends cleanly
"""
import glob
import io
import json
import os
import sys
import time
import urllib.request

import numpy as np
from PIL import Image

failures = 0


def check(name, ok, why=""):
    global failures
    if ok:
        print("PASS", name)
    else:
        failures += 1
        print("FAIL %s: %s" % (name, why))
    sys.stdout.flush()


def pixels(data_or_path):
    if isinstance(data_or_path, bytes):
        data_or_path = io.BytesIO(data_or_path)
    with Image.open(data_or_path) as im:
        return np.asarray(im.convert("RGB"))


def event_file(logdir):
    files = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    if len(files) != 1:
        raise SystemExit("FAIL event-file: %d event files in %s" % (len(files), logdir))
    return files[0]


# torch.utils.tensorboard: SummaryWriter.__init__'s default_bins and summary.make_histogram.
def default_bins():
    v, buckets, neg = 1e-12, [], []
    while v < 1e20:
        buckets.append(v)
        neg.append(-v)
        v *= 1.1
    return neg[::-1] + [0] + buckets


def make_histogram(values, bins):
    values = values.reshape(-1).astype(float)
    counts, limits = np.histogram(values, bins=bins)
    cum = np.cumsum((counts > 0).astype(np.int32))  # torch: np.greater(.., dtype=int32)
    start, end = np.searchsorted(cum, [0, cum[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    return dict(min=values.min(), max=values.max(), num=len(values), sum=values.sum(),
                sum_squares=values.dot(values), bucket_limit=limits.tolist(),
                bucket=counts.tolist())


def tb_grid(v):
    """torch.utils.tensorboard make_grid(ncols=8) + add_images' (x*255).clip.astype(uint8)."""
    n = v.shape[0]
    ncols = min(n, 8)
    nrows = (n + ncols - 1) // ncols
    canvas = np.zeros((3, 32 * nrows, 32 * ncols), np.float32)
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[:, r * 32:(r + 1) * 32, c * 32:(c + 1) * 32] = v[i]
    return (canvas * np.float32(255)).clip(0, 255).astype(np.uint8).transpose(1, 2, 0)


def cmd_loader(logdir, pngdir, cifar_bin, batch):
    from tensorboard.backend.event_processing import event_accumulator as ea

    batch = int(batch)
    acc = ea.EventAccumulator(logdir, size_guidance={ea.IMAGES: 0, ea.HISTOGRAMS: 0,
                                                     ea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    check("loader-image-tags", sorted(tags["images"]) == ["input", "output"], tags["images"])
    check("loader-histogram-tags",
          sorted(tags["histograms"]) == ["input/values", "output/values"], tags["histograms"])
    check("loader-text-tag", tags["tensors"] == ["settings"], tags["tensors"])
    pngs = sorted(glob.glob(os.path.join(pngdir, "output_*.png")))
    nsteps = len(pngs)
    raw = np.fromfile(cifar_bin, np.uint8).reshape(-1, 3073)[:, 1:].reshape(-1, 3, 32, 32)
    bins = default_bins()
    for tag in ("input", "output"):
        ev = acc.Images(tag)
        check("loader-%s-steps" % tag, [e.step for e in ev] == list(range(nsteps)),
              "steps %s" % [e.step for e in ev][:10])
        bad = [e.step for e in ev
               if not np.array_equal(pixels(e.encoded_image_string),
                                     pixels(os.path.join(pngdir, "%s_%04d.png" % (tag, e.step))))]
        check("loader-%s-pixels-equal-our-pngs" % tag, not bad, "steps %s differ" % bad[:10])
    ev = acc.Images("input")
    bad = []
    for e in ev:
        x = raw[e.step * batch:(e.step + 1) * batch].astype(np.float32) / np.float32(255)
        if not np.array_equal(pixels(e.encoded_image_string), tb_grid(x)):
            bad.append(e.step)
    check("loader-input-pixels-equal-numpy-add_images", not bad, "steps %s differ" % bad[:10])

    for tag in ("input/values", "output/values"):
        hs = acc.Histograms(tag)
        check("loader-%s-steps" % tag.replace("/", "-"), [h.step for h in hs] == list(range(nsteps)),
              [h.step for h in hs][:10])
    worst = []
    for h in acc.Histograms("input/values"):
        x = raw[h.step * batch:(h.step + 1) * batch].astype(np.float32) / np.float32(255)
        want = make_histogram(x, bins)
        got = h.histogram_value
        ok = (got.num == want["num"] and got.min == want["min"] and got.max == want["max"]
              and abs(got.sum - want["sum"]) <= 1e-9 * abs(want["sum"])
              and abs(got.sum_squares - want["sum_squares"]) <= 1e-9 * want["sum_squares"]
              and list(got.bucket_limit) == want["bucket_limit"]
              and list(got.bucket) == want["bucket"])
        if not ok:
            worst.append(h.step)
    check("loader-input-histograms-equal-torch-make_histogram", not worst,
          "steps %s differ" % worst[:10])
    # Output: sigmoid in numpy float32 may differ from ours by an ulp, so a value may sit
    # in the neighbouring bucket; everything else must agree.
    worst = []
    for h in acc.Histograms("output/values"):
        x = raw[h.step * batch:(h.step + 1) * batch].astype(np.float32) / np.float32(255)
        y = (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)
        want = make_histogram(y, bins)
        got = h.histogram_value
        moved = np.abs(np.array(got.bucket) - np.array(want["bucket"])).sum() \
            if len(got.bucket) == len(want["bucket"]) else None
        ok = (got.num == want["num"] and abs(got.min - want["min"]) < 1e-6
              and abs(got.max - want["max"]) < 1e-6
              and abs(got.sum - want["sum"]) <= 1e-6 * abs(want["sum"])
              and list(got.bucket_limit) == want["bucket_limit"]
              and moved is not None and moved <= 0.001 * got.num)
        if not ok:
            worst.append(h.step)
    check("loader-output-histograms-match-numpy-sigmoid", not worst, "steps %s" % worst[:10])
    h0 = acc.Histograms("output/values")[0].histogram_value
    check("loader-sigmoid-squeezed-into-0.5-0.73", 0.5 <= h0.min and h0.max <= 0.7311,
          "%g..%g" % (h0.min, h0.max))
    text = acc.Tensors("settings")
    body = text[0].tensor_proto.string_val[0].decode() if text else ""
    check("loader-settings-text", len(text) == 1 and "`sigmoid`" in body
          and "| batch size | %d |" % batch in body and "normalize" in body, body[:200])
    plugin = acc.SummaryMetadata("settings").plugin_data.plugin_name
    check("loader-settings-is-text-plugin", plugin == "text", plugin)


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def cmd_server(url, pngdir, steps):
    steps = int(steps)
    deadline = time.time() + 120
    tags = {}
    # TensorBoard loads in the background: poll until both image tags and all steps are in.
    while time.time() < deadline:
        try:
            tags = json.loads(get(url + "/data/plugin/images/tags")).get(".", {})
            if "input" in tags and "output" in tags:
                lst = json.loads(get(url + "/data/plugin/images/images?run=.&tag=output&sample=0"))
                if len(lst) >= steps:
                    break
        except OSError:
            pass
        time.sleep(0.5)
    check("server-image-tags", sorted(tags) == ["input", "output"], tags)
    for tag in ("input", "output"):
        lst = json.loads(get(url + "/data/plugin/images/images?run=.&tag=%s&sample=0" % tag))
        check("server-%s-lists-all-%d-steps" % (tag, steps),
              [e["step"] for e in lst] == list(range(steps)), "%d entries" % len(lst))
        bad = []
        for e in lst:
            png = get(url + "/data/plugin/images/individualImage?" + e["query"])
            ours = pixels(os.path.join(pngdir, "%s_%04d.png" % (tag, e["step"])))
            if png[:8] != b"\x89PNG\r\n\x1a\n" or not np.array_equal(pixels(png), ours):
                bad.append(e["step"])
        check("server-%s-individualImage-pixels-are-ours" % tag, not bad, "steps %s" % bad[:10])
    htags = json.loads(get(url + "/data/plugin/histograms/tags")).get(".", {})
    check("server-histogram-tags", sorted(htags) == ["input/values", "output/values"], htags)
    h = json.loads(get(url + "/data/plugin/histograms/histograms?run=.&tag=output%2Fvalues"))
    # The histograms plugin keeps a sample of steps (reservoir of 500 by default, and it
    # thins to ~50 for this route); the last step is always kept.
    check("server-histogram-steps", len(h) > 0 and h[-1][1] == steps - 1 and
          all(len(e[2]) > 0 for e in h), "%d, last %s" % (len(h), h[-1][:2] if h else None))
    ttags = json.loads(get(url + "/data/plugin/text/tags")).get(".", [])
    check("server-text-tag", ttags == ["settings"], ttags)


def cmd_images(logdir, pngdir):
    """Every step's images equal PNGDIR's input_KKKK.png / output_KKKK.png."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(logdir, size_guidance={ea.IMAGES: 0, ea.HISTOGRAMS: 0})
    acc.Reload()
    n = len(glob.glob(os.path.join(pngdir, "output_*.png")))
    for tag in ("input", "output"):
        ev = acc.Images(tag)
        bad = [e.step for e in ev
               if not np.array_equal(pixels(e.encoded_image_string),
                                     pixels(os.path.join(pngdir, "%s_%04d.png" % (tag, e.step))))]
        check("images-%s-%s" % (os.path.basename(logdir), tag),
              n > 0 and [e.step for e in ev] == list(range(n)) and not bad,
              "%d steps of %d, differing %s" % (len(ev), n, bad[:10]))
    h = acc.Histograms("output/values")
    check("images-%s-histograms" % os.path.basename(logdir),
          len(h) == n and all(x.histogram_value.num == x.histogram_value.num // 3072 * 3072
                              and sum(x.histogram_value.bucket) == x.histogram_value.num
                              for x in h), "%d" % len(h))


def cmd_pairs(logdir, pngdir, gap):
    from tensorboard.backend.event_processing import event_accumulator as ea

    gap = int(gap)
    acc = ea.EventAccumulator(logdir, size_guidance={ea.IMAGES: 0})
    acc.Reload()
    inp, out = acc.Images("input"), acc.Images("output")
    comp = sorted(glob.glob(os.path.join(pngdir, "compare_*.png")))
    check("pairs-steps", [e.step for e in inp] == list(range(len(comp))) and
          [e.step for e in out] == list(range(len(comp))), "%d %d" % (len(inp), len(comp)))
    bad = []
    for a, b in zip(inp, out):
        c = pixels(os.path.join(pngdir, "compare_%04d.png" % a.step))
        pa, pb = pixels(a.encoded_image_string), pixels(b.encoded_image_string)
        w = pa.shape[1]
        if not (np.array_equal(c[:, :w], pa) and np.array_equal(c[:, w + gap:], pb)):
            bad.append(a.step)
    check("pairs-images-equal-compare-halves", not bad, "steps %s" % bad)


def records(path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
    import tfevents_read
    return [p for _, _, p in tfevents_read.read_records(path)]


def cmd_same(a, b):
    ra, rb = records(event_file(a)), records(event_file(b))

    def strip(p):  # Event field 1 (wall_time) comes first: 0x09 + 8 bytes.
        return p[9:] if p[:1] == b"\x09" else p
    check("same-records-but-wall-time", len(ra) == len(rb) and
          all(strip(x) == strip(y) for x, y in zip(ra, rb)), "%d vs %d records" % (len(ra), len(rb)))


def cmd_flipped(path, k):
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow

    k = int(k)
    reader = pywrap_tensorflow.PyRecordReader_New(path.encode())
    n, err = 0, None
    while True:
        try:
            reader.GetNext()
            n += 1
        except errors.OutOfRangeError:
            break
        except errors.DataLossError as e:
            err = str(e)
            break
    check("tensorboard-reader-reports-crc", err is not None and "crc32" in err and n == k,
          "read %d records, error %r" % (n, err))
    events = list(event_file_loader.EventFileLoader(path).Load())
    check("tensorboard-loader-stops-at-bad-record", len(events) == k, "%d events" % len(events))


def cmd_prefix(path):
    from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow

    reader = pywrap_tensorflow.PyRecordReader_New(path.encode())
    n, err = 0, None
    while True:
        try:
            reader.GetNext()
            n += 1
        except errors.OutOfRangeError:
            break
        except errors.DataLossError as e:
            err = str(e)
            break
    check("killed-run-whole-records", err is None and n >= 1, "%d records, %r" % (n, err))
    print("records", n)


if __name__ == "__main__":
    cmds = {"loader": cmd_loader, "images": cmd_images, "server": cmd_server, "pairs": cmd_pairs, "same": cmd_same,
            "flipped": cmd_flipped, "prefix": cmd_prefix}
    cmds[sys.argv[1]](*sys.argv[2:])
    sys.exit(1 if failures else 0)
