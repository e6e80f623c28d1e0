"""relulab checkpoints in PyTorch, both ways.

load_checkpoint reads `relulab train`'s checkpoint.safetensors (checking its CRC-32) and returns
the model as torch modules with its weights, in eval mode, and its state_dict. save_checkpoint
writes a RelulabModel's weights (or a state_dict with the model described) as a checkpoint that
`relulab eval` reads. The metadata "relulab.checkpoint" (include/relulab/train/checkpoint.hpp)
is a JSON object with format 1, the model spec, activation {name, params}, input_shape,
num_classes and normalization {mean, stddev}; the training state (epoch, optimiser, history) is
kept on load in `model.checkpoint_metadata` and written empty by save_checkpoint, so such a
file is for `relulab eval` and `relulab diagnose`, not for `relulab train --resume`.
"""
import json
import os

import torch

from . import safetensors
from .models import RelulabModel, build_model

METADATA_KEY = "relulab.checkpoint"
FORMAT = 1


def _metadata(path, metadata):
    name = os.fspath(path)
    if METADATA_KEY not in metadata:
        raise ValueError(f"'{name}' is a safetensors file but not a relulab checkpoint "
                         f"(no '{METADATA_KEY}' metadata)")
    try:
        meta = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as e:
        raise ValueError(f"'{name}': checkpoint metadata is not JSON: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"'{name}': checkpoint metadata is not format {FORMAT} JSON")
    for key in ("model", "activation", "input_shape", "num_classes", "normalization"):
        if key not in meta:
            raise ValueError(f"'{name}': checkpoint metadata has no '{key}'")
    return meta


def load_checkpoint(path):
    """Returns (model, state_dict): the RelulabModel of the checkpoint at `path` with its weights
    loaded, in eval mode, its inputs normalised as in training, and its state_dict. Its outputs
    are the logits `relulab eval` computes. ValueError names the file and what is wrong (not a
    relulab checkpoint, CRC mismatch, a missing or misshapen tensor); OSError when it cannot be
    read."""
    tensors, metadata = safetensors.read(path)
    meta = _metadata(path, metadata)
    activation = meta["activation"]
    model = build_model(meta["model"], activation["name"], activation["params"],
                        meta["input_shape"], meta["num_classes"], meta["normalization"])
    state = model.state_dict()
    names = model.relulab_names()
    for relulab_name, key in names.items():
        tensor = tensors.get("model." + relulab_name)
        if tensor is None:
            raise ValueError(f"'{os.fspath(path)}': tensor 'model.{relulab_name}' is missing")
        if list(tensor.shape) != list(state[key].shape):
            raise ValueError(f"'{os.fspath(path)}': tensor 'model.{relulab_name}' has shape "
                             f"{list(tensor.shape)}, the model needs {list(state[key].shape)}")
        state[key] = tensor.to(torch.float32)
    extra = sorted(n for n in tensors if n.startswith("model.") and n[6:] not in names)
    if extra:
        raise ValueError(f"'{os.fspath(path)}': tensors {extra} belong to no layer of model "
                         f"'{meta['model']}'")
    model.load_state_dict(state)
    model.checkpoint_metadata = meta
    return model.eval(), model.state_dict()


def save_checkpoint(model_or_state_dict, path, spec=None, activation=None, params=None,
                    input_shape=None, num_classes=None, normalization=None):
    """Writes a relulab checkpoint that `relulab eval` reads. Pass a RelulabModel (from
    build_model or load_checkpoint: its config describes it), or a state_dict with the keys of
    build_model(spec, activation, params, input_shape, num_classes) plus those arguments. Every
    weight must be present with the model's shape (ValueError otherwise). Written atomically."""
    if isinstance(model_or_state_dict, RelulabModel):
        config = model_or_state_dict.config
        state = model_or_state_dict.state_dict()
        reference = model_or_state_dict
    else:
        if spec is None or activation is None or input_shape is None or num_classes is None:
            raise ValueError("save_checkpoint: a state_dict needs spec, activation, input_shape "
                             "and num_classes to describe its model")
        reference = build_model(spec, activation, params, input_shape, num_classes, normalization)
        config = reference.config
        state = dict(model_or_state_dict)
    expected = reference.state_dict()
    tensors = {}
    for relulab_name, key in reference.relulab_names().items():
        if key not in state:
            raise ValueError(f"save_checkpoint: the state_dict has no '{key}' (relulab's "
                             f"'{relulab_name}' of model '{config['model']}')")
        if list(state[key].shape) != list(expected[key].shape):
            raise ValueError(f"save_checkpoint: '{key}' has shape {list(state[key].shape)}, "
                             f"model '{config['model']}' needs {list(expected[key].shape)}")
        tensors["model." + relulab_name] = state[key].detach().to(torch.float32)
    meta = dict(config)
    meta.update({"format": FORMAT, "epoch": 0, "step": 0, "seconds": 0.0,
                 "skipped_batches": 0, "history": [], "written_by": "relulab_torch"})
    safetensors.write(path, tensors, {METADATA_KEY: json.dumps(meta)})
