#!/usr/bin/python3
"""PyTorch 1.13's single-thread CPU activation kernels, in elements per nanosecond, for
comparison with tools/bench_kernels.c (same sizes, same input distribution, same
median-of-runs). Run with the Debian PyTorch: /usr/bin/python3 tools/bench_kernels_torch.py

Each function writes into a preallocated output (out=) where ATen offers one, so no
allocation or page faults are timed; the rest (marked '*') allocate their result,
as a user calling them would. Softmax family: dim=1 of [N, 3, 32, 32].
"""
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
NN = torch._C._nn
SIZES = [196608, 30720000]


def cases():
    # name, fn(x, y) -> None; "alloc" marks ones without an out= variant.
    return [
        ("relu", lambda x, y: torch.clamp_min(x, 0.0, out=y), ""),
        ("relu6", lambda x, y: NN.hardtanh(x, 0.0, 6.0, out=y), ""),
        ("leaky_relu", lambda x, y: NN.leaky_relu(x, 0.01, out=y), ""),
        ("rrelu", lambda x, y: NN.leaky_relu(x, (1 / 8 + 1 / 3) / 2, out=y), ""),
        ("elu", lambda x, y: NN.elu(x, 1.0, 1.0, 1.0, out=y), ""),
        ("selu", lambda x, y: NN.elu(x, 1.6732632423543772, 1.0507009873554805, 1.0, out=y), ""),
        ("celu", lambda x, y: NN.elu(x, 1.0, 1.0, 1.0, out=y), ""),
        ("gelu", lambda x, y: NN.gelu(x, out=y), ""),
        ("gelu_tanh", lambda x, y: NN.gelu(x, approximate="tanh", out=y), ""),
        ("silu", lambda x, y: NN.silu(x, out=y), ""),
        ("mish", lambda x, y: NN.mish(x, out=y), ""),
        ("sigmoid", lambda x, y: torch.sigmoid(x, out=y), ""),
        ("hardsigmoid", lambda x, y: NN.hardsigmoid(x, out=y), ""),
        ("tanh", lambda x, y: torch.tanh(x, out=y), ""),
        ("hardtanh", lambda x, y: NN.hardtanh(x, -1.0, 1.0, out=y), ""),
        ("hardswish", lambda x, y: NN.hardswish(x, out=y), ""),
        ("hardshrink", lambda x, y: torch.hardshrink(x, 0.5, out=y), ""),
        ("softshrink", lambda x, y: NN.softshrink(x, 0.5, out=y), ""),
        ("tanhshrink", lambda x, y: F.tanhshrink(x), "*"),
        ("softplus", lambda x, y: NN.softplus(x, 1.0, 20.0, out=y), ""),
        ("softsign", lambda x, y: F.softsign(x), "*"),
        ("logsigmoid", lambda x, y: NN.log_sigmoid(x, out=y), ""),
        ("threshold", lambda x, y: torch.threshold(x, 0.1, 20.0, out=y), ""),
        ("prelu", lambda x, y: F.prelu(x, torch.tensor([0.25])), "*"),
        ("identity", lambda x, y: y.copy_(x), ""),
        ("softmax", lambda x, y: torch.softmax(x.view(-1, 3, 32, 32), 1, out=y.view(-1, 3, 32, 32)), ""),
        ("log_softmax", lambda x, y: torch.log_softmax(x.view(-1, 3, 32, 32), 1, out=y.view(-1, 3, 32, 32)), ""),
        ("softmin", lambda x, y: F.softmin(x.view(-1, 3, 32, 32), 1), "*"),
    ]


def bench(fn, x, y, n):
    reps = 15 if n < 1_000_000 else 5
    inner = max(1, 20_000_000 // n)
    fn(x, y)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            fn(x, y)
        times.append((time.perf_counter_ns() - t0) / inner)
    times.sort()
    return n / times[len(times) // 2]


def main():
    only = set(sys.argv[1:])
    g = torch.Generator().manual_seed(1)
    print("# PyTorch %s, %d thread(s), capability %s; elements/ns, median"
          % (torch.__version__, torch.get_num_threads(),
             torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "?"))
    print("%-14s %12s %12s" % ("function", *("n=%d" % n for n in SIZES)))
    xs = {n: torch.rand(n, generator=g) * 16 - 8 for n in SIZES}
    ys = {n: torch.empty(n) for n in SIZES}
    for name, fn, mark in cases():
        if only and name not in only:
            continue
        r = [bench(fn, xs[n], ys[n], n) for n in SIZES]
        print("%-14s %12.3f %12.3f %s" % (name, r[0], r[1], mark))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
