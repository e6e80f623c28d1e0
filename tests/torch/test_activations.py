"""relulab_torch's activations against PyTorch's own: float32 values and gradients within the
C++ tests' ULP bounds of PyTorch's float64 op, float64 gradients by torch.autograd.gradcheck,
shapes 0-d to 4-d, empty tensors, NaN and infinities, the fallbacks, threads, PReLU."""
import math
import unittest

import torch
import torch.nn.functional as TF

import relulab_torch
from relulab_torch import functional as F
from torch_test_support import (SPECS, derivative_from_output, from_output, kinks, pytorch_op,
                                relulab_op, sweep_points, ulp_error)


def label(name, params):
    return f"{name}{params}" if params else name


def float32_params(params):
    """The parameters as the float32 values the kernels use (0.01 is not a float)."""
    return tuple(float(torch.tensor(p, dtype=torch.float32)) for p in params)


def off_kinks(x, name, params):
    """x without the kink points themselves, where f' jumps: there PyTorch is not consistent with
    itself (its vectorised hardswish backward gives 1 at x = 3, its scalar one 1.5), and
    relulab's choice is pinned by the C++ edge tests and docs/activations.md."""
    keep = torch.ones_like(x, dtype=torch.bool)
    for kink in kinks(name, params):
        keep &= x != kink
    return x[keep]


class Float32AgainstReference(unittest.TestCase):
    """The float32 kernels through PyTorch, in ULPs of the float64 reference (relulab's long double
    rounded to double, which the class below ties to PyTorch's float64 op). PyTorch's own float64
    op is not the yardstick here: its elu computes exp(x) - 1 without expm1 and returns 0 for
    x = -5.6e-17, its gelu loses digits to 1 + erf(x) below x = -3."""

    def test_forward_within_bound(self):
        x = sweep_points()
        for name, params, bound, _, _ in SPECS:
            with self.subTest(label(name, params)):
                ref = relulab_op(name, float32_params(params))(x.double())
                err = ulp_error(relulab_op(name, params)(x), ref)
                worst = int(err.argmax())
                self.assertLessEqual(err.max().item(), bound,
                                     f"worst at x = {x[worst].item()!r}")

    def test_gradient_within_bound(self):
        for name, params, _, bound, scale in SPECS:
            with self.subTest(label(name, params)):
                x = off_kinks(sweep_points(), name, params)
                xs = x.clone().requires_grad_()
                y = relulab_op(name, params)(xs)
                (dx,) = torch.autograd.grad(y, xs, torch.ones_like(x))
                if from_output(name):
                    ref = derivative_from_output(name, float32_params(params), y.detach().double())
                else:
                    xd = x.double().requires_grad_()
                    (ref,) = torch.autograd.grad(relulab_op(name, float32_params(params))(xd), xd,
                                                 torch.ones_like(xd))
                err = ulp_error(dx, ref, scale)
                worst = int(err.argmax())
                self.assertLessEqual(err.max().item(), bound,
                                     f"worst at x = {x[worst].item()!r}")

    def test_gradient_scales_with_dy(self):
        x = torch.linspace(-4, 4, 1001)
        dy = torch.linspace(-3, 3, 1001)
        for name, params, _, _, _ in SPECS:
            with self.subTest(label(name, params)):
                xs = x.clone().requires_grad_()
                (dx,) = torch.autograd.grad(relulab_op(name, params)(xs), xs, dy)
                xs = x.clone().requires_grad_()
                (ones,) = torch.autograd.grad(relulab_op(name, params)(xs), xs,
                                              torch.ones_like(x))
                torch.testing.assert_close(dx, ones * dy, rtol=2 ** -22, atol=0)


class Float64AgainstPyTorch(unittest.TestCase):
    """float64 runs relulab's long-double reference: its values and gradients equal PyTorch's
    float64 op to PyTorch's own accuracy (relative 1e-9: PyTorch's gelu loses about 1e-10 to
    cancellation at |x| = 5, its elu 1e-13 at |x| = 1e-3), and gradcheck compares its derivative
    with finite differences of its forward, away from the kinks."""

    def points(self, name, params):
        x = torch.linspace(-5, 5, 10001, dtype=torch.float64)
        x = x[x.abs() >= 1e-3]
        for kink in kinks(name, params):
            x = x[(x - kink).abs() > 1e-9]
        return x

    def test_values_and_gradients_match_pytorch(self):
        for name, params, _, _, _ in SPECS:
            with self.subTest(label(name, params)):
                x = self.points(name, params)
                a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
                exact = float32_params(params)  # the parameters relulab holds, for both
                ours, theirs = relulab_op(name, exact)(a), pytorch_op(name, exact)(b)
                torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=0)
                (da,) = torch.autograd.grad(ours, a, torch.ones_like(x))
                (db,) = torch.autograd.grad(theirs, b, torch.ones_like(x))
                # f' crosses zero for gelu, silu, mish: an error relative to the terms' size, 1.
                # PyTorch's float64 hardsigmoid backward returns 1/6 rounded to float32.
                rtol = 3e-8 if name == "hardsigmoid" else 1e-9
                atol = 1e-9 if name in ("gelu", "gelu_tanh", "silu", "mish") else 0
                torch.testing.assert_close(da, db, rtol=rtol, atol=atol)

    def test_gradcheck(self):
        generator = torch.Generator().manual_seed(2)
        for name, params, _, _, _ in SPECS:
            with self.subTest(label(name, params)):
                x = torch.rand(64, generator=generator, dtype=torch.float64) * 12 - 6
                for kink in kinks(name, params):
                    x = torch.where((x - kink).abs() < 1e-3, x + 0.01, x)
                x.requires_grad_()
                self.assertTrue(torch.autograd.gradcheck(relulab_op(name, params), (x,)))


