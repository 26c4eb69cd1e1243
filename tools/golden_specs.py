"""The activation specs behind both golden generators (tools/gen_golden_kernels.py and
tools/gen_golden_grids.py), in one list.

Adding an activation (step 4 of the four in src/act.h) is one line here, at its
defaults, marked KG so that both goldens cover it; then run both generators with the
Debian PyTorch (/usr/bin/python3) and commit tests/golden/. tests/test_act.c fails
("row 'foo' has no golden data") for a row of src/act.c without a kernels golden, and
tests/test_fidelity.c ("no fidelity golden for 'foo'") for one without a grids golden
at its defaults. Variants with other parameter values are optional extra lines.

Each line is (spec, torch.nn class, goldens):
  spec     what cact_act_parse reads, and at the same time the arguments of the class's
           constructor: "hardtanh(-2, 2)" stands for nn.Hardtanh(-2.0, 2.0) (numbers are
           passed as floats, as the module's attributes hold them). Channel-wise rows
           (softmax family) get dim=1, the channels of an NCHW batch.
  goldens  K: tests/golden/kernels.* (10,080 chosen float inputs), G: tests/golden/
           grids.txt (the real test set through ToTensor, as grids), KG: both.
The order is act_table's; each generator keeps it, so its output file is stable.
"""
import ast

from torch import nn

K, G, KG = "k", "g", "kg"

SPECS = [
    ("relu", nn.ReLU, KG),
    ("relu6", nn.ReLU6, KG),
    ("leaky_relu", nn.LeakyReLU, KG),
    ("leaky_relu(negative_slope=0.2)", nn.LeakyReLU, KG),
    ("rrelu", nn.RReLU, KG),
    ("rrelu(lower=0.1, upper=0.3)", nn.RReLU, K),
    ("elu", nn.ELU, KG),
    ("elu(alpha=0.5)", nn.ELU, KG),
    ("selu", nn.SELU, KG),
    ("celu", nn.CELU, KG),
    ("celu(alpha=2)", nn.CELU, KG),
    ("gelu", nn.GELU, KG),
    ("gelu(approximate='tanh')", nn.GELU, KG),
    ("silu", nn.SiLU, KG),
    ("mish", nn.Mish, KG),
    ("sigmoid", nn.Sigmoid, KG),
    ("hardsigmoid", nn.Hardsigmoid, KG),
    ("tanh", nn.Tanh, KG),
    ("hardtanh", nn.Hardtanh, KG),
    ("hardtanh(-2, 2)", nn.Hardtanh, K),
    ("hardtanh(min_val=-0.5, max_val=0.5)", nn.Hardtanh, G),
    ("hardswish", nn.Hardswish, KG),
    ("hardshrink", nn.Hardshrink, KG),
    ("hardshrink(lambd=1.5)", nn.Hardshrink, K),
    ("hardshrink(lambd=0.25)", nn.Hardshrink, G),
    ("softshrink", nn.Softshrink, KG),
    ("softshrink(lambd=1)", nn.Softshrink, K),
    ("softshrink(lambd=0.25)", nn.Softshrink, G),
    ("tanhshrink", nn.Tanhshrink, KG),
    ("softplus", nn.Softplus, KG),
    ("softplus(beta=2, threshold=5)", nn.Softplus, K),
    ("softplus(beta=2, threshold=1)", nn.Softplus, G),
    ("softsign", nn.Softsign, KG),
    ("logsigmoid", nn.LogSigmoid, KG),
    ("threshold(threshold=0.1, value=20)", nn.Threshold, K),
    ("threshold(0.5, -1)", nn.Threshold, K),
    ("threshold(threshold=0.5, value=-1)", nn.Threshold, G),
    ("threshold(threshold=0.2, value=0.9)", nn.Threshold, G),
    ("prelu", nn.PReLU, KG),
    ("prelu(init=-0.5)", nn.PReLU, KG),
    ("identity", nn.Identity, KG),
    ("softmax", nn.Softmax, KG),
    ("log_softmax", nn.LogSoftmax, KG),
    ("softmin", nn.Softmin, KG),
]

CHANNELWISE = (nn.Softmax, nn.LogSoftmax, nn.Softmin)


def is_channelwise(cls):
    return cls in CHANNELWISE


def _arguments(spec):
    """The positional and keyword values of "name(a, k=b)" as Python literals."""
    _, paren, rest = spec.partition("(")
    if not paren:
        return [], {}
    call = ast.parse("f(" + rest, mode="eval").body
    as_float = lambda v: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
    args = [as_float(ast.literal_eval(a)) for a in call.args]
    kwargs = {k.arg: as_float(ast.literal_eval(k.value)) for k in call.keywords}
    return args, kwargs


def module(spec, cls):
    """The torch.nn module a spec line stands for, in eval mode (RReLU's fixed slope)."""
    args, kwargs = _arguments(spec)
    if is_channelwise(cls):
        kwargs["dim"] = 1
    return cls(*args, **kwargs).eval()


def specs(golden):
    """[(spec, module)] for the lines marked with golden (K or G), in table order."""
    return [(spec, module(spec, cls)) for spec, cls, marks in SPECS if golden in marks]


def specs_of_kind(golden, channelwise):
    """specs(golden), only the element-wise or only the channel-wise rows."""
    return [(spec, module(spec, cls)) for spec, cls, marks in SPECS
            if golden in marks and is_channelwise(cls) == channelwise]
