// Long-double reference of every activation, written straight from the definitions in the table.
// Accuracy matters more than speed here: forms are chosen to avoid cancellation (expm1, log1p,
// erfc for the lower tail of Phi) so the reference is good to ~1e-18 relative.
#include <cmath>
#include <stdexcept>

#include "relulab/activation_reference.hpp"

namespace relulab {
namespace {

using A = Activation;
using ld = long double;

constexpr ld kSeluScale = 1.0507009873554804934193349852946L;
constexpr ld kSeluAlpha = 1.6732632423543772848170429916717L;
constexpr ld kSqrt2 = 1.4142135623730950488016887242097L;
constexpr ld kSqrt2OverPi = 0.79788456080286535587989211986876L;  // sqrt(2 / pi)
constexpr ld kInvSqrt2Pi = 0.39894228040143267793994605993438L;   // 1 / sqrt(2 pi)
constexpr ld kGeluTanhCubic = 0.044715L;

// sigmoid'(x) = e / (1 + e)^2 with e = exp(-|x|): s (1 - s) would lose everything to rounding
// of s near 1, even in long double.
ld sigmoid_derivative(ld x) {
  const ld e = std::exp(-std::fabs(x));
  return e / ((1.0L + e) * (1.0L + e));
}

ld sigmoid(ld x) {
  // Both branches evaluate exp of a non-positive number: no overflow, no cancellation.
  if (x >= 0) return 1.0L / (1.0L + std::exp(-x));
  const ld e = std::exp(x);
  return e / (1.0L + e);
}

// Phi(x) = erfc(-x / sqrt(2)) / 2 keeps relative accuracy in the lower tail.
ld normal_cdf(ld x) {
  return 0.5L * std::erfc(-x / kSqrt2);
}
ld normal_pdf(ld x) {
  return kInvSqrt2Pi * std::exp(-0.5L * x * x);
}

// softplus(x) = log(1 + exp(x)) without overflow: x + log1p(exp(-x)) for x > 0.
ld softplus_unit(ld x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// 1 + tanh(u) = 2 * sigmoid(2u), which has no cancellation for u << 0.
ld gelu_tanh_u(ld x) {
  return kSqrt2OverPi * (x + kGeluTanhCubic * x * x * x);
}

// The gated activations x * g(x), g rising from 0 to 1: at x = -inf and +inf their values are the
// limits 0 and +inf and their slopes 0 and 1, where the formulas would give -inf * 0 = NaN.
bool is_gated(Activation a) {
  return a == A::kGELU || a == A::kGELUTanh || a == A::kSiLU || a == A::kMish;
}

}  // namespace

long double reference_forward(const ActivationSpec& spec, long double x) {
  if (std::isnan(x)) return x;
  if (std::isinf(x) && is_gated(spec.kind)) return x > 0 ? x : 0.0L;
  const ld a = spec.params[0];
  const ld b = spec.params[1];
  switch (spec.kind) {
    case A::kReLU:
      return x > 0 ? x : 0.0L;
    case A::kLeakyReLU:
    case A::kPReLU:
      return x > 0 ? x : a * x;
    case A::kReLU6:
      return std::fmin(std::fmax(x, 0.0L), 6.0L);
    case A::kELU:
      return x > 0 ? x : a * std::expm1(x);
    case A::kSELU:
      return kSeluScale * (x > 0 ? x : kSeluAlpha * std::expm1(x));
    case A::kCELU:
      return x > 0 ? x : a * std::expm1(x / a);
    case A::kGELU:
      return x * normal_cdf(x);
    case A::kGELUTanh:
      return x * sigmoid(2.0L * gelu_tanh_u(x));
    case A::kSiLU:
      return x * sigmoid(x);
    case A::kMish:
      return x * std::tanh(softplus_unit(x));
    case A::kSoftplus:
      // PyTorch compares the float product beta * x with the threshold.
      if (static_cast<float>(spec.params[0]) * static_cast<float>(x) > spec.params[1]) return x;
      return softplus_unit(a * x) / a;
    case A::kHardSigmoid:
      return std::fmin(std::fmax(x + 3.0L, 0.0L), 6.0L) / 6.0L;
    case A::kHardSwish:
      if (x <= -3) return 0.0L;
      return x >= 3 ? x : x * (x + 3.0L) / 6.0L;
    case A::kSigmoid:
      return sigmoid(x);
    case A::kTanh:
      return std::tanh(x);
  }
  (void)b;
  return x;
}

long double reference_derivative(const ActivationSpec& spec, long double x) {
  if (std::isnan(x)) return x;
  if (std::isinf(x) && is_gated(spec.kind)) return x > 0 ? 1.0L : 0.0L;
  const ld a = spec.params[0];
  switch (spec.kind) {
    case A::kReLU:
      return x > 0 ? 1.0L : 0.0L;
    case A::kLeakyReLU:
    case A::kPReLU:
      return x > 0 ? 1.0L : a;
    case A::kReLU6:
      return x > 0 && x < 6 ? 1.0L : 0.0L;
    case A::kELU:
      return x > 0 ? 1.0L : a * std::exp(x);
    case A::kSELU:
      return kSeluScale * (x > 0 ? 1.0L : kSeluAlpha * std::exp(x));
    case A::kCELU:
      return x > 0 ? 1.0L : std::exp(x / a);
    case A::kGELU:
      return normal_cdf(x) + x * normal_pdf(x);
    case A::kGELUTanh: {
      // With s = sigmoid(2u): 1 + tanh(u) = 2s and 1 - tanh(u)^2 = 4 s (1 - s) = 4 s'(2u).
      const ld u = gelu_tanh_u(x);
      const ld du = kSqrt2OverPi * (1.0L + 3.0L * kGeluTanhCubic * x * x);
      return sigmoid(2.0L * u) + 2.0L * x * sigmoid_derivative(2.0L * u) * du;
    }
    case A::kSiLU: {
      return sigmoid(x) + x * sigmoid_derivative(x);  // s (1 + x (1 - s))
    }
    case A::kMish: {
      // 1 - tanh(z)^2 = 1 / cosh(z)^2, which keeps its relative accuracy for large z.
      const ld z = softplus_unit(x);
      const ld c = std::cosh(z);
      return std::tanh(z) + x * sigmoid(x) / (c * c);
    }
    case A::kSoftplus:
      if (static_cast<float>(spec.params[0]) * static_cast<float>(x) > spec.params[1]) return 1.0L;
      return sigmoid(a * x);
    case A::kHardSigmoid:
      return x > -3 && x < 3 ? 1.0L / 6.0L : 0.0L;
    case A::kHardSwish:
      if (x < -3) return 0.0L;
      return x <= 3 ? (2.0L * x + 3.0L) / 6.0L : 1.0L;
    case A::kSigmoid:
      return sigmoid_derivative(x);
    case A::kTanh: {
      const ld c = std::cosh(x);
      return 1.0L / (c * c);
    }
  }
  return x;
}

long double reference_derivative_from_output(const ActivationSpec& spec, long double y) {
  if (std::isnan(y)) return y;
  const ld a = spec.params[0];
  switch (spec.kind) {
    case A::kReLU:
      return y > 0 ? 1.0L : 0.0L;
    case A::kLeakyReLU:  // negative_slope >= 0, so y > 0 exactly when x > 0
      return y > 0 ? 1.0L : a;
    case A::kReLU6:
      return y > 0 && y < 6 ? 1.0L : 0.0L;
    case A::kELU:  // alpha * exp(x) = y + alpha for x <= 0
      return y > 0 ? 1.0L : y + a;
    case A::kSELU:
      return y > 0 ? kSeluScale : y + kSeluScale * kSeluAlpha;
    case A::kCELU:  // exp(x / alpha) = y / alpha + 1 for x <= 0
      return y > 0 ? 1.0L : y / a + 1.0L;
    case A::kSigmoid:
      return y * (1.0L - y);
    case A::kTanh:
      return 1.0L - y * y;
    default:
      throw std::invalid_argument(std::string(activation_info(spec.kind).name) +
                                  " has no derivative in terms of its output");
  }
}

}  // namespace relulab
