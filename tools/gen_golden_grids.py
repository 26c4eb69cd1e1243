#!/usr/bin/python3
"""Fidelity goldens for the grids: what torchvision / TensorBoard write for CIFAR-10.

    /usr/bin/python3 tools/gen_golden_grids.py [DATA_DIR [OUT_DIR]]
    (defaults: ../shared and tests/golden, relative to the repository root)
    /usr/bin/python3 tools/gen_golden_grids.py --norm-default DATA_DIR OUT_DIR
    (only section (d) under ATEN_CPU_CAPABILITY=default; the first form runs it)

Reads DATA_DIR/cifar-10-batches-bin/test_batch.bin (the real test set, read-only, never
copied), runs the PyTorch lesson pipeline on it - ToTensor (bytes/255 in float32),
optionally Normalize, a torch.nn activation module, then the grid writer of each style -
and writes golden data that lets tests/test_fidelity.c check, WITHOUT torch, that our
pipeline gives the same pixels. Needs PyTorch 1.13 + torchvision 0.14 (+ PIL, numpy);
CI never runs this, the outputs are committed.

Batches are DataLoader(batch_size=64, shuffle=False): batch k is images 64k..64k+63,
so batch 0 has 64 images (274x274 torchvision grid, 256x256 TensorBoard) and batch 156,
the last, has 16 (274x70 / 256x64).

Styles (the `style` field):
  tv  torchvision.utils.save_image(batch) with its defaults: make_grid(nrow=8,
      padding=2, pad_value=0), then grid.mul(255).add_(0.5).clamp_(0,255).to(uint8).
  tb  SummaryWriter.add_images(tag, batch) (dataformats NCHW): tensorboard is not
      installed here, so the conversion is reimplemented from torch 1.13's
      torch/utils/tensorboard/summary.py image(): the batch goes through
      torch/utils/tensorboard/_utils.py make_grid (ncols=8, no padding, black canvas;
      that file is loaded and called directly from the installed torch), then
      (x * 255).clip(0, 255).astype(np.uint8) in float32. NOTE: torch 1.13 itself
      omits the clip (pytorch/pytorch#90419, fixed in 2.0), which makes out-of-range
      values wrap around in a platform-dependent way; we follow the clipped, defined
      behaviour that src/grid.h specifies. In-range values are identical either way.

Pixels everywhere below are 8-bit RGB, row-major [h][w][3] (what src/grid.h renders).

Output: OUT_DIR/grids.txt, a tab-separated text file, one record per line, '#' lines
are comments. Fields:

  input  STYLE  BATCH  N  W  H  SHA256
      (a) The input grid of batch BATCH (N images, grid W x H) in STYLE: the SHA-256
      (hex) of the exact reference pixels. Batches 0 and 156, both styles.

  lut  STYLE  NORMALIZE  SPEC  SHA256  HEX
      (b) An element-wise activation SPEC (an `--fn` string our CLI accepts, e.g.
      "leaky_relu(negative_slope=0.2)", "gelu(approximate='tanh')"), after ToTensor and
      NORMALIZE ("-" for none, else the `--normalize` string: "0.5,0.5" or
      "M1,M2,M3,S1,S2,S3"). Each output pixel depends only on its channel and input
      byte, so HEX (1536 hex digits) is PyTorch's quantized table lut[3][256] in that
      order (lut[c][b] = output byte for input byte b in channel c, c = R,G,B), as
      src/grid.h's grid_render_lut takes it. SHA256 is the hash of PyTorch's full
      output grid for batch 0; the script asserts that laying out batch 0's bytes
      mapped through HEX reproduces that grid exactly (and batch 156's too), so
      grid_render_lut(style opts, batch 0 bytes, 64, lut) must hash to SHA256.

  full  STYLE  NORMALIZE  SPEC  BATCH  N  W  H  FILE  SHA256
      (c) Channel-wise activations (softmax, log_softmax, softmin over dim=1) cannot be
      tabulated: FILE (in OUT_DIR) is a PNG of PyTorch's full output grid of batch
      BATCH, W x H RGB, whose decoded pixels hash to SHA256.

  norm  STYLE  NORMALIZE  SPEC  GRIDOPTS  KIND  BATCH  N  W  H  FILE  SHA256
      (d) make_grid's normalize options (written to OUT_DIR/grids_norm.txt, same
      format). GRIDOPTS is "normalize" plus "+scale_each" and/or "+value_range=LO:HI";
      KIND is "input" or "output": the grid of batch BATCH after ToTensor, NORMALIZE
      and (for output) SPEC, through torchvision's own make_grid(normalize=True,
      value_range=(LO, HI), scale_each=...) - for tv, then save_image's quantization;
      for tb, make_grid(padding=0) of the same call (the same layout as tensorboard's
      make_grid, whose canvas is black as pad_value 0 is) then add_images' x*255 clip:
      add_images of the normalized batch. SHA256 hashes the reference pixels; FILE is a
      PNG of them ("-" for none, to keep the repository small). Must match exactly.

      Exact pixels are sensitive to the last ulp: with value_range=(0.5, 0.75) a
      sigmoid output 1 ulp above 0.50294113 quantizes to 3 instead of 2. PyTorch's own
      results differ that much between its CPU kernels: the vectorized ones (its default
      here, "CPU capability usage: AVX2") and the scalar ones (ATEN_CPU_CAPABILITY=default,
      "NO AVX"), which call libm like our generic kernels do. So (d) is written twice:
      grids_norm.txt in this process (the script checks it runs with AVX2), and
      grids_norm_default.txt by a child process of this script run with
      ATEN_CPU_CAPABILITY=default (option --norm-default). The rule the test follows:
      our generic kernels (CIFAR_ACT_GENERIC=1) are compared with grids_norm_default.txt,
      every other implementation with grids_norm.txt. The default-capability records
      reuse the AVX2 record's PNG where the pixels are the same, else name a
      grids_norm*_default.png. (a)-(c) are compared within 1 level, so one capability
      is enough for them.

The fidelity test should require input grids to match exactly and, per output grid,
at most 0.01% of values differing, none by more than 1 level, from the reference
(the lut entries reconstruct the reference grid with grid_render_lut; full entries
decode FILE with stb_image).

Also prints, for the record, how long torchvision takes to write the whole test set's
input and sigmoid output grids with save_image (314 PNGs) and their total size.
"""
import hashlib
import importlib.util
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.utils as vutils
from PIL import Image

