"""relulab's activations with the signatures of torch.nn.functional.

Each function is one call of the relulab operator, whose forward and backward are relulab's
kernels wrapped in a C++ torch::autograd::Function (the C++ form of torch.autograd.Function: no
Python runs per call beyond this one line). What runs depends on the input:

* float32, CPU, contiguous: relulab's SIMD kernels, threaded with torch.get_num_threads()
  threads. Where the table allows (relu, leaky_relu, relu6, elu, selu, celu, sigmoid, tanh) the
  backward is computed from the saved output, so autograd keeps only y.
* float64, CPU, contiguous: relulab's long-double reference rounded to double (slow; for
  torch.autograd.gradcheck and for checking).
* anything else (float16, bfloat16, CUDA tensors, non-contiguous views): PyTorch's own op, the
  same definition, so results and gradients are PyTorch's.

`inplace=True` is accepted for compatibility and ignored: the result is a new tensor (the memory
that inplace saves comes back through the backward from the output). The backward has no double
backward: create_graph=True through these functions raises a RuntimeError.
"""
from . import _ops

_ID = {entry["name"]: entry["id"] for entry in _ops.TABLE}


def _call(name, x, p0=0.0, p1=0.0):
    return _ops.activation(x, _ID[name], float(p0), float(p1))


def relu(input, inplace=False):
    return _ops.activation(input, 0, 0.0, 0.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _call("leaky_relu", input, negative_slope)


def prelu(input, weight):
    return _ops.prelu(input, weight)


def relu6(input, inplace=False):
    return _call("relu6", input)


def elu(input, alpha=1.0, inplace=False):
    return _call("elu", input, alpha)


def selu(input, inplace=False):
    return _call("selu", input)


def celu(input, alpha=1.0, inplace=False):
    return _call("celu", input, alpha)


def gelu(input, approximate="none"):
    if approximate == "none":
        return _call("gelu", input)
    if approximate == "tanh":
        return _call("gelu_tanh", input)
    raise ValueError(f"relulab_torch.gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input, inplace=False):
    return _call("silu", input)


def mish(input, inplace=False):
    return _call("mish", input)


def softplus(input, beta=1, threshold=20):
    return _call("softplus", input, beta, threshold)


def hardsigmoid(input, inplace=False):
    return _call("hardsigmoid", input)


def hardswish(input, inplace=False):
    return _call("hardswish", input)


def sigmoid(input):
    return _call("sigmoid", input)


def tanh(input):
    return _call("tanh", input)


def activation(input, name, *params):
    """Any activation of relulab's table by its relulab name ("gelu_tanh", "leaky_relu", ...),
    with its parameters in the table's order (PyTorch's defaults when left out)."""
    entry = _ops.BY_NAME.get(name)
    if entry is None or name == "prelu":
        valid = ", ".join(e["name"] for e in _ops.TABLE if e["name"] != "prelu")
        raise ValueError(f"relulab_torch.activation: unknown activation {name!r} (valid: {valid}; "
                         "prelu has a weight: use prelu(input, weight))")
    if len(params) > len(entry["params"]):
        raise ValueError(f"relulab_torch.activation: {name} takes {len(entry['params'])} "
                         f"parameters, got {len(params)}")
    values = list(params) + [p["default"] for p in entry["params"][len(params):]]
    values += [0.0] * (2 - len(values))
    return _ops.activation(input, entry["id"], float(values[0]), float(values[1]))
