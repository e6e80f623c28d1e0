// Derivatives: the reference derivative formulas and the SIMD backward kernels against central
// finite differences of the reference forward (so a wrong derivative formula cannot hide behind a
// kernel that copies it), backward with arbitrary dy, backward_from_output against backward from
// the input, and the errors the backward kernels throw.
#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "activation_specs.hpp"
#include "relulab/activation.hpp"
#include "relulab/activation_reference.hpp"
#include "ulp.hpp"

namespace relulab {
namespace {

using A = Activation;

// Float points in [-100, 100], dense in [-10, 10], at least 3 steps h(x) from every kink or
// threshold: -3, 0, 3, 6 and softplus's threshold / beta, where the central difference would
// straddle a jump of f or f'.
std::vector<float> smooth_points(const ActivationSpec& spec) {
  std::vector<float> kinks = {-3.0f, 0.0f, 3.0f, 6.0f};
  if (spec.kind == A::kSoftplus) kinks.push_back(spec.params[1] / spec.params[0]);
  std::vector<float> candidates;
  for (int i = 0; i <= 4000; ++i) candidates.push_back(-10.0f + 0.005f * static_cast<float>(i));
  for (int i = 0; i <= 2000; ++i) candidates.push_back(-100.0f + 0.1f * static_cast<float>(i));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-12.0f, 12.0f);
  for (int i = 0; i < 4000; ++i) candidates.push_back(uniform(rng));
  std::vector<float> points;
  for (const float x : candidates) {
    const float h = 1e-4f * std::max(1.0f, std::fabs(x));
    const bool near_kink = std::any_of(kinks.begin(), kinks.end(),
                                       [&](float k) { return std::fabs(x - k) < 3.0f * h; });
    if (!near_kink) points.push_back(x);
  }
  return points;
}

// Central difference of the reference forward in long double, step h = 1e-4 max(1, |x|): the
// truncation error h^2 |f'''| / 6 is <= ~1e-9 here, and the rounding 2^-64 |f| / h <= ~1e-15 for
// |f| <= 100. Where f' is far below 1e-9 (exponential tails) the difference checks nothing
// useful; the accuracy test covers those tails against the reference.
constexpr long double kDifferenceAbsoluteError = 1e-9L;
long double finite_difference(const ActivationSpec& spec, float x) {
  const long double h = 1e-4L * std::max(1.0L, std::fabs(static_cast<long double>(x)));
  return (reference_forward(spec, x + h) - reference_forward(spec, x - h)) / (2.0L * h);
}

// Derivatives with an interior zero inside terms of size ~1, where only an absolute accuracy is
// meaningful (see activation_accuracy_test.cpp).
bool crosses_zero_in_sum(Activation a) {
  return a == A::kGELU || a == A::kGELUTanh || a == A::kSiLU || a == A::kMish || a == A::kHardSwish;
}

TEST(ActivationGradient, ReferenceDerivativeMatchesFiniteDifferences) {
  // Relative 1e-6 of |f'|, plus the absolute accuracy of the difference.
  for (const ActivationSpec& spec : test::specs_under_test()) {
    long double worst = 0;
    float worst_x = 0;
    for (const float x : smooth_points(spec)) {
      const long double fd = finite_difference(spec, x);
      const long double d = reference_derivative(spec, x);
      const long double err =
          std::fabs(d - fd) / (1e-6L * std::fabs(fd) + kDifferenceAbsoluteError);
      if (err > worst) worst = err, worst_x = x;
    }
    EXPECT_LE(worst, 1.0L) << describe(spec) << " at x = " << worst_x << ": reference f' = "
                           << static_cast<double>(reference_derivative(spec, worst_x))
                           << ", finite difference "
                           << static_cast<double>(finite_difference(spec, worst_x));
  }
}

TEST(ActivationGradient, FastBackwardMatchesFiniteDifferences) {
  // Relative 1e-6 (float kernels are within ~4 ULP = 4.8e-7), plus the absolute accuracy of the
  // difference, or 1e-6 for the derivatives that cross zero inside a sum of terms of size ~1.
  for (const ActivationSpec& spec : test::specs_under_test()) {
    const std::vector<float> x = smooth_points(spec);
    const std::vector<float> ones(x.size(), 1.0f);
    std::vector<float> dx(x.size());
    activation_backward(spec, x, ones, dx);
    const long double absolute = crosses_zero_in_sum(spec.kind) ? 1e-6L : kDifferenceAbsoluteError;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const long double fd = finite_difference(spec, x[i]);
      ASSERT_LE(std::fabs(dx[i] - fd), 1e-6L * std::fabs(fd) + absolute)
          << describe(spec) << " at x = " << x[i] << ": fast f' = " << dx[i]
          << ", finite difference " << static_cast<double>(fd);
    }
  }
}