import golden_specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 64
BATCHES = (0, 156)

# (spec string our CLI accepts, torch module): the lines of tools/golden_specs.py marked
# G (shared with tools/gen_golden_kernels.py), in table order.
ELEMENTWISE = golden_specs.specs_of_kind(golden_specs.G, channelwise=False)
CHANNELWISE = golden_specs.specs_of_kind(golden_specs.G, channelwise=True)
# --normalize strings, and the torchvision transform each stands for.
NORMALIZE = [
    ("-", None),
    ("0.5,0.5", ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))),
    ("0.4914,0.4822,0.4465,0.2470,0.2435,0.2616",
     ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))),
]


def load_tb_utils():
    """torch/utils/tensorboard/_utils.py, loaded as a plain file: importing the package
    would import tensorboard, which is not installed."""
    path = os.path.join(os.path.dirname(torch.__file__), "utils", "tensorboard", "_utils.py")
    spec = importlib.util.spec_from_file_location("tb_utils", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TB = load_tb_utils()


def to_tensor(px):
    """ToTensor on [n][3][32][32] bytes: the same float32 division torchvision does."""
    return torch.from_numpy(px).to(dtype=torch.get_default_dtype()).div(255)


def grid_tv(y):
    """save_image's pixels: [h][w][3] uint8."""
    g = vutils.make_grid(y)
    return g.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8).numpy()


