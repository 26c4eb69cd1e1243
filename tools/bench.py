#!/usr/bin/env python3
"""`make bench`: cifar-act end to end on the real test set, against the PyTorch lesson
pipeline when /usr/bin/python3 has torch. Prints medians of several runs.

    tools/bench.py ./cifar-act [--data ../shared] [--runs 5] [--sweep-rounds 3]

Wall time includes process start (and the interpreter's, for PyTorch). Peak RSS is
the child's ru_maxrss from wait4(2). PNG bytes are the sizes of the files written;
"vs PIL" compares them with PIL writing the same pixels (each grid decoded and saved
again with PIL's defaults, as save_image does), when /usr/bin/python3 has PIL.
The --shard sweep (issue 13; needs GNU parallel, else skipped with a line saying so)
runs every element-wise function x 3 normalizations one after another, and with
`parallel` and --shard; it is capped at about SWEEP_BUDGET seconds (fewer rounds,
said in its output) so that it adds at most ~2 minutes to make bench.
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_PY = "/usr/bin/python3"


def run(cmd, out_dir, fresh=True):
    """Run cmd once, with a fresh out_dir unless fresh is False (then the files of the
    previous run are there to be replaced); return (seconds, peak RSS bytes, PNG bytes,
    CPU seconds: the child's user + system time)."""
    if fresh:
        shutil.rmtree(out_dir, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: command failed: {' '.join(cmd)}")
    # PNGs, or the event file of a --logdir job (its column then holds the event file).
    png = sum(e.stat().st_size for e in os.scandir(out_dir)
              if e.name.endswith(".png") or e.name.startswith("events.out.tfevents."))
    return secs, ru.ru_maxrss * 1024, png, ru.ru_utime + ru.ru_stime


def median_run(cmd, out_dir, runs):
    results = [run(cmd, out_dir) for _ in range(runs)]
    return (statistics.median(r[0] for r in results),
            statistics.median(r[1] for r in results), results[0][2])


PIL_BYTES = """
import glob, io, os, sys
from PIL import Image
total = 0
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.png"))):
    with Image.open(f) as im:
        b = io.BytesIO()
        im.save(b, format="PNG")
        total += len(b.getvalue())
print(total)
"""


def pil_bytes(out_dir):
    """What PIL (save_image's writer) makes of the PNGs in out_dir, or None without PIL."""
    r = subprocess.run([TORCH_PY, "-c", PIL_BYTES, out_dir], capture_output=True, text=True)
    return int(r.stdout) if r.returncode == 0 and r.stdout.strip() else None


def have_torch():
    if not os.access(TORCH_PY, os.X_OK):
        return False
    return subprocess.run([TORCH_PY, "-c", "import torch, torchvision"],
                          stderr=subprocess.DEVNULL).returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--build", default="build", help="where make put tools/bench_*")
    ap.add_argument("--skip-kernels", action="store_true")
    ap.add_argument("--sweep-rounds", type=int, default=3,
                    help="rounds of the --shard sweep (0 skips it)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cifar-act-bench.")
    out = os.path.join(tmp, "out")
    # A writable copy, like a user's data/ after the download: the first run verifies
    # the MD5 and leaves a stamp, later runs skip re-hashing (a read-only directory
    # such as ../shared is hashed on every run).
    data = os.path.join(tmp, "data")
    shutil.copytree(os.path.join(a.data, "cifar-10-batches-bin"),
                    os.path.join(data, "cifar-10-batches-bin"),
                    copy_function=shutil.copyfile)  # not the source's read-only modes
    os.chmod(os.path.join(data, "cifar-10-batches-bin"), 0o755)
    base = [a.bin, "--data", data, "--out", out, "--quiet"]
    # --logdir alone writes only the event file; it goes where the PNGs go otherwise.
    logdir_only = [a.bin, "--data", data, "--logdir", out, "--quiet"]
    run(base, out)
    try:
        print(f"cifar-act end to end: {a.data}/cifar-10-batches-bin/test_batch.bin, "
              f"10000 images, 157 batches of 64, median of {a.runs} rounds, "
              f"{os.cpu_count()} CPUs")
        print(f"{'job (fresh output directory unless said)':44} {'seconds':>8} {'images/s':>10} {'PNG MB':>8} {'vs PIL':>7} "
              f"{'peak RSS MB':>12}")
        rows = {}
        jobs = [("--fn sigmoid", ["--fn", "sigmoid"]),
                ("--fn sigmoid --no-html", ["--fn", "sigmoid", "--no-html"]),
                ("--fn sigmoid --no-html-pixels", ["--fn", "sigmoid", "--no-html-pixels"]),
                ("--fn sigmoid --jobs 1", ["--fn", "sigmoid", "--jobs", "1"]),
                ("--fn sigmoid, replacing the last run's files", ["--fn", "sigmoid"]),
                ("--fn relu", ["--fn", "relu"]),
                ("--fn gelu --fn 'leaky_relu(0.2)' (chain)", ["--fn", "gelu", "--fn", "leaky_relu(0.2)"]),
                ("--fn sigmoid --style tensorboard", ["--fn", "sigmoid", "--style", "tensorboard"]),
                ("--fn softmax (channel-wise, float path)", ["--fn", "softmax"]),
                # TensorBoard event file (issue 10): must be as fast as the PNG path.
                ("--fn sigmoid --logdir only (event file MB)", ["--fn", "sigmoid"]),
                ("--fn sigmoid --out + --logdir", ["--fn", "sigmoid", "--logdir",
                                                   os.path.join(tmp, "logs")])]
        # Round-robin (every job once per round), so that drift in the machine's speed
        # hits all jobs alike; each job's PNG bytes and PIL comparison come from its
        # own output of the last round.
        results = {name: [] for name, _ in jobs}
        pngs, pil = {}, None
        # The replacing job has an --out of its own, as a user's out/ run again and
        # again: the pool of emptied inodes its last run left (outdir.h) is there, and
        # no other job's rmtree has just freed hundreds of inodes before it.
        rout = os.path.join(tmp, "replaced")
        for rnd in range(a.runs):
            for name, extra in jobs:
                replacing = "replacing" in name
                cmd = (logdir_only if "--logdir only" in name else base) + extra
                where = out
                if replacing:
                    where = rout
                    cmd = [rout if x == out else x for x in cmd]
                    if rnd == 0:
                        run(cmd, rout)  # the files the measured runs replace
                shutil.rmtree(os.path.join(tmp, "logs"), ignore_errors=True)
                results[name].append(run(cmd, where, fresh=not replacing))
                if rnd == a.runs - 1:
                    pil = pil_bytes(where)
                    pngs[name] = (results[name][-1][2], pil)
        for name, _ in jobs:
            s = statistics.median(r[0] for r in results[name])
            rss = statistics.median(r[1] for r in results[name])
            png, pil = pngs[name]
            rows[name] = (s, rss, png)
            vs = f"{100 * (png / pil - 1):+6.2f}%" if pil else "    n/a"
            print(f"{name:44} {s:8.3f} {10000 / s:10.0f} {png / 1e6:8.2f} {vs:>7} "
                  f"{rss / 1e6:12.1f}")
        s2, s1 = rows["--fn sigmoid"][0], rows["--fn sigmoid --jobs 1"][0]
        print(f"scaling --jobs 1 -> default: {s1 / s2:.2f}x")
        # The viewer's cost: CPU time (user + system, median) is the measure that other
        # load on the machine disturbs least; wall time beside it.
        def cpu(name):
            return statistics.median(r[3] for r in results[name])
        c0, c2 = cpu("--fn sigmoid --no-html"), cpu("--fn sigmoid")
        cnp = cpu("--fn sigmoid --no-html-pixels")
        s0, snp = rows["--fn sigmoid --no-html"][0], rows["--fn sigmoid --no-html-pixels"][0]
        print(f"viewer (default: index.html + html/px_*.js) costs {100 * (c2 / c0 - 1):+.1f}% CPU "
              f"({1000 * (c2 - c0):+.0f} ms of {c0:.3f} s user+sys; wall {100 * (s2 / s0 - 1):+.1f}%); "
              f"--no-html-pixels saves {100 * (1 - cnp / c2):.1f}% CPU ({1000 * (c2 - cnp):.0f} ms; "
              f"it alone costs {100 * (cnp / c0 - 1):+.1f}%)")
        if pil is None:
            print("(vs PIL: n/a, /usr/bin/python3 cannot import PIL: apt-get install python3-pil)")

        if have_torch():
            runs = max(1, min(a.runs, 3))
            ts, trss, tpng = median_run([TORCH_PY, os.path.join(HERE, "lesson_torch.py"),
                                         data, out], out, runs)
            s, rss, png = rows["--fn sigmoid"]
            print(f"\nPyTorch lesson pipeline (torch {torch_version()}, per-image PIL + "
                  f"ToTensor, DataLoader(64), nn.Sigmoid, save_image), median of {runs}:")
            print(f"{'PyTorch + torchvision':44} {ts:8.3f} {10000 / ts:10.0f} "
                  f"{tpng / 1e6:8.2f} {'':7} {trss / 1e6:12.1f}")
            print(f"ratios (cifar-act --fn sigmoid vs PyTorch): {ts / s:.1f}x faster, "
                  f"PNG bytes {100 * (png / tpng - 1):+.2f}%, peak RSS {rss / trss:.3f}x")
        else:
            print("\nPyTorch comparison skipped: /usr/bin/python3 cannot import torch and "
                  "torchvision (apt-get install python3-torch python3-torchvision)")
        if a.sweep_rounds > 0:
            sweep(a.bin, data, tmp, a.sweep_rounds)
        if not a.skip_kernels:
            kernels(a.build)
        extract = os.path.join(a.build, "tools", "bench_extract")
        if os.access(extract, os.X_OK):
            print("\nExtraction of a local archive through file:// (MB/s of compressed input):")
            sys.stdout.flush()
            subprocess.run([os.path.join(HERE, "bench_extract.sh"), extract], check=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# The sweep's normalizations: none, the lesson's Normalize((0.5,), (0.5,)), ImageNet's.
SWEEP_NORMALIZE = [("none", []), ("0.5,0.5", ["--normalize", "0.5,0.5"]),
                   ("ImageNet", ["--normalize", "0.485,0.456,0.406,0.229,0.224,0.225"])]
SWEEP_BUDGET = 110  # seconds: no round starts that would end past this (make bench + ~2 min)


def timed(cmd, stdin=None):
    """Run cmd; (wall seconds, CPU seconds): user+sys of cmd and of every process it
    waited for (GNU parallel's children), from wait4(2)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: sweep: command failed: {' '.join(cmd)}")
    return wall, ru.ru_utime + ru.ru_stime


def sweep(binary, data, tmp, rounds):
    """Every element-wise function (with its defaults, as --gallery lists them) x 3
    normalizations on the test set, three ways: one run after another with the
    default --jobs (all CPUs); GNU parallel -j CPUs over settings x --shard K/CPUs,
    --jobs 1 per process (so both use every CPU, and no more: a shard with the
    default --jobs would start CPUs threads in each of CPUs processes); and, for
    scale, parallel -j CPUs over the settings alone (no shards). Each setting has its
    own --out, emptied before each round; the shards of a setting write into it at
    the same time and the last one merges."""
    cpus = os.cpu_count() or 1
    if not shutil.which("parallel"):
        print("\n--shard sweep skipped: GNU parallel is not installed (apt-get install parallel)")
        return
    gal = os.path.join(tmp, "gallery")
    subprocess.run([binary, "--data", data, "--out", gal, "--gallery", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(gal, "gallery.json")) as f:
        specs = [c["spec"] for c in json.load(f)["order"] if "spec" in c]
    configs = [["--fn", spec] + norm for spec in specs for _, norm in SWEEP_NORMALIZE]
    root = os.path.join(tmp, "sweep")
    base = [binary, "--data", data, "--quiet"]

    def out(way, i):
        return os.path.join(root, way, f"c{i:03d}")

    def lines(way, extra, shards):
        return "".join(shlex.join(base + c + ["--out", out(way, i)] + extra +
                                  (["--shard", f"{k}/{shards}"] if shards else [])) + "\n"
                       for i, c in enumerate(configs) for k in range(max(shards, 1)))

    def sequential():
        wall = cpu = 0.0
        for i, c in enumerate(configs):
            w, u = timed(base + c + ["--out", out("seq", i)])
            wall, cpu = wall + w, cpu + u
        return wall, cpu

    def parallel(way, shards):
        path = os.path.join(root, way + ".cmds")
        with open(path, "w") as f:
            f.write(lines(way, ["--jobs", "1"], shards))
        with open(path) as f:
            return timed(["parallel", "-j", str(cpus), "--halt", "now,fail=1"], stdin=f)

    ways = [("seq", f"{len(configs)} runs one after another, --jobs {cpus}", sequential),
            ("shard", f"parallel -j {cpus}, --shard K/{cpus} --jobs 1 ({len(configs) * cpus} processes)",
             lambda: parallel("shard", cpus)),
            ("par", f"parallel -j {cpus} over settings, --jobs 1 (no --shard)",
             lambda: parallel("par", 0))]
    print(f"\n--shard sweep: {len(specs)} element-wise functions x {len(SWEEP_NORMALIZE)} "
          f"normalizations ({', '.join(n for n, _ in SWEEP_NORMALIZE)}) = {len(configs)} "
          f"runs of the test set (PNGs and index.html), {cpus} CPUs")
    sys.stdout.flush()
    results = {w: [] for w, _, _ in ways}
    t0 = time.perf_counter()
    done = 0
    for rnd in range(rounds):
        for w, _, fn in ways[rnd % len(ways):] + ways[:rnd % len(ways)]:  # rotate the order
            shutil.rmtree(os.path.join(root, w), ignore_errors=True)
            os.makedirs(os.path.join(root, w))
            results[w].append(fn())
        done += 1
        if rnd == 0:
            check_sweep(configs, out)
        spent = time.perf_counter() - t0
        if rnd + 1 < rounds and spent + spent / done > SWEEP_BUDGET:
            print(f"(stopped after {done} of {rounds} rounds: {spent:.0f} s so far, another "
                  f"would pass the sweep's {SWEEP_BUDGET} s budget; a busy machine?)")
            break
    print(f"median of {done} round(s), the ways interleaved; CPU = user+sys of every process")
    print(f"{'way':64} {'wall s':>7} {'CPU s':>7}")
    med = {}
    for w, label, _ in ways:
        med[w] = (statistics.median(r[0] for r in results[w]),
                  statistics.median(r[1] for r in results[w]))
        print(f"{label:64} {med[w][0]:7.2f} {med[w][1]:7.2f}")
    print(f"ratio one after another / sharded: wall {med['seq'][0] / med['shard'][0]:.2f}x, "
          f"CPU {med['seq'][1] / med['shard'][1]:.2f}x; "
          f"/ parallel over settings: wall {med['seq'][0] / med['par'][0]:.2f}x")


def check_sweep(configs, out):
    """Every sharded setting merged (manifest.json, no parts left) into the files of
    its unsharded run; otherwise the sweep's numbers would be of a broken job."""
    for i in range(len(configs)):
        ref = sorted(os.listdir(out("seq", i)))
        for w in ("shard", "par"):
            got = sorted(n for n in os.listdir(out(w, i)) if not n.startswith("."))
            if got != ref:
                sys.exit(f"bench: sweep: {out(w, i)} ({' '.join(configs[i])}) holds other "
                         f"files than {out('seq', i)}: {sorted(set(got) ^ set(ref))[:4]}")


def parse_kernel_table(text):
    """{name: (small, large)} from bench_kernels / bench_kernels_torch.py output."""
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 3 and not line.startswith("#") and f[0] != "function":
            try:
                rows[f[0]] = (float(f[1]), float(f[2]))
            except ValueError:
                pass
    return rows


def kernels(build):
    """Ours vs PyTorch one thread vs XNNPACK one thread (when built), elements/ns."""
    ours_bin = os.path.join(build, "tools", "bench_kernels")
    if not os.access(ours_bin, os.X_OK):
        print(f"\nkernel table skipped: {ours_bin} not built (make bench builds it)")
        return
    ours_out = subprocess.run([ours_bin], capture_output=True, text=True).stdout
    ours = parse_kernel_table(ours_out)
    torch = {}
    if have_torch():
        r = subprocess.run([TORCH_PY, os.path.join(HERE, "bench_kernels_torch.py")],
                           capture_output=True, text=True)
        torch = parse_kernel_table(r.stdout)
    # Optional, built by make bench only where libxnnpack-dev is installed.
    xnn_bin = os.path.join(build, "tools", "bench_kernels_xnnpack")
    xnn, xnn_note = {}, ""
    if os.access(xnn_bin, os.X_OK):
        r = subprocess.run([xnn_bin], capture_output=True, text=True)
        xnn = parse_kernel_table(r.stdout)
        if r.returncode != 0:
            xnn_note = f" ({xnn_bin} failed: {r.stderr.strip()})"
    head = ours_out.splitlines()[0] if ours_out else ""
    print(f"\nActivation kernels, one thread, elements/ns (median); {head.lstrip('# ')}")
    if not torch:
        print("(PyTorch columns empty: /usr/bin/python3 cannot import torch)")

    def cols(o, other, w):
        """other's elements/ns and ours/other in a ratio column w wide; '-' if absent."""
        if not other:
            return f"{'-':>8} {'-':>{w}}"
        return f"{other:8.3f} {o / other:{w}.2f}"

    print(f"{'function':14} {'ours 196608':>12} {'torch':>8} {'ratio':>6} "
          f"{'xnnpack':>8} {'ours/xnnpack':>12}   "
          f"{'ours 30.72M':>12} {'torch':>8} {'ratio':>6} "
          f"{'xnnpack':>8} {'ours/xnnpack':>12}")
    for name, (o1, o2) in ours.items():
        t1, t2 = torch.get(name, (0, 0))
        x1, x2 = xnn.get(name, (0, 0))
        print(f"{name:14} {o1:12.3f} {cols(o1, t1, 6)} {cols(o1, x1, 12)}   "
              f"{o2:12.3f} {cols(o2, t2, 6)} {cols(o2, x2, 12)}")
    if xnn:
        print(f"XNNPACK columns: measured by {xnn_bin} (Debian XNNPACK 0.0~git20220216, "
              f"one thread); '-' where XNNPACK has no equivalent operator.{xnn_note}")
    else:
        print(f"XNNPACK columns: not measured{xnn_note or ' (' + xnn_bin + ' not built)'}; "
              "to enable: apt-get install libxnnpack-dev libpthreadpool-dev, then make bench.")


def torch_version():
    r = subprocess.run([TORCH_PY, "-c", "import torch; print(torch.__version__)"],
                       capture_output=True, text=True)
    return r.stdout.strip()


if __name__ == "__main__":
    main()
