// The math of every activation, straight from the definitions in the table (PyTorch's): f(x), f'(x)
// and f'(x) written as a function of y = f(x), as scalar templates written once.
//   - The reference (reference.cpp) instantiates them with long double: the ground truth of the
//     tests, good to ~1e-18 relative.
//   - The CUDA kernels (src/cuda/) instantiate them with double and round once to float: a double
//     result is within 2^-29 float ULPs of the exact one, so a kernel is within ~0.5 ULP.
// Forms are chosen to avoid cancellation (expm1, log1p, erfc for the lower tail of Phi), so they
// keep their relative accuracy in either type.
//
// NaN: f(NaN) = NaN. f'(NaN) is NaN too, except for the activations whose gradient is a select
// (select_slope_at_nan): there dx at a NaN x is what PyTorch's select gives, the same in every
// variant (input, output, mask, CUDA). Zeros: where the exact value is a negative number too
// small for the type (the gated activations' lower tail, at -inf its limit), the result is -0,
// the correctly rounded value, not the +0 that a sum of underflowed terms would give.
#pragma once

#include <cmath>

#include "relulab/activation.hpp"

#ifdef __CUDACC__
#define RELULAB_HOST_DEVICE __host__ __device__
#else
#define RELULAB_HOST_DEVICE
#endif