def grid_tb(y):
    """add_images' pixels (summary.image with the clip of torch >= 2.0): [h][w][3]."""
    hwc = TB.convert_to_HWC(y.detach().numpy(), "NCHW")
    with np.errstate(invalid="ignore", over="ignore"):
        return (hwc.astype(np.float32) * 255).clip(0, 255).astype(np.uint8)


GRID = {"tv": grid_tv, "tb": grid_tb}


def grid_norm(style, y, opts):
    """The grid of y with make_grid's normalize options (see (d) above)."""
    kw = {"normalize": True, "scale_each": "scale_each" in opts}
    for part in opts.split("+"):
        if part.startswith("value_range="):
            lo, hi = part[len("value_range="):].split(":")
            kw["value_range"] = (float(lo), float(hi))
    if style == "tv":
        g = vutils.make_grid(y, **kw)
        return g.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8).numpy()
    g = vutils.make_grid(y, padding=0, **kw).permute(1, 2, 0).numpy()
    with np.errstate(invalid="ignore", over="ignore"):
        return (g.astype(np.float32) * 255).clip(0, 255).astype(np.uint8)


# (d) normalize cases: (NORMALIZE, SPEC, GRIDOPTS, keep PNGs). The channel-wise
# log_softmax runs our float path; the rest also the table path.
NORM_CASES = [
    ("-", "log_softmax", "normalize", True),
    ("-", "log_softmax", "normalize+scale_each", False),
    ("-", "log_softmax", "normalize+value_range=-3:0", False),
    ("0.5,0.5", "tanh", "normalize", False),
    ("0.5,0.5", "tanh", "normalize+scale_each", False),
    ("0.5,0.5", "tanh", "normalize+value_range=-1:1", False),
    ("0.5,0.5", "tanh", "normalize+scale_each+value_range=-0.5:0.5", False),
    ("-", "tanh", "normalize+value_range=0.1:0.3", False),
    ("-", "sigmoid", "normalize+value_range=0.5:0.75", False),
    ("-", "sigmoid", "normalize+value_range=0.6:0.6", False),
    ("0.5,0.5", "gelu", "normalize+scale_each", False),
    ("0.4914,0.4822,0.4465,0.2470,0.2435,0.2616", "elu", "normalize", False),
    ("0.4914,0.4822,0.4465,0.2470,0.2435,0.2616", "hardshrink", "normalize+scale_each", False),
    ("-", "relu6", "normalize", False),
]


def layout_bytes(style, mapped):
    """Lay out already-quantized bytes [n][3][32][32] the way STYLE does (pad 0)."""
    t = torch.from_numpy(np.ascontiguousarray(mapped))
    if style == "tv":
        return vutils.make_grid(t).permute(1, 2, 0).numpy()
    return TB.convert_to_HWC(np.ascontiguousarray(mapped), "NCHW")


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).hexdigest()


def normalize(x, norm):
    if norm is None:
        return x
    return T.Normalize(norm[0], norm[1])(x)


def lut_for(style, fn, norm):
    """PyTorch's quantized output byte for each (channel, input byte): run the module on
    one 'image' holding every byte value, then read the grid back per channel."""
    b = np.arange(256, dtype=np.uint8)
    img = np.broadcast_to(b.reshape(1, 1, 16, 16), (1, 3, 16, 16)).copy()
    y = fn(normalize(to_tensor(img), norm))
    # A one-image grid is the image itself in both styles: [16][16][3].
    g = GRID[style](y)
    return np.stack([g[:, :, c].reshape(256) for c in range(3)])


CAPABILITY_PREFIX = "CPU capability usage: "


def cpu_capability():
    """The kernel set ATen dispatches to, as torch.__config__.show() names it ("AVX2";
    "NO AVX" under ATEN_CPU_CAPABILITY=default)."""
    for line in torch.__config__.show().splitlines():
        line = line.strip().lstrip("- ")
        if line.startswith(CAPABILITY_PREFIX):
            return line[len(CAPABILITY_PREFIX):]
    return None


