"""torch.nn activation modules computed by relulab's kernels.

Each class subclasses the torch.nn module of the same name, so its constructor arguments,
defaults, repr, state_dict (PReLU's `weight`) and isinstance checks are PyTorch's; only forward
differs. See relulab_torch.functional for which inputs run relulab's kernels and which fall back
to PyTorch's op.
"""
import torch

from . import functional as F


class ReLU(torch.nn.ReLU):
    def forward(self, input):
        return F.relu(input)


class LeakyReLU(torch.nn.LeakyReLU):
    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)


class PReLU(torch.nn.PReLU):
    def forward(self, input):
        return F.prelu(input, self.weight)


class ReLU6(torch.nn.ReLU6):
    def forward(self, input):
        return F.relu6(input)


class ELU(torch.nn.ELU):
    def forward(self, input):
        return F.elu(input, self.alpha)


class SELU(torch.nn.SELU):
    def forward(self, input):
        return F.selu(input)


class CELU(torch.nn.CELU):
    def forward(self, input):
        return F.celu(input, self.alpha)


class GELU(torch.nn.GELU):
    def forward(self, input):
        return F.gelu(input, self.approximate)


class SiLU(torch.nn.SiLU):
    def forward(self, input):
        return F.silu(input)


class Mish(torch.nn.Mish):
    def forward(self, input):
        return F.mish(input)


class Softplus(torch.nn.Softplus):
    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)


class Hardsigmoid(torch.nn.Hardsigmoid):
    def forward(self, input):
        return F.hardsigmoid(input)


class Hardswish(torch.nn.Hardswish):
    def forward(self, input):
        return F.hardswish(input)


class Sigmoid(torch.nn.Sigmoid):
    def forward(self, input):
        return F.sigmoid(input)


class Tanh(torch.nn.Tanh):
    def forward(self, input):
        return F.tanh(input)


# torch.nn class -> relulab_torch.nn class, for replace_activations.
REPLACEMENTS = {
    torch.nn.ReLU: ReLU,
    torch.nn.LeakyReLU: LeakyReLU,
    torch.nn.PReLU: PReLU,
    torch.nn.ReLU6: ReLU6,
    torch.nn.ELU: ELU,
    torch.nn.SELU: SELU,
    torch.nn.CELU: CELU,
    torch.nn.GELU: GELU,
    torch.nn.SiLU: SiLU,
    torch.nn.Mish: Mish,
    torch.nn.Softplus: Softplus,
    torch.nn.Hardsigmoid: Hardsigmoid,
    torch.nn.Hardswish: Hardswish,
    torch.nn.Sigmoid: Sigmoid,
    torch.nn.Tanh: Tanh,
}


def replace_activations(model):
    """Swaps, in place, every module of `model` whose type is exactly one of the torch.nn
    activations above for relulab's, keeping its settings (and PReLU's weight Parameter itself, so
    an optimiser built before the swap still updates it). Subclasses of those modules, and modules
    already relulab's, are left alone. Returns the swaps as a list of
    (qualified name, PyTorch class name); a model that is itself an activation cannot be swapped in
    place: pass its parent, or build the relulab module directly.
    """
    swapped = []

    def visit(module, prefix):  # depth first, in registration order: named_modules()' order
        for child_name, child in list(module.named_children()):
            replacement = REPLACEMENTS.get(type(child))
            if replacement is None:
                visit(child, f"{prefix}{child_name}.")
                continue
            new = replacement.__new__(replacement)
            new.__dict__ = dict(child.__dict__)  # same settings, Parameters and hooks
            setattr(module, child_name, new)
            swapped.append((prefix + child_name, type(child).__name__))

    visit(model, "")
    return swapped
