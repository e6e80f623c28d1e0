"""What the relulab_torch tests share: the activation specs under test, PyTorch's own op for
each, the ULP metric of tests/accuracy_sweep.hpp, and the stated bounds from its table."""
import math

import torch
import torch.nn.functional as TF

import relulab_torch

SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717

# (name, params, forward bound, backward bound, backward scale), in float32 ULPs: the bounds of
# tests/accuracy_sweep.cpp. For the activations whose backward uses the output (ours and
# PyTorch's), the backward bound is the table's from_output bound and scale.
SPECS = [
    ("relu", (), 0, 0, 0),
    ("leaky_relu", (0.01,), 0.5, 0, 0),
    ("leaky_relu", (0.2,), 0.5, 0, 0),
    ("relu6", (), 0, 0, 0),
    ("elu", (1.0,), 4, 4, 0),
    ("elu", (0.5,), 4, 4, 0),
    ("selu", (), 4, 4, 2),
    ("celu", (1.0,), 4, 4, 0),
    ("celu", (2.0,), 4, 4, 0),
    ("gelu", (), 4, 4, 1),
    ("gelu_tanh", (), 4, 4, 1),
    ("silu", (), 4, 4, 1),
    ("mish", (), 4, 4, 1),
    ("softplus", (1.0, 20.0), 4, 4, 0),
    ("softplus", (2.0, 10.0), 4, 4, 0),
    ("hardsigmoid", (), 2, 0.5, 0),
    ("hardswish", (), 3, 2, 0),
    ("sigmoid", (), 4, 1.5, 0),
    ("tanh", (), 4, 2.5, 0),
]

# Where f or f' jumps: finite differences must keep away from these.
KINKS = {"relu": [0], "leaky_relu": [0], "relu6": [0, 6], "hardsigmoid": [-3, 3],
         "hardswish": [-3, 3], "elu": [0], "celu": [0], "selu": [0]}


def kinks(name, params):
    if name == "softplus":
        return [params[1] / params[0]]
    return KINKS.get(name, [])


def pytorch_op(name, params):
    """PyTorch's own function for relulab's activation `name` with `params`."""
    ops = {
        "relu": lambda x: TF.relu(x),
        "leaky_relu": lambda x: TF.leaky_relu(x, params[0]),
        "relu6": lambda x: TF.relu6(x),
        "elu": lambda x: TF.elu(x, params[0]),
        "selu": lambda x: TF.selu(x),
        "celu": lambda x: TF.celu(x, params[0]),
        "gelu": lambda x: TF.gelu(x),
        "gelu_tanh": lambda x: TF.gelu(x, approximate="tanh"),
        "silu": lambda x: TF.silu(x),
        "mish": lambda x: TF.mish(x),
        "softplus": lambda x: TF.softplus(x, params[0], params[1]),
        "hardsigmoid": lambda x: TF.hardsigmoid(x),
        "hardswish": lambda x: TF.hardswish(x),
        "sigmoid": lambda x: torch.sigmoid(x),
        "tanh": lambda x: torch.tanh(x),
    }
    return ops[name]


def relulab_op(name, params):
    return lambda x: relulab_torch.functional.activation(x, name, *params)


def from_output(name):
    return relulab_torch._ops.BY_NAME[name]["backward_from_output"]


def derivative_from_output(name, params, y):
    """f' as a function of y = f(x) in float64: the formula that PyTorch's own backward of these
    activations (threshold, elu, sigmoid, tanh backward) evaluates from the saved output."""
    a = params[0] if params else 0.0
    one = torch.ones_like(y)
    return {
        "relu": lambda: (y > 0).double(),
        "leaky_relu": lambda: torch.where(y > 0, one, a * one),
        "relu6": lambda: ((y > 0) & (y < 6)).double(),
        "elu": lambda: torch.where(y > 0, one, y + a),
        "selu": lambda: torch.where(y > 0, SELU_SCALE * one, y + SELU_SCALE * SELU_ALPHA),
        "celu": lambda: torch.where(y > 0, one, y / a + 1),
        "sigmoid": lambda: y * (1 - y),
        "tanh": lambda: 1 - y * y,
    }[name]()


def ulp32(ref):
    """The float32 step at each |ref| (float64 tensor), down to the subnormal step 2^-149."""
    r = ref.abs().clamp(min=2.0 ** -126)
    exponent = torch.floor(torch.log2(r))
    # log2 can be off by one next to a power of 2; correct it with an exact comparison.
    exponent = torch.where(torch.pow(2.0, exponent) > r, exponent - 1, exponent)
    exponent = torch.where(torch.pow(2.0, exponent + 1) <= r, exponent + 1, exponent)
    return torch.pow(2.0, exponent - 23)


def ulp_error(fast, ref, scale=0.0):
    """|fast - ref| / max(ulp(ref), 2^-24 scale), the metric of tests/accuracy_sweep.hpp without
    its absolute-error floor; where ref is NaN or infinite, 0 when fast is exactly that and inf
    otherwise."""
    fast = fast.double()
    unit = torch.clamp(ulp32(ref), min=scale * 2.0 ** -24)
    err = (fast - ref).abs() / unit
    special = ~torch.isfinite(ref)
    same = (torch.isnan(ref) & torch.isnan(fast)) | (fast == ref)
    return torch.where(special, torch.where(same, 0.0, math.inf), err)


def sweep_points():
    """The float32 grid and random points of [-5, 5] (where the C++ tests state the kernels'
    bounds and PyTorch's float64 ops are accurate), the powers of 2 from 2^-20 down to 2^-119 (outputs stay normal floats),
    the kinks' neighbours and the edge values."""
    generator = torch.Generator().manual_seed(1)
    grid = torch.linspace(-5, 5, 1 << 16, dtype=torch.float32)
    random = torch.rand(1 << 16, generator=generator) * 10 - 5
    tiny = torch.tensor([2.0 ** -k for k in range(20, 120)], dtype=torch.float32)
    edges = torch.tensor([0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 5.0, -5.0, 2.5, -1.5, 1e-7],
                         dtype=torch.float32)
    near = torch.cat([torch.nextafter(edges, torch.full_like(edges, math.inf)),
                      torch.nextafter(edges, torch.full_like(edges, -math.inf))])
    return torch.cat([grid, random, tiny, -tiny, edges, near])