def write_norm(batches, out, capability, fname, suffix):
    """Section (d): OUT_DIR/FNAME from the kernels of CAPABILITY (asserted, so that a
    machine that dispatches differently fails here instead of writing other goldens).
    Kept PNGs are named with SUFFIX unless an existing one without it has the same
    pixels."""
    assert cpu_capability() == capability, "torch runs %s kernels, %s expected" % (
        cpu_capability(), capability)
    fns = dict(ELEMENTWISE + CHANNELWISE)
    norms = dict(NORMALIZE)
    nlines = [
        "# cifar-act make_grid normalize goldens from PyTorch %s / torchvision %s; see"
        % (torch.__version__, torchvision.__version__),
        "# tools/gen_golden_grids.py (d) for the format. Fields are tab-separated.",
    ]
    if suffix:
        nlines.append("# Kernels: ATEN_CPU_CAPABILITY=default (%s); compared with our generic"
                      % capability)
        nlines.append("# kernels. grids_norm.txt: the same cases with PyTorch's AVX2 kernels.")
    with torch.no_grad():
        # Without normalize our tb reference path equals add_images' own (grid_tb).
        x0 = to_tensor(batches[0])
        plain = vutils.make_grid(x0, padding=0).permute(1, 2, 0).numpy()
        assert np.array_equal((plain * 255).clip(0, 255).astype(np.uint8), grid_tb(x0))
        for i, (norm_name, spec, opts, keep) in enumerate(NORM_CASES):
            for style in ("tv", "tb"):
                k = 0
                x = normalize(to_tensor(batches[k]), norms[norm_name])
                for kind, y in (("input", x), ("output", fns[spec](x))):
                    g = grid_norm(style, y, opts)
                    name = "-"
                    if keep:
                        name = "grids_norm%d_%s_%s.png" % (i, style, kind)
                        base = os.path.join(out, name)
                        if not (suffix and os.path.exists(base) and np.array_equal(
                                np.asarray(Image.open(base).convert("RGB")), g)):
                            name = "grids_norm%d_%s_%s%s.png" % (i, style, kind, suffix)
                            Image.fromarray(g).save(os.path.join(out, name), optimize=True)
                    nlines.append("\t".join(["norm", style, norm_name, spec, opts, kind, str(k),
                                             str(len(batches[k])), str(g.shape[1]),
                                             str(g.shape[0]), name, sha(g)]))
    with open(os.path.join(out, fname), "w") as f:
        f.write("\n".join(nlines) + "\n")
    print("wrote %s: %d records (%s kernels)" % (
        os.path.join(out, fname), sum(1 for l in nlines if not l.startswith("#")), capability))


def load_batches(data):
    raw = np.fromfile(os.path.join(data, "cifar-10-batches-bin", "test_batch.bin"),
                      dtype=np.uint8).reshape(-1, 3073)
    px = np.ascontiguousarray(raw[:, 1:].reshape(-1, 3, 32, 32))
    batches = {k: px[k * BATCH:(k + 1) * BATCH] for k in BATCHES}
    assert len(batches[156]) == 16
    return px, batches


