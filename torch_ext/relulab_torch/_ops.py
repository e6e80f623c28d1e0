"""Loads the compiled operators (_relulab_torch_ops, next to this file): importing it registers
torch.ops.relulab.* in PyTorch's dispatcher and gives the direct calls the package uses."""
import json

import torch  # noqa: F401  (libtorch must be loaded before the extension)

try:
    from . import _relulab_torch_ops as _native
except ImportError as e:
    raise ImportError(
        f"relulab_torch: the compiled part is missing or does not load ({e}); build it with "
        "CMake (libtorch-dev, python3-torch and pybind11-dev installed, -DRELULAB_TORCH=AUTO or "
        "ON) and put build/python on PYTHONPATH") from e

# Direct calls (METH_FASTCALL): the same functions as torch.ops.relulab.activation and .prelu,
# without the dispatcher's boxed argument stack.
activation = _native.activation
prelu = _native.prelu

# One dict per activation, in relulab's enum order: id, name, pytorch, formula, derivative,
# params (name, default, constraint), backward_from_output.
TABLE = json.loads(torch.ops.relulab.table())
BY_NAME = {entry["name"]: entry for entry in TABLE}