class ShapesAndSpecials(unittest.TestCase):
    def test_shapes_0d_to_4d_and_empty(self):
        generator = torch.Generator().manual_seed(3)
        for shape in [(), (7,), (3, 5), (2, 3, 4), (2, 3, 4, 5), (0,), (2, 0, 3)]:
            x = torch.randn(shape, generator=generator)
            for name, params, _, _, _ in SPECS:
                with self.subTest(f"{label(name, params)} {shape}"):
                    xs = x.clone().requires_grad_()
                    y = relulab_op(name, params)(xs)
                    self.assertEqual(y.shape, x.shape)
                    self.assertEqual(y.dtype, torch.float32)
                    flat = relulab_op(name, params)(x.reshape(-1))
                    self.assertTrue(torch.equal(y.detach().reshape(-1), flat))
                    y.sum().backward()
                    self.assertEqual(xs.grad.shape, x.shape)

    def test_nan_and_infinities(self):
        x = torch.tensor([math.nan, math.inf, -math.inf, 3.4e38, -3.4e38, 0.0, -0.0, 1e-45])
        for name, params, _, _, _ in SPECS:
            with self.subTest(label(name, params)):
                y = relulab_op(name, params)(x)
                self.assertTrue(torch.isnan(y[0]), "NaN in must give NaN out")
                self.assertFalse(torch.isnan(y[1:]).any(), f"NaN out for a number in: {y}")
                # The limits, from PyTorch's float64 op (at 3.4e38 instead of inf where the
                # float64 formula would compute inf * 0).
                ref = pytorch_op(name, params)(x.double())
                ref[1:3] = torch.where(torch.isnan(ref[1:3]), ref[3:5], ref[1:3])
                torch.testing.assert_close(y[1:], ref[1:].float(), rtol=4 * 2 ** -24, atol=0,
                                           equal_nan=False)

    def test_nan_gradient_is_the_select_or_nan(self):
        # At a NaN x, the select activations give what their select gives (relulab's one answer
        # in every variant: docs/activations.md), the others NaN. relu and leaky_relu match
        # PyTorch's autograd; PyTorch's hardtanh_backward gives dy on its scalar path and 0 on its
        # vector path, so relu6 is checked against the rule alone.
        select = {"relu": lambda p: 1.0, "leaky_relu": lambda p: p[0], "relu6": lambda p: 0.0,
                  "hardsigmoid": lambda p: 0.0}
        x = torch.tensor([math.nan, 1.0], requires_grad=True)
        for name, params, _, _, _ in SPECS:
            with self.subTest(label(name, params)):
                (dx,) = torch.autograd.grad(relulab_op(name, params)(x), x, torch.ones(2))
                if name not in select:
                    self.assertTrue(torch.isnan(dx[0]), f"dx at NaN is {dx[0]}")
                    continue
                self.assertEqual(dx[0].item(), torch.tensor(select[name](params)).item())
                if name in ("relu", "leaky_relu"):
                    (theirs,) = torch.autograd.grad(pytorch_op(name, params)(x), x, torch.ones(2))
                    self.assertEqual(dx[0].item(), theirs[0].item())


class Autograd(unittest.TestCase):
    def test_saves_the_output_where_the_table_allows_else_the_input(self):
        x = torch.randn(16, requires_grad=True)
        for name, params, _, _, _ in SPECS:
            with self.subTest(label(name, params)):
                packed = []

                def pack(tensor):
                    packed.append(tensor.data_ptr())
                    return tensor

                with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                    y = relulab_op(name, params)(x)
                self.assertEqual(packed, [y.data_ptr() if from_output(name) else x.data_ptr()])

    def test_no_graph_without_grad(self):
        x = torch.randn(16)
        self.assertIsNone(F.gelu(x).grad_fn)
        with torch.no_grad():
            self.assertIsNone(F.gelu(x.requires_grad_()).grad_fn)

    def test_in_place_change_of_a_saved_output_is_caught(self):
        y = F.sigmoid(torch.randn(8, requires_grad=True))
        y.add_(1)
        with self.assertRaisesRegex(RuntimeError, "modified by an inplace operation"):
            y.sum().backward()

    def test_second_backward_needs_retain_graph(self):
        x = torch.randn(8, requires_grad=True)
        y = F.tanh(x).sum()
        y.backward(retain_graph=True)
        y.backward()
        with self.assertRaisesRegex(RuntimeError, "second time"):
            y.backward()