def main():
    torch.set_num_threads(1)
    if sys.argv[1:2] == ["--norm-default"]:
        data, out = sys.argv[2], sys.argv[3]
        write_norm(load_batches(data)[1], out, "NO AVX", "grids_norm_default.txt", "_default")
        return
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "tests", "golden")
    px, batches = load_batches(data)
    os.makedirs(out, exist_ok=True)
    lines = [
        "# cifar-act grid goldens from PyTorch %s / torchvision %s; see"
        % (torch.__version__, torchvision.__version__),
        "# tools/gen_golden_grids.py for the format. Fields are tab-separated.",
    ]

    with torch.no_grad():
        # (a) input grids.
        for style in ("tv", "tb"):
            for k in BATCHES:
                g = GRID[style](to_tensor(batches[k]))
                # The input grid is the bytes themselves, laid out.
                assert np.array_equal(g, layout_bytes(style, batches[k]))
                lines.append("\t".join(["input", style, str(k), str(len(batches[k])),
                                        str(g.shape[1]), str(g.shape[0]), sha(g)]))

        # (b) element-wise activations as tables, checked against the full grids.
        n_lut = 0
        for norm_name, norm in NORMALIZE:
            for spec, fn in ELEMENTWISE:
                for style in ("tv", "tb"):
                    lut = lut_for(style, fn, norm)
                    ref0 = None
                    for k in BATCHES:
                        x = batches[k]
                        ref = GRID[style](fn(normalize(to_tensor(x), norm)))
                        mapped = np.stack([lut[c][x[:, c]] for c in range(3)], axis=1)
                        # Padding is pad_value 0 quantized, i.e. 0: what layout_bytes uses.
                        got = layout_bytes(style, mapped)
                        bad = np.count_nonzero(got != ref)
                        assert bad == 0, "%s %s %s batch %d: table differs in %d values" % (
                            style, norm_name, spec, k, bad)
                        if k == 0:
                            ref0 = ref
                    lines.append("\t".join(["lut", style, norm_name, spec, sha(ref0),
                                            lut.astype(np.uint8).tobytes().hex()]))
                    n_lut += 1

        # (c) channel-wise activations: full grids of batch 0.
        n_full = 0
        for norm_name, norm in NORMALIZE:
            for spec, fn in CHANNELWISE:
                for style in ("tv", "tb"):
                    k = 0
                    g = GRID[style](fn(normalize(to_tensor(batches[k]), norm)))
                    tag = {"-": "n0", "0.5,0.5": "n1"}.get(norm_name, "n2")
                    name = "grids_%s_%s_%s.png" % (style, spec, tag)
                    Image.fromarray(g).save(os.path.join(out, name), optimize=True)
                    back = np.asarray(Image.open(os.path.join(out, name)).convert("RGB"))
                    assert np.array_equal(back, g)
                    lines.append("\t".join(["full", style, norm_name, spec, str(k),
                                            str(len(batches[k])), str(g.shape[1]),
                                            str(g.shape[0]), name, sha(g)]))
                    n_full += 1

    with open(os.path.join(out, "grids.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    # (d) make_grid normalize options: here (AVX2), then in a child process with the
    # scalar kernels (see (d) above).
    write_norm(batches, out, "AVX2", "grids_norm.txt", "")
    subprocess.run([sys.executable, os.path.abspath(__file__), "--norm-default", data, out],
                   env=dict(os.environ, ATEN_CPU_CAPABILITY="default"), check=True)
    recs = [[l.split("\t") for l in open(os.path.join(out, n)) if not l.startswith("#")]
            for n in ("grids_norm.txt", "grids_norm_default.txt")]
    assert [r[:10] for r in recs[0]] == [r[:10] for r in recs[1]]
    diff = [" ".join(a[1:6]) for a, b in zip(*recs) if a[11] != b[11]]
    print("grids_norm_default.txt: %d of %d records differ from grids_norm.txt: %s"
          % (len(diff), len(recs[0]), "; ".join(diff) or "none"))
    total = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out)
                if n.startswith("grids"))
    print("wrote %s: %d input hashes, %d tables, %d full grids; grids* total %d bytes"
          % (os.path.join(out, "grids.txt"), 2 * len(BATCHES), n_lut, n_full, total))

    # For the record: torchvision writing the whole test set, input + sigmoid output.
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        t0 = time.time()
        size = 0
        for k in range(math.ceil(len(px) / BATCH)):
            x = to_tensor(px[k * BATCH:(k + 1) * BATCH])
            for name, t in (("input", x), ("output", torch.sigmoid(x))):
                p = os.path.join(tmp, "%s_%04d.png" % (name, k))
                vutils.save_image(t, p)
                size += os.path.getsize(p)
        print("torchvision save_image, whole test set, input + sigmoid output: "
              "%.2f s, %d bytes in %d PNGs" % (time.time() - t0, size, 2 * (k + 1)))


if __name__ == "__main__":
    main()
