"""Loads the compiled operators (_relulab_torch_ops.so, next to this file) into PyTorch's
dispatcher and reads relulab's activation table from them."""
import json
import pathlib

import torch

_library = pathlib.Path(__file__).with_name("_relulab_torch_ops.so")
if not _library.exists():
    raise ImportError(
        f"relulab_torch: {_library} is missing; build it with CMake (libtorch-dev and "
        "python3-torch installed, -DRELULAB_TORCH=AUTO or ON) and put build/python on PYTHONPATH")
torch.ops.load_library(str(_library))

# OpOverload objects, looked up once: calling them skips the per-call name lookup.
activation = torch.ops.relulab.activation.default
prelu = torch.ops.relulab.prelu.default

# One dict per activation, in relulab's enum order: id, name, pytorch, formula, derivative,
# params (name, default, constraint), backward_from_output.
TABLE = json.loads(torch.ops.relulab.table())
BY_NAME = {entry["name"]: entry for entry in TABLE}
