#!/usr/bin/python3
"""Goldens for `cifar-act --tensor`: how PyTorch 1.13 prints a tensor.

    /usr/bin/python3 tools/gen_golden_tensor.py [OUT_FILE]
    (default: tests/golden/tensor_print.txt, relative to the repository root)

For each case, a nested-list literal (exactly the text our parser reads) becomes
torch.tensor(literal, dtype=torch.float32); a 2-D tensor is then reshaped as the
lesson does, torch.reshape(input, (-1, 1, H, W)) (for the lesson's 2x2 that is its
(-1, 1, 2, 2)); other shapes are kept. Then the --fn chain (nn modules in order,
'|'-separated, our --fn spellings) runs on it, and we record str(shape), str(input)
and str(output) - torch/_tensor_str.py's formatting: precision 4, integer-valued
floats as `1.`, scientific mode, nan/inf, linewidth 80, summarization over 1000
elements. Needs PyTorch 1.13; CI never runs this, the output is committed.

Output: one record per line, '#' lines are comments, tab-separated fields
    LITERAL  CHAIN  SHAPE  INPUT  OUTPUT
CHAIN is "-" for no function (OUTPUT is then the input again). In SHAPE, INPUT and
OUTPUT a newline is written as the two characters backslash, n (the strings hold no
backslash or tab of their own).
"""
import math
import os
import random
import sys

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FNS = {
    "relu": nn.ReLU(),
    "sigmoid": nn.Sigmoid(),
    "tanh": nn.Tanh(),
    "leaky_relu(negative_slope=0.1)": nn.LeakyReLU(0.1),
    "hardtanh": nn.Hardtanh(),
    "softmax": nn.Softmax(dim=1),
    "elu": nn.ELU(),
    "identity": nn.Identity(),
}


def lit(x):
    """A Python list literal our parser reads: repr() of floats, nan/inf bare."""
    if isinstance(x, list):
        return "[" + ", ".join(lit(v) for v in x) + "]"
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(x)
    return str(x)


def nested(vals, shape):
    if not shape:
        return vals[0]
    step = len(vals) // shape[0]
    return [nested(vals[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def cases():
    rnd = random.Random(10)
    out = [
        ("[[1, -0.5], [-1, 3]]", "relu"),
        ("[[1, -0.5], [-1, 3]]", "-"),
        ("[[1, -0.5], [-1, 3]]", "sigmoid"),
        ("[[1, -0.5], [-1, 3]]", "tanh"),
        ("[[1, -0.5], [-1, 3]]", "leaky_relu(negative_slope=0.1)"),
        ("[[1, -0.5], [-1, 3]]", "relu|sigmoid"),
        ("[[1,-0.5],[-1,3]]", "hardtanh"),
        ("[1, 2, 3]", "-"),
        ("[1.0, 2.0, 3.0]", "relu"),
        ("[0.1, 0.25, -0.125]", "-"),
        ("[1e-05, 1.0]", "-"),
        ("[0.0001, 0.5]", "-"),
        ("[1e-40, 1.0]", "-"),
        ("[10000000000.0, 1.0]", "-"),
        ("[123456789.0]", "-"),
        ("[100000000.0, 3.0]", "-"),
        ("[1, 1001]", "-"),
        ("[1, 1000]", "-"),
        ("[999.5, 1]", "-"),
        ("[nan, 1.5, inf, -inf]", "-"),
        ("[nan, 1, inf, -inf]", "-"),
        ("[nan]", "-"),
        ("[inf, -inf]", "-"),
        ("[0.0, 0.0]", "-"),
        ("[-0.0, 1.5]", "-"),
        ("[-0.0, 2]", "-"),
        ("[0, -0.0]", "-"),
        ("[3.4e+38, -3.4e+38]", "-"),
        ("[1e+39]", "-"),
        ("[-1e-07, 2e-07, 0]", "-"),
        ("[0.00012345, 0.9999]", "-"),
        ("[0.99995, 1.00005]", "-"),
        ("[-123.456, 7.5]", "-"),
        ("[-1, -2, -3]", "relu"),
        ("[-2, -1, 0, 1, 2]", "elu"),
        ("3.5", "-"),
        ("-2", "relu"),
        ("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]", "softmax"),
        ("[[[[1, 2], [3, 4]], [[-1, 0.5], [2, -3]]]]", "softmax"),
        ("[[0.5], [1.5], [2.5]]", "-"),
        ("[[1, 2, 3]]", "identity"),
        # Empty tensors: torch.tensor([]) prints tensor([]); other shapes add size=.
        # (A 2-D one cannot take the lesson's reshape: torch raises, and so do we.)
        ("[]", "-"),
        ("[]", "relu"),
        ("[[[]]]", "sigmoid"),
        ("[[[], []]]", "-"),
        ("[[[[]]], [[[]]]]", "softmax"),
        ("[[[[], []], [[], []], [[], []]]]", "relu"),
    ]
    # Wide rows that wrap at 80 columns, in every mode.
    out.append((lit([float(i) for i in range(30)]), "-"))
    out.append((lit([round(rnd.uniform(-10, 10), 3) for _ in range(40)]), "-"))
    out.append((lit([rnd.uniform(-1e-3, 1e3) for _ in range(25)]), "-"))
    out.append((lit([[round(rnd.uniform(-5, 5), 2) for _ in range(17)] for _ in range(3)]),
                "relu"))
    # Shapes 1-D .. 4-D of random values.
    for shape in ((5,), (2, 3), (2, 3, 4), (2, 2, 2, 3), (1, 3, 2, 2), (3, 1, 1, 1)):
        n = math.prod(shape)
        vals = [round(rnd.gauss(0, 2), rnd.choice((1, 2, 4, 6))) for _ in range(n)]
        out.append((lit(nested(vals, list(shape))), "-"))
        out.append((lit(nested(vals, list(shape))), "relu"))
    out.append((lit(nested([float(i % 7 - 3) for i in range(24)], [2, 3, 4])), "sigmoid"))
    # Summarization: more than 1000 elements.
    out.append((lit([float(i) for i in range(1200)]), "-"))
    out.append((lit([[rnd.uniform(-1, 1) for _ in range(40)] for _ in range(40)]), "relu"))
    out.append((lit(nested([float(i) * 0.5 for i in range(8 * 9 * 20)], [8, 9, 20])), "-"))
    out.append((lit(nested([float(i) for i in range(1001)], [1001])), "-"))
    out.append((lit(nested([float(i) for i in range(1000)], [1000])), "-"))
    return out


def run(literal, chain):
    py = eval(literal, {"nan": float("nan"), "inf": float("inf")})
    x = torch.tensor(py, dtype=torch.float32)
    if x.dim() == 2:
        x = torch.reshape(x, (-1, 1, x.shape[0], x.shape[1]))
    y = x
    with torch.no_grad():
        if chain != "-":
            for spec in chain.split("|"):
                y = FNS[spec](y)
    return str(x.shape), str(x), str(y)


def esc(s):
    assert "\\" not in s and "\t" not in s
    return s.replace("\n", "\\n")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "golden",
                                                              "tensor_print.txt")
    lines = ["# cifar-act --tensor goldens from PyTorch %s; see tools/gen_golden_tensor.py."
             % torch.__version__]
    for literal, chain in cases():
        shape, xs, ys = run(literal, chain)
        lines.append("\t".join([literal, chain, esc(shape), esc(xs), esc(ys)]))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %d cases" % (path, len(lines) - 1))


if __name__ == "__main__":
    main()