namespace relulab::formula {

inline constexpr long double kSeluScale = 1.0507009873554804934193349852946L;
inline constexpr long double kSeluAlpha = 1.6732632423543772848170429916717L;
inline constexpr long double kSqrt2 = 1.4142135623730950488016887242097L;
inline constexpr long double kSqrt2OverPi = 0.79788456080286535587989211986876L;  // sqrt(2 / pi)
inline constexpr long double kInvSqrt2Pi = 0.39894228040143267793994605993438L;   // 1 / sqrt(2 pi)
inline constexpr long double kGeluTanhCubic = 0.044715L;

// c as a T, folded at compile time (device code has no long double).
template <class T>
RELULAB_HOST_DEVICE constexpr T k(long double c) {
  return static_cast<T>(c);
}

// sigmoid'(x) = e / (1 + e)^2 with e = exp(-|x|): s (1 - s) would lose everything to rounding of
// s near 1, even in long double.
template <class T>
RELULAB_HOST_DEVICE T sigmoid_derivative(T x) {
  using std::exp, std::fabs;
  const T e = exp(-fabs(x));
  return e / ((T{1} + e) * (T{1} + e));
}

// Both branches evaluate exp of a non-positive number: no overflow, no cancellation.
template <class T>
RELULAB_HOST_DEVICE T sigmoid(T x) {
  using std::exp;
  if (x >= 0) return T{1} / (T{1} + exp(-x));
  const T e = exp(x);
  return e / (T{1} + e);
}

// Phi(x) = erfc(-x / sqrt(2)) / 2 keeps relative accuracy in the lower tail.
template <class T>
RELULAB_HOST_DEVICE T normal_cdf(T x) {
  using std::erfc;
  return T{0.5} * erfc(-x / k<T>(kSqrt2));
}
template <class T>
RELULAB_HOST_DEVICE T normal_pdf(T x) {
  using std::exp;
  return k<T>(kInvSqrt2Pi) * exp(T{-0.5} * x * x);
}

// softplus(x) = log(1 + exp(x)) without overflow: x + log1p(exp(-x)) for x > 0.
template <class T>
RELULAB_HOST_DEVICE T softplus_unit(T x) {
  using std::exp, std::log1p;
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

// 1 + tanh(u) = 2 sigmoid(2u), which has no cancellation for u << 0.
template <class T>
RELULAB_HOST_DEVICE T gelu_tanh_u(T x) {
  return k<T>(kSqrt2OverPi) * (x + k<T>(kGeluTanhCubic) * x * x * x);
}

// PyTorch's softplus returns x where the float product beta x exceeds the threshold.
template <class T>
RELULAB_HOST_DEVICE bool softplus_linear(T x, T beta, T threshold) {
  return static_cast<float>(beta) * static_cast<float>(x) > static_cast<float>(threshold);
}

// The gated activations x g(x), g rising from 0 to 1: at x = -inf and +inf their values are the
// limits -0 and +inf and their slopes -0 and 1, where the formulas would give -inf * 0 = NaN
// (both approach 0 from below: f(x) < 0 for x < 0, and f'(x) < 0 below f''s root near -1).
RELULAB_HOST_DEVICE constexpr bool is_gated(Activation a) {
  return a == Activation::kGELU || a == Activation::kGELUTanh || a == Activation::kSiLU ||
         a == Activation::kMish;
}

// Where the gradient is a select rather than a product: PyTorch's threshold_backward,
// hardtanh_backward and hardsigmoid_backward, and the CPU kernels' masked ops, give dx = 0 where
// f'(x) = 0 also for a NaN or infinite dy.
RELULAB_HOST_DEVICE constexpr bool gradient_is_select(Activation a) {
  return a == Activation::kReLU || a == Activation::kReLU6 || a == Activation::kHardSigmoid;
}

// The slope that a NaN x (or y) selects, for the activations whose backward is a select on x, as
// PyTorch's kernels and the ReLU mask give it: every comparison with NaN is false, so
//   relu:        x <= 0 ? 0 : dy               -> dy     (threshold_backward, the mask bit)
//   leaky/prelu: x > 0 ? dy : slope dy         -> slope dy
//   relu6:       (x > 0 & x < 6) & dy          -> 0      (hardtanh_backward, vectorised)
//   hardsigmoid: -3 < x < 3 ? dy / 6 : 0       -> 0
// Returns false for the others, whose backward at NaN is NaN (PyTorch's hardswish_backward gives
// dy in its scalar path and NaN in its vector path; we keep NaN there).
template <class T>
RELULAB_HOST_DEVICE bool select_slope_at_nan(Activation kind, T a, T& slope) {
  using A = Activation;
  switch (kind) {
    case A::kReLU:
      return slope = T{1}, true;
    case A::kLeakyReLU:
    case A::kPReLU:
      return slope = a, true;
    case A::kReLU6:
    case A::kHardSigmoid:
      return slope = T{0}, true;
    default:
      return false;
  }
}

// f(x); a and b are the spec's parameters (ActivationInfo::params).
template <class T>
RELULAB_HOST_DEVICE T forward(Activation kind, T x, T a, T b) {
  using std::expm1, std::fmax, std::fmin, std::isinf, std::isnan, std::tanh;
  using A = Activation;
  if (isnan(x)) return x;
  if (isinf(x) && is_gated(kind)) return x > 0 ? x : -T{0};
  switch (kind) {
    case A::kReLU:
      return x > 0 ? x : T{0};
    case A::kLeakyReLU:
    case A::kPReLU:
      return x > 0 ? x : a * x;
    case A::kReLU6:
      return fmin(fmax(x, T{0}), T{6});
    case A::kELU:
      return x > 0 ? x : a * expm1(x);
    case A::kSELU:
      return k<T>(kSeluScale) * (x > 0 ? x : k<T>(kSeluAlpha) * expm1(x));
    case A::kCELU:
      return x > 0 ? x : a * expm1(x / a);
    case A::kGELU:
      return x * normal_cdf(x);
    case A::kGELUTanh:
      return x * sigmoid(T{2} * gelu_tanh_u(x));
    case A::kSiLU:
      return x * sigmoid(x);
    case A::kMish:
      return x * tanh(softplus_unit(x));
    case A::kSoftplus:
      return softplus_linear(x, a, b) ? x : softplus_unit(a * x) / a;
    case A::kHardSigmoid:
      return fmin(fmax(x + T{3}, T{0}), T{6}) / T{6};
    case A::kHardSwish:  // -0 on the flat piece, as x * 0 / 6 is in PyTorch
      if (x <= -3) return -T{0};
      return x >= 3 ? x : x * (x + T{3}) / T{6};
    case A::kSigmoid:
      return sigmoid(x);
    case A::kTanh:
      return tanh(x);
  }
  return x;
}

// f'(x) for finite x, as the formula's sum of terms; with `magnitude`, the sum of the terms'
// absolute values instead (see derivative_magnitude).
template <class T>
RELULAB_HOST_DEVICE T derivative_sum(Activation kind, T x, T a, T b, bool magnitude) {
  using std::cosh, std::exp, std::fabs, std::tanh;
  using A = Activation;
  // first + second, or |first| + |second|.
  const auto sum = [magnitude](T first, T second) {
    return magnitude ? fabs(first) + fabs(second) : first + second;
  };
  switch (kind) {
    case A::kReLU:
      return x > 0 ? T{1} : T{0};
    case A::kLeakyReLU:
    case A::kPReLU:
      return x > 0 ? T{1} : a;
    case A::kReLU6:
      return x > 0 && x < 6 ? T{1} : T{0};
    case A::kELU:
      return x > 0 ? T{1} : a * exp(x);
    case A::kSELU:
      return k<T>(kSeluScale) * (x > 0 ? T{1} : k<T>(kSeluAlpha) * exp(x));
    case A::kCELU:
      return x > 0 ? T{1} : exp(x / a);
    case A::kGELU:
      return sum(normal_cdf(x), x * normal_pdf(x));
    case A::kGELUTanh: {
      // With s = sigmoid(2u): 1 + tanh(u) = 2s and 1 - tanh(u)^2 = 4 s (1 - s) = 4 s'(2u).
      const T u = gelu_tanh_u(x);
      const T du = k<T>(kSqrt2OverPi) * (T{1} + T{3} * k<T>(kGeluTanhCubic) * x * x);
      return sum(sigmoid(T{2} * u), T{2} * x * sigmoid_derivative(T{2} * u) * du);
    }
    case A::kSiLU:
      return sum(sigmoid(x), x * sigmoid_derivative(x));  // s (1 + x (1 - s))
    case A::kMish: {
      // 1 - tanh(z)^2 = 1 / cosh(z)^2, which keeps its relative accuracy for large z.
      const T z = softplus_unit(x);
      const T c = cosh(z);
      return sum(tanh(z), x * sigmoid(x) / (c * c));
    }
    case A::kSoftplus:
      return softplus_linear(x, a, b) ? T{1} : sigmoid(a * x);
    case A::kHardSigmoid:
      return x > -3 && x < 3 ? T{1} / T{6} : T{0};
    case A::kHardSwish:
      if (x < -3) return T{0};
      return x <= 3 ? (T{2} * x + T{3}) / T{6} : T{1};
    case A::kSigmoid:
      return sigmoid_derivative(x);
    case A::kTanh: {
      const T c = cosh(x);
      return T{1} / (c * c);
    }
  }
  return x;
}

// f'(x), with PyTorch's choice at the kinks (e.g. ReLU'(0) = 0, LeakyReLU'(0) = slope).
template <class T>
RELULAB_HOST_DEVICE T derivative(Activation kind, T x, T a, T b) {
  using std::isinf, std::isnan;
  if (T slope{}; isnan(x) && select_slope_at_nan(kind, a, slope)) return slope;
  if (isnan(x)) return x;
  if (isinf(x) && is_gated(kind)) return x > 0 ? T{1} : -T{0};
  const T d = derivative_sum(kind, x, a, b, false);
  // A gated f' is negative where it underflows (x << 0): the sum of two underflowed terms,
  // +0 + -0, would be +0.
  return d == 0 && x < 0 && is_gated(kind) ? -T{0} : d;
}

// The scale of f''s rounding error where f' is a sum of terms that cancel near its root
// (gelu, gelu_tanh, silu, mish near x = -0.75 .. -1.3): the sum of the terms' absolute values.
// A float evaluation that rounds each term once is off by ~2^-24 times this, however small f' is;
// the accuracy tests measure such an f' in units of max(ulp(f'), 2^-24 magnitude). 0 where f' is
// not such a sum (or x is not finite): plain ULPs.
template <class T>
RELULAB_HOST_DEVICE T derivative_magnitude(Activation kind, T x, T a, T b) {
  using std::isfinite;
  if (!isfinite(x) || !is_gated(kind)) return T{0};
  return derivative_sum(kind, x, a, b, true);
}

// f'(x) written as a function of y = f(x), for the activations whose table entry has
// backward_from_output; NaN for the others.
template <class T>
RELULAB_HOST_DEVICE T derivative_from_output(Activation kind, T y, T a) {
  using std::isnan;
  using A = Activation;
  if (T slope{}; isnan(y) && select_slope_at_nan(kind, a, slope)) return slope;
  if (isnan(y)) return y;
  switch (kind) {
    case A::kReLU:
      return y > 0 ? T{1} : T{0};
    case A::kLeakyReLU:  // negative_slope >= 0, so y > 0 exactly when x > 0
      return y > 0 ? T{1} : a;
    case A::kReLU6:
      return y > 0 && y < 6 ? T{1} : T{0};
    case A::kELU:  // alpha exp(x) = y + alpha for x <= 0
      return y > 0 ? T{1} : y + a;
    case A::kSELU:
      return y > 0 ? k<T>(kSeluScale) : y + k<T>(kSeluScale * kSeluAlpha);
    case A::kCELU:  // exp(x / alpha) = y / alpha + 1 for x <= 0
      return y > 0 ? T{1} : y / a + T{1};
    case A::kSigmoid:
      return y * (T{1} - y);
    case A::kTanh:
      return T{1} - y * y;
    default:
      return T{NAN};
  }
}

// derivative_magnitude for derivative_from_output: SELU's y + scale alpha cancels as y -> -scale
// alpha, where the float constant's rounding dominates; plain ULPs (0) for the others.
template <class T>
RELULAB_HOST_DEVICE T derivative_from_output_magnitude(Activation kind, T y) {
  using std::fabs, std::isfinite;
  if (kind != Activation::kSELU || !isfinite(y) || y > 0) return T{0};
  return fabs(y) + k<T>(kSeluScale * kSeluAlpha);
}

// The float kernels of src/cuda/: the double formulas, rounded once to float; dx = dy f'(x) is
// also rounded once (0 where gradient_is_select and f'(x) = 0).
RELULAB_HOST_DEVICE inline float forward_in_double(Activation kind, float x, float a, float b) {
  return static_cast<float>(forward<double>(kind, x, a, b));
}
RELULAB_HOST_DEVICE inline float backward_in_double(Activation kind, float x, float dy, float a,
                                                    float b) {
  const double slope = derivative<double>(kind, x, a, b);
  if (gradient_is_select(kind) && slope == 0) return 0.0f;
  return static_cast<float>(dy * slope);
}
RELULAB_HOST_DEVICE inline float backward_from_output_in_double(Activation kind, float y, float dy,
                                                                float a) {
  const double slope = derivative_from_output<double>(kind, y, a);
  if (gradient_is_select(kind) && slope == 0) return 0.0f;
  return static_cast<float>(dy * slope);
}

}  // namespace relulab::formula
