"""relulab's text model specs built as torch.nn modules, layer for layer (the definitions are
include/relulab/nn/model.hpp's):

  mlp:512-512     Flatten, Linear(in, 512)+f, Linear(512, 512)+f, Linear(512, classes)
  deep-mlp:D:W    D - 1 hidden Linear(., W)+f, then Linear(W, classes)
  cnn[:C1-C2-FC]  Conv5x5(C->C1, pad 2)+f, MaxPool2, Conv5x5(C1->C2, pad 2)+f, MaxPool2,
                  Flatten, Linear(->FC)+f, Linear(FC->classes)   (default 32-64-512)
  resnet[:B]      Conv3x3(C->16, no bias), BN, f, 3 stages (16, 32, 64 channels; strides 1, 2, 2)
                  of B basic blocks, global average pool, Linear(64->classes)   (default B = 2)

The model is a RelulabModel (a torch.nn.Sequential): first a Normalize module with the input
normalisation relulab trained with (non-persistent buffers: not in the state_dict), then one module
per relulab layer, with an activation module after each layer that relulab fuses with its
activation. `relulab_names()` maps relulab's checkpoint names ("0.weight", "3.conv1.weight") to
the state_dict's. JSON specs are not built here (ValueError).
"""
import torch

_ACTIVATIONS = {
    "relu": lambda p, c: torch.nn.ReLU(),
    "leaky_relu": lambda p, c: torch.nn.LeakyReLU(p[0]),
    "prelu": lambda p, c: torch.nn.PReLU(c, init=p[0]),
    "relu6": lambda p, c: torch.nn.ReLU6(),
    "elu": lambda p, c: torch.nn.ELU(p[0]),
    "selu": lambda p, c: torch.nn.SELU(),
    "celu": lambda p, c: torch.nn.CELU(p[0]),
    "gelu": lambda p, c: torch.nn.GELU(),
    "gelu_tanh": lambda p, c: torch.nn.GELU(approximate="tanh"),
    "silu": lambda p, c: torch.nn.SiLU(),
    "mish": lambda p, c: torch.nn.Mish(),
    "softplus": lambda p, c: torch.nn.Softplus(p[0], p[1]),
    "hardsigmoid": lambda p, c: torch.nn.Hardsigmoid(),
    "hardswish": lambda p, c: torch.nn.Hardswish(),
    "sigmoid": lambda p, c: torch.nn.Sigmoid(),
    "tanh": lambda p, c: torch.nn.Tanh(),
}


class Normalize(torch.nn.Module):
    """(x - mean[c]) / stddev[c] per channel (dim 1), as relulab normalises its inputs; identity
    when mean is empty."""

    def __init__(self, mean, stddev):
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32), False)
        self.register_buffer("stddev", torch.tensor(list(stddev), dtype=torch.float32), False)

    def forward(self, x):
        if self.mean.numel() == 0:
            return x
        shape = [1, -1] + [1] * (x.dim() - 2)
        return (x - self.mean.view(shape)) / self.stddev.view(shape)

    def extra_repr(self):
        return f"mean={self.mean.tolist()}, stddev={self.stddev.tolist()}"


class GlobalAvgPool(torch.nn.Module):
    """[N, C, H, W] -> [N, C], the mean over H and W."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class Projection(torch.nn.Module):
    """The residual shortcut when channels or stride change: 1x1 conv (stride s, no bias), BN."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = torch.nn.Conv2d(cin, cout, 1, stride, 0, bias=False)
        self.bn = torch.nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class ResidualBlock(torch.nn.Module):
    """f(bn2(conv2(f(bn1(conv1(x))))) + shortcut(x)), 3x3 convolutions with padding 1."""

    def __init__(self, cin, cout, stride, activation):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(cout)
        self.act1 = activation(cout)
        self.conv2 = torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(cout)
        if cin != cout or stride != 1:
            self.shortcut = Projection(cin, cout, stride)
        else:
            self.shortcut = torch.nn.Identity()
        self.act2 = activation(cout)

    def forward(self, x):
        h = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(h)) + self.shortcut(x))


class RelulabModel(torch.nn.Sequential):
    """A relulab model spec as torch modules; `config` holds what a relulab checkpoint records
    about it (model, activation, input_shape, num_classes, normalization)."""

    def __init__(self, modules, layer_index, config):
        super().__init__(*modules)
        self._layer_index = layer_index  # relulab layer -> index in this Sequential
        self.config = config

    def relulab_names(self):
        """{relulab checkpoint name (without "model."): state_dict key}; BatchNorm's
        num_batches_tracked, which relulab does not keep, is not in it."""
        names = {}
        for layer, index in self._layer_index.items():
            for key in self[index].state_dict():
                if not key.endswith("num_batches_tracked"):
                    names[f"{layer}.{key}"] = f"{index}.{key}"
        return names


