// NaN inputs and signed zeros: one answer per activation in every variant of its kernels (the
// forward-input backward, the backward from the output, the ReLU mask, the per-channel PReLU, and
// the CUDA kernels' math evaluated on the host), on every SIMD target.
//   - f(NaN) = NaN for every activation.
//   - The backward at a NaN x (or y) is NaN, except for the activations whose gradient is a
//     select: relu gives dy, leaky_relu and prelu slope dy, relu6 and hardsigmoid 0 (PyTorch's
//     threshold_backward, leaky_relu_backward, vectorised hardtanh_backward, hardsigmoid_backward).
//   - A zero result has the sign of the exact value: -0 where a negative value underflows (the
//     gated activations' lower tails, their limits at -inf, silu'(-1e4)), f(-0) = -0 where
//     f(x) ~ c x near 0, and the flat pieces' zeros as the formula gives them.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "activation/formulas.hpp"
#include "activation_specs.hpp"
#include "relulab/activation.hpp"
#include "simd_targets.hpp"

namespace relulab {
namespace {

using A = Activation;
constexpr float kInf = std::numeric_limits<float>::infinity();

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Equal values, or both NaN (payloads aside), with equal signs of zero.
bool same_answer(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

std::string show(float v) {
  return std::isnan(v) ? "NaN" : (std::signbit(v) && v == 0 ? "-0" : std::to_string(v));
}

// NaNs (quiet, payload, negative) at fixed positions among ordinary values, 37 long: a vector
// body and a tail on every target.
std::vector<float> inputs_with_nan() {
  float payload_nan;
  const std::uint32_t bits = 0xffc01234u;
  std::memcpy(&payload_nan, &bits, sizeof payload_nan);
  std::vector<float> x(37);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = -9.0f + 0.5f * static_cast<float>(i);
  for (const std::size_t i : {0, 5, 16, 17, 31, 36}) x[i] = i % 2 ? payload_nan : std::nanf("");
  x[7] = -std::nanf("");
  x[8] = 0.0f, x[9] = -0.0f, x[10] = kInf, x[11] = -kInf;
  return x;
}

// dy at a NaN x: what the activation's backward gives, from formula::select_slope_at_nan.
float backward_at_nan(const ActivationSpec& spec, float dy) {
  float slope = 0;
  if (!formula::select_slope_at_nan(spec.kind, spec.params[0], slope)) return std::nanf("");
  if (formula::gradient_is_select(spec.kind) && slope == 0) return 0.0f;
  return dy * slope;
}

TEST(ActivationNaN, ForwardGivesNaNAndBackwardGivesTheSelectOrNaN) {
  const std::vector<float> x = inputs_with_nan();
  const std::vector<float> dy(x.size(), 2.5f);
  std::vector<float> out(x.size());
  test::for_each_simd_target([&] {
    for (const ActivationSpec& spec : test::specs_under_test()) {
      activation_forward(spec, x, out);
      for (std::size_t i = 0; i < x.size(); ++i) {
        EXPECT_EQ(std::isnan(out[i]), std::isnan(x[i])) << describe(spec) << " f(" << x[i] << ")";
      }
      const bool from_output = activation_info(spec.kind).backward_from_output;
      for (int variant = 0; variant < (from_output ? 2 : 1); ++variant) {
        if (variant == 0) activation_backward(spec, x, dy, out);
        if (variant == 1) activation_backward_from_output(spec, x, dy, out);  // y = NaN
        for (std::size_t i = 0; i < x.size(); ++i) {
          if (!std::isnan(x[i])) continue;
          EXPECT_TRUE(same_answer(out[i], backward_at_nan(spec, dy[i])))
              << describe(spec) << (variant ? " backward_from_output" : " backward") << " at " << i
              << ": " << show(out[i]) << ", want " << show(backward_at_nan(spec, dy[i]));
        }
      }
    }
  });
}

// The CUDA kernels' per-element math (formula::*_in_double), on the same NaN inputs.
TEST(ActivationNaN, CudaMathGivesTheSameAnswers) {
  for (const ActivationSpec& spec : test::specs_under_test()) {
    const float a = spec.params[0], b = spec.params[1];
    const float nan = std::nanf("");
    EXPECT_TRUE(std::isnan(formula::forward_in_double(spec.kind, nan, a, b))) << describe(spec);
    EXPECT_TRUE(same_answer(formula::backward_in_double(spec.kind, nan, 2.5f, a, b),
                            backward_at_nan(spec, 2.5f)))
        << describe(spec);
    if (activation_info(spec.kind).backward_from_output) {
      EXPECT_TRUE(same_answer(formula::backward_from_output_in_double(spec.kind, nan, 2.5f, a),
                              backward_at_nan(spec, 2.5f)))
          << describe(spec);
    }
  }
}

// relu through the mask, the input and the output; leaky_relu and relu6 through the input and
// the output; PReLU per channel and with one shared slope: bit for bit, NaN, +-0 and +-inf in.
TEST(ActivationNaN, EveryVariantOfASelectGivesTheSameBits) {
  const std::vector<float> x = inputs_with_nan();
  std::vector<float> dy(x.size());
  for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = i % 3 ? 1.5f : -0.75f;
  const std::size_t n = x.size();
  std::vector<float> y(n), from_input(n), from_output(n), other(n);
  test::for_each_simd_target([&] {
    for (const ActivationSpec& spec : test::specs_under_test()) {
      if (!formula::gradient_is_select(spec.kind) && spec.kind != A::kLeakyReLU &&
          spec.kind != A::kPReLU) {
        continue;
      }
      activation_forward(spec, x, y);
      activation_backward(spec, x, dy, from_input);
      if (activation_info(spec.kind).backward_from_output) {
        activation_backward_from_output(spec, y, dy, from_output);
        for (std::size_t i = 0; i < n; ++i) {
          EXPECT_TRUE(same_bits(from_input[i], from_output[i]))
              << describe(spec) << " x = " << x[i] << ": " << show(from_input[i]) << " from x, "
              << show(from_output[i]) << " from y";
        }
      }
      if (spec.kind == A::kReLU) {
        std::vector<std::uint8_t> mask(relu_mask_bytes(n));
        relu_forward_mask(x, other, mask);
        for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(same_answer(other[i], y[i])) << x[i];
        relu_backward_mask(mask, dy, other);
        for (std::size_t i = 0; i < n; ++i) {
          EXPECT_TRUE(same_bits(other[i], from_input[i]))
              << "relu x = " << x[i] << ": mask " << show(other[i]) << ", input "
              << show(from_input[i]);
        }
      }
      if (spec.kind == A::kPReLU) {
        const float slope = spec.params[0];
        float dslope = 0;
        prelu_backward(1, 1, n, x, std::span(&slope, 1), dy, other, std::span(&dslope, 1));
        for (std::size_t i = 0; i < n; ++i) {
          EXPECT_TRUE(same_bits(other[i], from_input[i]))
              << describe(spec) << " x = " << x[i] << ": per channel " << show(other[i])
              << ", shared slope " << show(from_input[i]);
        }
      }
    }
  });
}

struct PinnedZero {
  ActivationSpec spec;
  bool backward;  // f'(x) with dy = 1, else f(x)
  float x;
  bool negative;  // the sign the zero must have
};

// Zeros whose sign is decided by the exact value or by the formula of a flat piece.
TEST(ActivationSignedZero, PinnedZerosHaveTheirSignInEveryVariant) {
  const auto s = [](A a) { return default_spec(a); };
  const std::vector<PinnedZero> pinned = {
      // Underflowed negative values and the limits at -inf of the gated activations: -0.
      {s(A::kGELU), false, -kInf, true},
      {s(A::kGELU), false, -88.72f, true},
      {s(A::kGELU), false, -FLT_MAX, true},
      {s(A::kGELU), true, -kInf, true},
      {s(A::kGELU), true, -20.0f, true},
      {s(A::kGELUTanh), false, -kInf, true},
      {s(A::kGELUTanh), false, -11.5f, true},
      {s(A::kGELUTanh), true, -kInf, true},
      {s(A::kGELUTanh), true, -12.0f, true},
      {s(A::kSiLU), false, -1e4f, true},
      {s(A::kSiLU), true, -1e4f, true},
      {s(A::kSiLU), true, -kInf, true},
      {s(A::kMish), false, -200.0f, true},
      {s(A::kMish), true, -1e4f, true},
      {s(A::kMish), true, -kInf, true},
      // f(-0) = -0 where f(x) ~ c x near 0.
      {s(A::kELU), false, -0.0f, true},
      {s(A::kSELU), false, -0.0f, true},
      {s(A::kCELU), false, -0.0f, true},
      {{A::kCELU, {2.0f, 0}}, false, -0.0f, true},
      {s(A::kLeakyReLU), false, -0.0f, true},
      {s(A::kGELU), false, -0.0f, true},
      {s(A::kSiLU), false, -0.0f, true},
      {s(A::kTanh), false, -0.0f, true},
      {s(A::kHardSwish), false, -0.0f, true},
      // Flat pieces: relu's max(0, x) is +0; hardswish's x * 0 / 6 is -0 (as in PyTorch).
      {s(A::kReLU), false, -0.0f, false},
      {s(A::kReLU), false, -5.0f, false},
      {s(A::kReLU), true, -5.0f, false},
      {s(A::kReLU6), false, -5.0f, false},
      {s(A::kHardSwish), false, -5.0f, true},
      {s(A::kHardSwish), false, -kInf, true},
      {s(A::kHardSigmoid), false, -5.0f, false},
      {s(A::kSoftplus), false, -1e4f, false},
      {s(A::kSigmoid), true, 1e4f, false},
      {s(A::kELU), true, -1e4f, false},
  };
  test::for_each_simd_target([&] {
    for (const PinnedZero& p : pinned) {
      const float dy = 1.0f;
      float out = 1.0f;
      if (p.backward) {
        activation_backward(p.spec, std::span(&p.x, 1), std::span(&dy, 1), std::span(&out, 1));
      } else {
        activation_forward(p.spec, std::span(&p.x, 1), std::span(&out, 1));
      }
      EXPECT_EQ(out, 0.0f) << describe(p.spec) << (p.backward ? "'" : "") << "(" << p.x << ")";
      EXPECT_EQ(std::signbit(out), p.negative)
          << describe(p.spec) << (p.backward ? "'" : "") << "(" << p.x << ") = " << show(out);
    }
  });
  for (const PinnedZero& p : pinned) {  // the CUDA kernels' math
    const float a = p.spec.params[0], b = p.spec.params[1];
    const float out = p.backward ? formula::backward_in_double(p.spec.kind, p.x, 1.0f, a, b)
                                 : formula::forward_in_double(p.spec.kind, p.x, a, b);
    EXPECT_TRUE(out == 0 && std::signbit(out) == p.negative)
        << "cuda-math " << describe(p.spec) << (p.backward ? "'" : "") << "(" << p.x
        << ") = " << show(out);
  }
}

}  // namespace
}  // namespace relulab
