// Scalar reference of every activation and derivative, in long double, straight from the
// definitions in the table (PyTorch's). It is the ground truth that the fast kernels are tested
// against; it is slow on purpose and never used on a hot path.
#pragma once

#include "relulab/activation.hpp"

namespace relulab {

// f(x).
long double reference_forward(const ActivationSpec& spec, long double x);
// f'(x), with PyTorch's choice at the kinks (e.g. ReLU'(0) = 0, LeakyReLU'(0) = slope).
long double reference_derivative(const ActivationSpec& spec, long double x);
// f'(x) written as a function of y = f(x), for activations with backward_from_output.
long double reference_derivative_from_output(const ActivationSpec& spec, long double y);
// Where f' is a sum of terms that cancel near its root (gelu, gelu_tanh, silu, mish; SELU's
// derivative from the output near y = -scale alpha), the sum of the terms' absolute values: a
// float result is then measured in units of max(ulp(f'), 2^-24 magnitude). 0 elsewhere.
long double reference_derivative_magnitude(const ActivationSpec& spec, long double x);
long double reference_derivative_from_output_magnitude(const ActivationSpec& spec, long double y);

}  // namespace relulab