class _Builder:
    def __init__(self, input_shape, num_classes, activation):
        self.shape = list(input_shape)
        self.classes = num_classes
        self.activation = activation  # channels -> module
        self.modules = []
        self.layer_index = {}
        self.layers = 0
        self.last_is_linear = False

    def add(self, module, shape, *after):
        self.layer_index[self.layers] = len(self.modules)
        self.modules.append(module)
        self.modules.extend(after)
        self.layers += 1
        self.shape = shape
        self.last_is_linear = isinstance(module, torch.nn.Linear)

    def fused(self, module, shape, f):
        """A relulab layer with f fused; PReLU is a layer of its own in relulab."""
        if not f:
            return self.add(module, shape)
        channels = shape[0]
        if self.activation.prelu:
            self.add(module, shape)
            return self.add(self.activation(channels), shape)
        self.add(module, shape, self.activation(channels))

    def linear(self, out, f):
        if len(self.shape) != 1:
            features = 1
            for d in self.shape:
                features *= d
            self.add(torch.nn.Flatten(), [features])
        self.fused(torch.nn.Linear(self.shape[0], out), [out], f)

    def conv(self, out, kernel, stride, padding, f, bias=True):
        c, h, w = self.shape
        size = [out, (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1]
        if size[1] < 1 or size[2] < 1:
            raise ValueError(f"conv{kernel}x{kernel} does not fit an input of shape {self.shape}")
        self.fused(torch.nn.Conv2d(c, out, kernel, stride, padding, bias=bias), size, f)

    def maxpool(self, k):
        c, h, w = self.shape
        self.add(torch.nn.MaxPool2d(k), [c, (h - k) // k + 1, (w - k) // k + 1])

    def finish(self):
        if not (len(self.shape) == 1 and self.shape[0] == self.classes and self.last_is_linear):
            self.linear(self.classes, False)


def _positive(text, what):
    if not text.isdigit() or not 1 <= int(text) <= 1 << 20:
        raise ValueError(f"{what} '{text}' must be a whole number in [1, 1048576]")
    return int(text)


def build_model(spec, activation="relu", params=None, input_shape=(1, 28, 28), num_classes=10,
                normalization=None):
    """The relulab model `spec` as a RelulabModel. `activation` is a relulab name ("gelu_tanh"),
    `params` its parameters (PyTorch's defaults when None), `normalization` a
    {"mean": [...], "stddev": [...]} per input channel (none when None)."""
    from ._ops import BY_NAME  # the table's defaults

    if activation not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r} (valid: {', '.join(_ACTIVATIONS)})")
    defaults = [p["default"] for p in BY_NAME[activation]["params"]]
    params = list(params if params is not None else defaults)
    params += [0.0] * (2 - len(params))

    def make(channels):
        return _ACTIVATIONS[activation](params, channels)

    make.prelu = activation == "prelu"
    b = _Builder(input_shape, num_classes, make)
    name, _, args = spec.partition(":")
    image = len(b.shape) == 3
    if spec.startswith("{") or spec.endswith(".json"):
        raise ValueError(f"model '{spec}': JSON specs are not built by relulab_torch "
                         "(mlp, deep-mlp, cnn and resnet are)")
    if name == "mlp" and args:
        for width in args.split("-"):
            b.linear(_positive(width, "mlp width"), True)
    elif name == "deep-mlp":
        depth, _, width = args.partition(":")
        depth, width = _positive(depth, "deep-mlp depth"), _positive(width, "deep-mlp width")
        if depth < 2:
            raise ValueError("deep-mlp depth must be at least 2")
        for _ in range(depth - 1):
            b.linear(width, True)
    elif name == "cnn" and image:
        widths = [32, 64, 512]
        if args:
            widths = [_positive(w, "cnn width") for w in args.split("-")]
            if len(widths) != 3:
                raise ValueError(f"cnn:'{args}': expected cnn:C1-C2-FC")
        b.conv(widths[0], 5, 1, 2, True)
        b.maxpool(2)
        b.conv(widths[1], 5, 1, 2, True)
        b.maxpool(2)
        b.linear(widths[2], True)
    elif name == "resnet" and image:
        blocks = _positive(args, "resnet blocks per stage") if args else 2
        b.conv(16, 3, 1, 1, False, bias=False)
        b.add(torch.nn.BatchNorm2d(16), b.shape)
        b.add(make(16), b.shape)
        channels = 16
        for stage in (16, 32, 64):
            for i in range(blocks):
                stride = 2 if i == 0 and stage != 16 else 1
                _, h, w = b.shape
                b.add(ResidualBlock(channels, stage, stride, make),
                      [stage, (h - 1) // stride + 1, (w - 1) // stride + 1])
                channels = stage
        b.add(GlobalAvgPool(), [channels])
    else:
        raise ValueError(f"unknown model '{spec}' for input shape {list(input_shape)} (valid: "
                         "mlp:W1-W2..., deep-mlp:DEPTH:WIDTH, cnn, cnn:C1-C2-FC, resnet:BLOCKS; "
                         "cnn and resnet need an image input)")
    b.finish()
    norm = normalization or {"mean": [], "stddev": []}
    for index in list(b.layer_index):
        b.layer_index[index] += 1  # after Normalize
    config = {"model": spec, "activation": {"name": activation, "params": params[:2]},
              "input_shape": list(input_shape), "num_classes": num_classes,
              "normalization": {"mean": list(norm["mean"]), "stddev": list(norm["stddev"])}}
    return RelulabModel([Normalize(norm["mean"], norm["stddev"])] + b.modules, b.layer_index,
                        config)
