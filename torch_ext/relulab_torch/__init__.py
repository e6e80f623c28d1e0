"""relulab_torch: relulab's activation kernels in PyTorch, and relulab checkpoints as PyTorch
models.

    import relulab_torch
    relulab_torch.replace_activations(model)      # every nn.ReLU, nn.GELU, ... now runs relulab's
    model, state_dict = relulab_torch.load_checkpoint("run/checkpoint.safetensors")
"""
from . import functional
from . import nn
from ._ops import TABLE
from .checkpoint import load_checkpoint, save_checkpoint
from .models import build_model
from .nn import replace_activations

__all__ = ["functional", "nn", "TABLE", "replace_activations", "load_checkpoint",
           "save_checkpoint", "build_model"]
