#!/usr/bin/python3
"""Fit the polynomial coefficients used by the fast kernels in src/act_fast.inc.

Near-minimax fits (Lawson's iteratively reweighted least squares on Chebyshev nodes,
in float64), printed as C float literals. The C file carries the printed values; this
script is how they were made and how to remake them (needs numpy only):
    python3 tools/fit_kernel_coeffs.py
"""
import math

import numpy as np

f32 = np.float32


def lawson_fit(xs, target, basis, weight, iters=60):
    a = np.stack([b(xs) for b in basis], axis=1)
    w = np.ones_like(xs)
    for _ in range(iters):
        sw = np.sqrt(w) * weight
        c, *_ = np.linalg.lstsq(a * sw[:, None], target * sw, rcond=None)
        err = np.abs((a @ c - target) * weight)
        w = w * err
        w /= w.sum()
    return c, np.max(np.abs((a @ c - target) * weight))


def nodes(a, b, n=4000):
    k = np.arange(n)
    return (a + b) / 2 + (b - a) / 2 * np.cos(np.pi * (k + 0.5) / n)


def powers(deg, f=lambda x: x):
    return [lambda x, k=k: f(x) ** k for k in range(deg + 1)]


def show(name, c, err, what):
    lits = ", ".join("%.9gf" % float(f32(v)) for v in c)
    print("/* %s: max %s error %.2g */\n{%s}" % (name, what, err, lits))


def main():
    verf = np.vectorize(math.erf)
    # exp(r) = 1 + r + r^2 q(r), |r| <= ln2/2
    r = nodes(-0.3476, 0.3476)
    c, e = lawson_fit(r, (np.exp(r) - 1 - r) / r**2, powers(4), r**2 / np.exp(r))
    show("exp q", c, e, "relative")
    # log(1+f) = f - f^2/2 + f^3 P(f), f in [sqrt(1/2)-1, sqrt(2)-1]
    f = nodes(math.sqrt(0.5) - 1, math.sqrt(2) - 1)
    c, e = lawson_fit(f, (np.log1p(f) - f + f**2 / 2) / f**3, powers(7),
                      np.abs(f**3 / np.log1p(f)))
    show("log P", c, e, "relative")
    # tanh(x) = x + x^3 P(x^2), |x| < 0.625
    x = nodes(1e-4, 0.625)
    c, e = lawson_fit(x, (np.tanh(x) - x) / x**3, powers(4, lambda v: v * v),
                      x**3 / np.tanh(x))
    show("tanh P", c, e, "relative")
    # GELU (erf form) = x/2 + |x| h(|x|), h(u) = erf(u/sqrt 2)/2:
    # h(u) = u P(u^2 - 4) on [0, 2.8284); h(u) = Q(u - 4.0390625) up to 5.25, 1/2 beyond.
    # P is in u^2 - 4 rather than u^2 (the same cost: one fused a*a - 4) because the
    # alternating terms of P in u^2 round to ~2x the error near u = 2.8 in float,
    # where the test's bound (4 * 2^-24 |x|) is tightest relative to what is computed.
    def h(v):
        return verf(v / math.sqrt(2)) / 2
    u = nodes(1e-4, 2.8284)
    c, e = lawson_fit(u, h(u) / u, powers(8, lambda v: v * v - 4), u)
    show("gelu h small P", c, e, "absolute (in h)")
    u = nodes(2.8284, 5.25)
    c, e = lawson_fit(u, h(u), powers(8, lambda v: v - 4.0390625), np.ones_like(u))
    show("gelu h big Q", c, e, "absolute")

if __name__ == "__main__":
    main()