TEST(ActivationGradient, BackwardScalesByArbitraryDy) {
  // dx = dy f'(x): within 5 ULP of the exact product (the 4 ULP of f' plus the rounding of the
  // product), with the absolute floor |dy| 2^-22 where f' crosses zero inside a sum.
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform_x(-12.0f, 12.0f);
  std::uniform_real_distribution<float> uniform_exponent(-20.0f, 20.0f);
  const std::size_t n = 20011;
  std::vector<float> x(n), dy(n), dx(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = uniform_x(rng);
    dy[i] = (i % 2 ? -1.0f : 1.0f) * std::exp2(uniform_exponent(rng));
  }
  for (const ActivationSpec& spec : test::specs_under_test()) {
    activation_backward(spec, x, dy, dx);
    for (std::size_t i = 0; i < n; ++i) {
      const long double want = dy[i] * reference_derivative(spec, x[i]);
      const double floor = crosses_zero_in_sum(spec.kind) ? std::fabs(dy[i]) * 0x1p-22 : 0.0;
      ASSERT_LE(test::ulp_error(dx[i], want, floor), 5.0)
          << describe(spec) << " at x = " << x[i] << ", dy = " << dy[i] << ": dx = " << dx[i]
          << ", want " << static_cast<double>(want);
    }
  }
}

// |d f'/dy| for the from-output derivatives g(y): ELU y + alpha, SELU y + scale alpha, CELU
// y / alpha + 1, sigmoid y (1 - y), tanh 1 - y^2; 0 for the piecewise-constant ones.
double from_output_lipschitz(const ActivationSpec& spec) {
  switch (spec.kind) {
    case A::kELU:
    case A::kSELU:
    case A::kSigmoid:
      return 1.0;
    case A::kCELU:
      return 1.0 / spec.params[0];
    case A::kTanh:
      return 2.0;
    default:
      return 0.0;
  }
}

TEST(ActivationGradient, BackwardFromOutputAgreesWithBackwardFromInput) {
  // With y = forward(x) (within 4 ULP of f(x)), g(y) may differ from f'(x) by L |y - f(x)|
  // <= L 4 ulp(y), plus the 4 ULP of each kernel and one rounding of a float constant (L 2^-23:
  // SELU's scale * alpha).
  std::vector<float> x;
  for (int i = 0; i <= 40000; ++i) x.push_back(-20.0f + 0.001f * static_cast<float>(i));
  for (const float v : {-1e4f, -100.0f, -1e-30f, -0.0f, 0.0f, 1e-30f, 100.0f, 1e4f}) x.push_back(v);
  const std::vector<float> ones(x.size(), 1.0f);
  std::vector<float> y(x.size()), from_input(x.size()), from_output(x.size());
  for (const ActivationSpec& spec : test::specs_under_test()) {
    if (!activation_info(spec.kind).backward_from_output) continue;
    activation_forward(spec, x, y);
    activation_backward(spec, x, ones, from_input);
    activation_backward_from_output(spec, y, ones, from_output);
    const double lipschitz = from_output_lipschitz(spec);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double tolerance = 8.0 * test::float_ulp(from_input[i]) +
                               lipschitz * (4.0 * test::float_ulp(y[i]) + 0x1p-23);
      ASSERT_LE(std::fabs(from_output[i] - from_input[i]), tolerance)
          << describe(spec) << " at x = " << x[i] << ", y = " << y[i];
    }
  }
}

TEST(ActivationGradient, ReferenceFromOutputAgreesWithReferenceFromInput) {
  // In long double on [-20, 20], where y = f(x) keeps >= 1e-9 relative accuracy in 1 - y, y + 1.
  for (const ActivationSpec& spec : test::specs_under_test()) {
    if (!activation_info(spec.kind).backward_from_output) continue;
    for (int i = 0; i <= 4000; ++i) {
      const long double x = -20.0L + 0.01L * i;
      const long double from_input = reference_derivative(spec, x);
      const long double from_output =
          reference_derivative_from_output(spec, reference_forward(spec, x));
      ASSERT_LE(std::fabs(from_output - from_input), 1e-9L * std::fabs(from_input) + 1e-18L)
          << describe(spec) << " at x = " << static_cast<double>(x);
    }
  }
}

TEST(ActivationGradient, FromOutputWithoutTableSupportThrows) {
  const std::vector<float> y(5, 0.5f), dy(5, 1.0f);
  std::vector<float> dx(5);
  for (const ActivationInfo& info : activation_table()) {
    const ActivationSpec spec = default_spec(info.id);
    if (info.backward_from_output) {
      EXPECT_NO_THROW(activation_backward_from_output(spec, y, dy, dx)) << info.name;
      EXPECT_NO_THROW((void)reference_derivative_from_output(spec, 0.5L)) << info.name;
    } else {
      EXPECT_THROW(activation_backward_from_output(spec, y, dy, dx), std::invalid_argument)
          << info.name;
      EXPECT_THROW((void)reference_derivative_from_output(spec, 0.5L), std::invalid_argument)
          << info.name;
    }
  }
}

TEST(ActivationGradient, MismatchedSpanSizesThrow) {
  const std::vector<float> four(4, 1.0f), five(5, 1.0f);
  std::vector<float> out4(4), out5(5);
  for (const ActivationSpec& spec : {default_spec(A::kReLU), default_spec(A::kGELU)}) {
    EXPECT_THROW(activation_backward(spec, four, five, out4), std::invalid_argument);
    EXPECT_THROW(activation_backward(spec, four, four, out5), std::invalid_argument);
    EXPECT_THROW(activation_backward(spec, five, four, out4), std::invalid_argument);
  }
  const ActivationSpec tanh = default_spec(A::kTanh);
  EXPECT_THROW(activation_backward_from_output(tanh, four, five, out4), std::invalid_argument);
  EXPECT_THROW(activation_backward_from_output(tanh, four, four, out5), std::invalid_argument);
}

}  // namespace
}  // namespace relulab
