// Edge values and calling conventions of the elementwise kernels (NaN and signed zeros:
// activation_nan_zero_test.cpp): finite results for huge inputs, the limits at +-inf, in-place
// calls, tails and thread splits.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "activation_specs.hpp"
#include "relulab/activation.hpp"
#include "relulab/activation_reference.hpp"
#include "relulab/threads.hpp"
#include "simd_targets.hpp"
#include "ulp.hpp"

namespace relulab {
namespace {

using A = Activation;
constexpr float kInf = std::numeric_limits<float>::infinity();

float forward1(const ActivationSpec& spec, float x) {
  float y = 0;
  activation_forward(spec, std::span(&x, 1), std::span(&y, 1));
  return y;
}

float backward1(const ActivationSpec& spec, float x) {
  const float dy = 1.0f;
  float dx = 0;
  activation_backward(spec, std::span(&x, 1), std::span(&dy, 1), std::span(&dx, 1));
  return dx;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Random values in [-8, 8] with the specials mixed in at fixed positions.
std::vector<float> mixed_inputs(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-8.0f, 8.0f);
  std::vector<float> x(n);
  for (float& v : x) v = uniform(rng);
  const float specials[] = {0.0f, -0.0f, FLT_TRUE_MIN, -FLT_MIN, 3.0f, -3.0f, 6.0f, 1e4f, -1e4f};
  for (std::size_t i = 0; i < n; i += 13) x[i] = specials[(i / 13) % std::size(specials)];
  return x;
}

TEST(ActivationEdge, FiniteWhereTheFunctionIsFinite) {
  test::for_each_simd_target([&] {
    // Every 2^15-th float bit pattern over the finite range, both signs: no overflow inside exp or
    // a product may leak out as inf or NaN where the result is finite.
    std::vector<float> x;
    for (std::uint32_t b = 0; b <= 0x7f7fffffu; b += 1u << 15) {
      float v;
      std::memcpy(&v, &b, sizeof v);
      x.push_back(v);
      x.push_back(-v);
    }
    x.push_back(FLT_MAX);
    x.push_back(-FLT_MAX);
    const std::vector<float> dy(x.size(), 1.0f);
    std::vector<float> y(x.size()), dx(x.size());
    for (const ActivationSpec& spec : test::specs_under_test()) {
      activation_forward(spec, x, y);
      activation_backward(spec, x, dy, dx);
      for (std::size_t i = 0; i < x.size(); ++i) {
        const float want_y = static_cast<float>(reference_forward(spec, x[i]));
        if (std::isfinite(want_y)) {
          ASSERT_TRUE(std::isfinite(y[i])) << describe(spec) << " f(" << x[i] << ") = " << y[i];
        } else {
          ASSERT_EQ(y[i], want_y) << describe(spec) << " f(" << x[i] << ")";
        }
        ASSERT_TRUE(std::isfinite(dx[i])) << describe(spec) << " f'(" << x[i] << ") = " << dx[i];
      }
    }
  });
}

TEST(ActivationEdge, HugeInputsGiveTheLimitingValues) {
  test::for_each_simd_target([&] {
    const ActivationSpec softplus = default_spec(A::kSoftplus);
    EXPECT_EQ(forward1(softplus, 1e4f), 1e4f);
    EXPECT_EQ(backward1(softplus, 1e4f), 1.0f);
    EXPECT_EQ(backward1(softplus, -1e4f), 0.0f);
    const ActivationSpec silu = default_spec(A::kSiLU);
    EXPECT_EQ(forward1(silu, -1e4f), 0.0f);
    EXPECT_EQ(forward1(silu, 1e4f), 1e4f);
    EXPECT_EQ(backward1(default_spec(A::kSigmoid), -1e4f), 0.0f);
    EXPECT_EQ(backward1(default_spec(A::kSigmoid), 1e4f), 0.0f);
    EXPECT_EQ(backward1(default_spec(A::kTanh), -1e4f), 0.0f);
    EXPECT_EQ(backward1(default_spec(A::kELU), -1e4f), 0.0f);
    for (const A gated : {A::kGELU, A::kGELUTanh, A::kSiLU, A::kMish}) {
      const ActivationSpec spec = default_spec(gated);
      EXPECT_EQ(backward1(spec, 1e4f), 1.0f) << describe(spec);
      EXPECT_EQ(backward1(spec, -1e4f), 0.0f) << describe(spec);
      EXPECT_EQ(forward1(spec, 1e4f), 1e4f) << describe(spec);
      EXPECT_EQ(forward1(spec, -1e4f), 0.0f) << describe(spec);
    }
  });
}

// f(+inf), f(-inf), f'(+inf), f'(-inf) as the limits of PyTorch's definitions, written out here
// rather than taken from the reference (which is checked against them too).
struct Limits {
  ActivationSpec spec;
  float f_pos, f_neg, d_pos, d_neg;
};

TEST(ActivationEdge, InfinitiesGiveTheLimits) {
  test::for_each_simd_target([&] {
    const float selu_neg = -1.0507009873554804934f * 1.6732632423543772848f;
    const Limits table[] = {
        {{A::kReLU, {}}, kInf, 0, 1, 0},
        {{A::kLeakyReLU, {0.01f, 0}}, kInf, -kInf, 1, 0.01f},
        {{A::kPReLU, {0.25f, 0}}, kInf, -kInf, 1, 0.25f},
        {{A::kReLU6, {}}, 6, 0, 0, 0},
        {{A::kELU, {0.5f, 0}}, kInf, -0.5f, 1, 0},
        {{A::kSELU, {}}, kInf, selu_neg, 1.0507009873554804934f, 0},
        {{A::kCELU, {2.0f, 0}}, kInf, -2.0f, 1, 0},
        {{A::kGELU, {}}, kInf, 0, 1, 0},
        {{A::kGELUTanh, {}}, kInf, 0, 1, 0},
        {{A::kSiLU, {}}, kInf, 0, 1, 0},
        {{A::kMish, {}}, kInf, 0, 1, 0},
        {{A::kSoftplus, {1.0f, 20.0f}}, kInf, 0, 1, 0},
        {{A::kHardSigmoid, {}}, 1, 0, 0, 0},
        {{A::kHardSwish, {}}, kInf, 0, 1, 0},
        {{A::kSigmoid, {}}, 1, 0, 0, 0},
        {{A::kTanh, {}}, 1, -1, 0, 0},
    };
    for (const Limits& l : table) {
      const std::string name = describe(l.spec);
      EXPECT_EQ(forward1(l.spec, kInf), l.f_pos) << name;
      EXPECT_EQ(forward1(l.spec, -kInf), l.f_neg) << name;
      EXPECT_EQ(backward1(l.spec, kInf), l.d_pos) << name;
      EXPECT_EQ(backward1(l.spec, -kInf), l.d_neg) << name;
      EXPECT_EQ(static_cast<float>(reference_forward(l.spec, INFINITY)), l.f_pos) << name;
      EXPECT_EQ(static_cast<float>(reference_forward(l.spec, -INFINITY)), l.f_neg) << name;
      EXPECT_EQ(static_cast<float>(reference_derivative(l.spec, INFINITY)), l.d_pos) << name;
      EXPECT_EQ(static_cast<float>(reference_derivative(l.spec, -INFINITY)), l.d_neg) << name;
    }
  });
}

// Kernel 0: out = f(in); 1: out = g f'(in); 2: out = g f'(x) from in = f(x).
void run_kernel(int kernel, const ActivationSpec& spec, std::span<const float> in,
                std::span<const float> g, std::span<float> out) {
  if (kernel == 0) activation_forward(spec, in, out);
  if (kernel == 1) activation_backward(spec, in, g, out);
  if (kernel == 2) activation_backward_from_output(spec, in, g, out);
}

// Forward, backward and (where allowed) backward_from_output on n elements: in place gives the
// same bits as out of place; every element is independent of its position (the same inputs one
// element later give the same bits, so vector bodies, tails and thread chunks agree); and a
// sample is within a loose 8 ULP of the reference (the tight bounds are in the accuracy test).
void check_size(const ActivationSpec& spec, std::size_t n) {
  const std::vector<float> x = mixed_inputs(n + 1, static_cast<unsigned>(n));
  std::vector<float> dy = mixed_inputs(n + 1, static_cast<unsigned>(n) + 1);
  const std::span<const float> xs = std::span(x).first(n), dys = std::span(dy).first(n);
  const std::string where = describe(spec) + " n = " + std::to_string(n);
  const bool from_output = activation_info(spec.kind).backward_from_output;
  for (int kernel = 0; kernel < 3; ++kernel) {
    if (kernel == 2 && !from_output) continue;
    // out = kernel(in, dy) on the first n elements, or on elements 1..n when shifted.
    std::vector<float> out(n), shifted(n + 1), in_place(x.begin(), x.end() - 1);
    run_kernel(kernel, spec, xs, dys, out);
    run_kernel(kernel, spec, std::span(x).subspan(1), std::span(dy).subspan(1),
               std::span(shifted).subspan(1));
    if (kernel == 0) {
      activation_forward(spec, in_place, in_place);
    } else {
      in_place.assign(dy.begin(), dy.end() - 1);  // dx aliases dy
      run_kernel(kernel, spec, xs, in_place, in_place);
    }
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(same_bits(in_place[i], out[i])) << where << " kernel " << kernel << " at " << i;
    }
    // Element i of the shifted call saw x[i] at position i - 1.
    for (std::size_t i = 1; i < n; ++i) {
      ASSERT_TRUE(same_bits(shifted[i], out[i])) << where << " kernel " << kernel << " at " << i;
    }
    const std::size_t stride = n > 1000 ? 97 : 1;
    for (std::size_t i = 0; i < n; i += stride) {
      const long double want = kernel == 0   ? reference_forward(spec, x[i])
                               : kernel == 1 ? dy[i] * reference_derivative(spec, x[i])
                                             : dy[i] * reference_derivative_from_output(spec, x[i]);
      const double floor = kernel == 0 ? 0.0 : std::fabs(dy[i]) * 0x1p-21;
      ASSERT_LE(test::ulp_error(out[i], want, floor), 8.0)
          << where << " kernel " << kernel << " at " << i << ": x = " << x[i] << ", got " << out[i]
          << ", want " << static_cast<double>(want);
    }
  }
}

TEST(ActivationEdge, InPlaceAndTailsForEverySize) {
  // The short sizes on every target (tails of 16, 8, 4 or 1 lanes); the long one, split across
  // threads, on the target that dispatch picks.
  test::for_each_simd_target([&] {
    for (const ActivationSpec& spec : test::specs_under_test()) {
      for (const std::size_t n : {0, 1, 7, 17}) check_size(spec, n);
    }
  });
  for (const ActivationSpec& spec : test::specs_under_test()) check_size(spec, 1000003);
}

// The loops walk up or down, whichever keeps the loads further (mod 4096) from the stores before
// them (kernels.cpp: 4K aliasing). Whatever the placement of x, dy and the output against each
// other, every element gets the bits that a call on that element alone gives.
TEST(ActivationEdge, EveryPlacementOfTheBuffersGivesTheSameBits) {
  constexpr std::size_t kPageFloats = 4096 / sizeof(float);
  constexpr std::size_t kN = 2 * kPageFloats + 13;  // several pages and a tail on every target
  // Offsets in floats within a page: 0, just above (64 B, 400 B), far (2 KiB), just below.
  constexpr std::size_t kOffsets[] = {0, 16, 100, 512, kPageFloats - 16};
  constexpr std::size_t kRegion = 4 * kPageFloats;
  const std::vector<float> x = mixed_inputs(kN, 5), dy = mixed_inputs(kN, 6);
  std::vector<float> pool(3 * kRegion + kPageFloats);
  float* const base = pool.data() + (kPageFloats - reinterpret_cast<std::uintptr_t>(pool.data()) %
                                                       4096 / sizeof(float));
  test::for_each_simd_target([&] {
    for (const ActivationSpec& spec : test::specs_under_test()) {
      const bool from_output = activation_info(spec.kind).backward_from_output;
      for (int kernel = 0; kernel < 3; ++kernel) {
        if (kernel == 2 && !from_output) continue;
        std::vector<float> want(kN);
        for (std::size_t i = 0; i < kN; ++i) {
          run_kernel(kernel, spec, std::span(x).subspan(i, 1), std::span(dy).subspan(i, 1),
                     std::span(want).subspan(i, 1));
        }
        for (const std::size_t at_x : kOffsets) {
          for (const std::size_t at_dy : kernel == 0 ? std::span(kOffsets).first(1) : kOffsets) {
            for (const std::size_t at_out : kOffsets) {
              const std::span<float> in(base + at_x, kN), g(base + kRegion + at_dy, kN),
                  out(base + 2 * kRegion + at_out, kN);
              std::copy(x.begin(), x.end(), in.begin());
              std::copy(dy.begin(), dy.end(), g.begin());
              run_kernel(kernel, spec, in, g, out);
              for (std::size_t i = 0; i < kN; ++i) {
                ASSERT_TRUE(same_bits(out[i], want[i]))
                    << describe(spec) << " kernel " << kernel << " at " << i << ", offsets x "
                    << at_x << ", dy " << at_dy << ", out " << at_out << " floats";
              }
            }
          }
        }
      }
    }
  });
}

TEST(ActivationEdge, OneAndTwoThreadsGiveIdenticalResults) {
  test::for_each_simd_target([&] {
    const std::size_t n = 3 * kParallelThreshold + 13;
    const std::vector<float> x = mixed_inputs(n, 3), dy = mixed_inputs(n, 4);
    const int saved = thread_count();
    for (const ActivationSpec& spec : test::specs_under_test()) {
      std::vector<float> results[2][3];
      for (const int threads : {1, 2}) {
        set_thread_count(threads);
        ASSERT_EQ(thread_count(), threads);
        auto& r = results[threads - 1];
        for (auto& v : r) v.resize(n);
        activation_forward(spec, x, r[0]);
        activation_backward(spec, x, dy, r[1]);
        if (activation_info(spec.kind).backward_from_output) {
          activation_backward_from_output(spec, x, dy, r[2]);
        }
      }
      for (int k = 0; k < 3; ++k) {
        EXPECT_EQ(0, std::memcmp(results[0][k].data(), results[1][k].data(), n * sizeof(float)))
            << describe(spec) << " kernel " << k;
      }
    }
    set_thread_count(saved);
  });
}

TEST(ActivationEdge, MismatchedSpanSizesThrow) {
  const std::vector<float> four(4, 1.0f);
  std::vector<float> five(5);
  EXPECT_THROW(activation_forward(default_spec(A::kReLU), four, five), std::invalid_argument);
  EXPECT_THROW(activation_forward(default_spec(A::kMish), four, std::span(five).first(3)),
               std::invalid_argument);
}

}  // namespace
}  // namespace relulab
