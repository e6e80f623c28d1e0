"""relulab_torch.nn: PyTorch's names, arguments and defaults; replace_activations swaps every
known activation in place, keeps settings and Parameters, and leaves outputs and gradients within
float tolerance of PyTorch's."""
import copy
import unittest

import torch

import relulab_torch
from relulab_torch import nn as rnn


def constructed():
    """One module of each class, default and non-default settings."""
    return [torch.nn.ReLU(), torch.nn.LeakyReLU(), torch.nn.LeakyReLU(0.2), torch.nn.PReLU(),
            torch.nn.PReLU(8, init=0.1), torch.nn.ReLU6(), torch.nn.ELU(), torch.nn.ELU(0.5),
            torch.nn.SELU(), torch.nn.CELU(), torch.nn.CELU(2.0), torch.nn.GELU(),
            torch.nn.GELU(approximate="tanh"), torch.nn.SiLU(), torch.nn.Mish(),
            torch.nn.Softplus(), torch.nn.Softplus(2, 10), torch.nn.Hardsigmoid(),
            torch.nn.Hardswish(), torch.nn.Sigmoid(), torch.nn.Tanh()]


class Modules(unittest.TestCase):
    def test_every_torch_activation_has_a_replacement(self):
        self.assertEqual(len(rnn.REPLACEMENTS), len(relulab_torch.TABLE) - 1)  # gelu covers 2
        for theirs, ours in rnn.REPLACEMENTS.items():
            self.assertTrue(issubclass(ours, theirs))
            self.assertEqual(ours.__name__, theirs.__name__)

    def test_defaults_and_repr_are_pytorchs(self):
        for theirs in constructed():
            with self.subTest(repr(theirs)):
                ours = rnn.REPLACEMENTS[type(theirs)]()
                default = type(theirs)()
                self.assertEqual(repr(ours), repr(default))
                self.assertEqual(ours.state_dict().keys(), default.state_dict().keys())

    def test_outputs_and_gradients_match_pytorch(self):
        # The reference is PyTorch's module in float64: PyTorch's float32 kernels are themselves
        # off by more than a tolerance in places (gelu_tanh's gradient rounds 1 + tanh to 0 for
        # x < -5 where the exact value is ~1e-6 dy), so float32 against float32 would test
        # PyTorch's rounding, not our module. dy is seeded so that the test is repeatable.
        generator = torch.Generator().manual_seed(7)
        x = torch.randn(4, 8, 5, generator=generator) * 3
        dy = torch.randn(4, 8, 5, generator=generator)
        for theirs in constructed():
            with self.subTest(repr(theirs)):
                ours = copy.deepcopy(theirs)
                swapped = relulab_torch.replace_activations(torch.nn.Sequential(ours))
                self.assertEqual(len(swapped), 1)
                model_theirs = torch.nn.Sequential(copy.deepcopy(theirs)).double()
                model_ours = torch.nn.Sequential(copy.deepcopy(theirs))
                relulab_torch.replace_activations(model_ours)
                self.assertIsNot(type(model_ours[0]), type(theirs))
                a = x.clone().requires_grad_()
                b = x.double().requires_grad_()
                ya, yb = model_ours(a), model_theirs(b)
                # Our float32 result against the float64 one: a few float32 ULP (rtol), and an
                # absolute 1e-6 only where the value is near a zero of the function or gradient.
                torch.testing.assert_close(ya.double(), yb, rtol=1e-5, atol=1e-6)
                ya.backward(dy)
                yb.backward(dy.double())
                torch.testing.assert_close(a.grad.double(), b.grad, rtol=1e-5, atol=1e-6)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.act = torch.nn.GELU(approximate="tanh")
        self.inner = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 1), torch.nn.PReLU(8))

    def forward(self, x):
        return self.inner(self.act(self.conv(x)))


class ReplaceActivations(unittest.TestCase):
    def model(self):
        torch.manual_seed(8)
        return torch.nn.Sequential(Block(), torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 32),
                                   torch.nn.ReLU(inplace=True), torch.nn.Linear(32, 16),
                                   torch.nn.Softplus(2, 10), torch.nn.Linear(16, 10),
                                   torch.nn.Tanh())

    def test_swaps_nested_modules_and_reports_them(self):
        model = self.model()
        swapped = relulab_torch.replace_activations(model)
        self.assertEqual(swapped, [("0.act", "GELU"), ("0.inner.1", "PReLU"), ("3", "ReLU"),
                                   ("5", "Softplus"), ("7", "Tanh")])
        self.assertIsInstance(model[0].act, rnn.GELU)
        self.assertEqual(model[0].act.approximate, "tanh")
        self.assertEqual((model[5].beta, model[5].threshold), (2, 10))
        self.assertEqual(relulab_torch.replace_activations(model), [])  # nothing left to swap

    def test_outputs_and_training_step_stay_within_tolerance(self):
        theirs = self.model()
        ours = copy.deepcopy(theirs)
        prelu_weight = ours[0].inner[1].weight
        optimizer = torch.optim.SGD(ours.parameters(), lr=0.1)
        relulab_torch.replace_activations(ours)
        self.assertIs(ours[0].inner[1].weight, prelu_weight)  # the optimiser still holds it
        reference_optimizer = torch.optim.SGD(theirs.parameters(), lr=0.1)
        x = torch.randn(16, 3, 6, 6, generator=torch.Generator().manual_seed(9))
        labels = torch.arange(16) % 10
        for model, opt in ((ours, optimizer), (theirs, reference_optimizer)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), labels).backward()
            opt.step()
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ours[0].inner[1].weight, theirs[0].inner[1].weight,
                                   rtol=1e-5, atol=1e-6)

    def test_subclasses_are_left_alone(self):
        class MyReLU(torch.nn.ReLU):
            pass

        model = torch.nn.Sequential(MyReLU(), torch.nn.ReLU())
        self.assertEqual(relulab_torch.replace_activations(model), [("1", "ReLU")])
        self.assertIs(type(model[0]), MyReLU)


if __name__ == "__main__":
    unittest.main()