class Fallbacks(unittest.TestCase):
    def test_other_dtypes_run_pytorch(self):
        """bfloat16 and float16 give PyTorch's result, or PyTorch's error where PyTorch 1.13 has
        no CPU kernel for that dtype (most float16 ops)."""
        x = torch.linspace(-4, 4, 101)
        for dtype in (torch.float16, torch.bfloat16):
            for name, params, _, _, _ in SPECS:
                with self.subTest(f"{label(name, params)} {dtype}"):
                    xs = x.to(dtype)
                    try:
                        theirs = pytorch_op(name, params)(xs)
                    except RuntimeError as e:
                        with self.assertRaisesRegex(RuntimeError, "not implemented"):
                            relulab_op(name, params)(xs)
                        self.assertIn("not implemented", str(e))
                        continue
                    self.assertTrue(torch.equal(relulab_op(name, params)(xs), theirs))

    def test_non_contiguous_runs_pytorch_with_gradients(self):
        base = torch.randn(6, 8, generator=torch.Generator().manual_seed(6))
        for name, params, _, _, _ in SPECS:
            with self.subTest(label(name, params)):
                a, b = base.clone().requires_grad_(), base.clone().requires_grad_()
                self.assertFalse(a.t().is_contiguous())
                ours, theirs = relulab_op(name, params)(a.t()), pytorch_op(name, params)(b.t())
                self.assertTrue(torch.equal(ours, theirs))
                dy = torch.randn(8, 6)
                ours.backward(dy)
                theirs.backward(dy)
                self.assertTrue(torch.equal(a.grad, b.grad))

    def test_integer_input_is_an_error(self):
        with self.assertRaises(RuntimeError):
            F.gelu(torch.arange(4))

    def test_double_backward_is_refused(self):
        x = torch.randn(5, requires_grad=True)
        (dx,) = torch.autograd.grad(F.gelu(x).sum(), x, create_graph=False)
        self.assertEqual(dx.shape, x.shape)
        with self.assertRaisesRegex(RuntimeError, "no double backward"):
            torch.autograd.grad(F.gelu(x).sum(), x, create_graph=True)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(RuntimeError, "negative_slope"):
            F.leaky_relu(torch.ones(3), -1.0)
        with self.assertRaisesRegex(RuntimeError, "alpha"):
            F.elu(torch.ones(3), 0.0)
        with self.assertRaisesRegex(ValueError, "approximate"):
            F.gelu(torch.ones(3), "fast")
        with self.assertRaisesRegex(ValueError, "unknown activation"):
            F.activation(torch.ones(3), "relu7")


class Threads(unittest.TestCase):
    def test_one_and_two_threads_agree(self):
        x = torch.randn(1 << 20, generator=torch.Generator().manual_seed(4))
        before = torch.get_num_threads()
        try:
            for name, params, _, _, _ in SPECS:
                with self.subTest(label(name, params)):
                    results = []
                    for threads in (1, 2):
                        torch.set_num_threads(threads)
                        xs = x.clone().requires_grad_()
                        y = relulab_op(name, params)(xs)
                        y.backward(torch.ones_like(x))
                        results.append((y.detach(), xs.grad))
                    self.assertTrue(torch.equal(results[0][0], results[1][0]))
                    self.assertTrue(torch.equal(results[0][1], results[1][1]))
        finally:
            torch.set_num_threads(before)


class PReLU(unittest.TestCase):
    def test_against_pytorch(self):
        generator = torch.Generator().manual_seed(5)
        for shape, slopes in [((10,), 1), ((4, 3), 3), ((2, 3, 5, 5), 3), ((2, 3, 5, 5), 1),
                              ((0, 3), 3)]:
            with self.subTest(f"{shape} x {slopes}"):
                x = torch.randn(shape, generator=generator)
                w = torch.rand(slopes, generator=generator)
                a, wa = x.clone().requires_grad_(), w.clone().requires_grad_()
                b, wb = x.clone().requires_grad_(), w.clone().requires_grad_()
                y = F.prelu(a, wa)
                ref = TF.prelu(b, wb)
                self.assertTrue(torch.equal(y, ref))
                dy = torch.randn(shape, generator=generator)
                y.backward(dy)
                ref.backward(dy)
                self.assertTrue(torch.equal(a.grad, b.grad))
                torch.testing.assert_close(wa.grad, wb.grad, rtol=1e-6, atol=1e-6)

    def test_gradcheck_float64(self):
        x = (torch.rand(3, 4, 5, dtype=torch.float64) * 4 - 2)
        x = torch.where(x.abs() < 1e-3, x + 0.01, x).requires_grad_()
        w = torch.tensor([0.1, 0.25, -0.3, 0.5], dtype=torch.float64, requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(F.prelu, (x, w)))

    def test_wrong_slope_count(self):
        with self.assertRaisesRegex(RuntimeError, "3 slopes"):
            F.prelu(torch.ones(2, 4), torch.ones(3))


if __name__ == "__main__":
    unittest.main()
