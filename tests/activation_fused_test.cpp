// The fused kernels: bias + activation on rows and on NCHW planes, per-channel PReLU with its
// slope gradient, and ReLU with a packed 1-bit mask.
#include <algorithm>
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
#include "relulab/threads.hpp"
#include "simd_targets.hpp"

namespace relulab {
namespace {

using A = Activation;

std::vector<float> uniform_values(std::size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(lo, hi);
  std::vector<float> v(n);
  for (float& e : v) e = uniform(rng);
  return v;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs body() with 1 and with 2 threads and checks that it returns the same bits.
template <class Body>
void expect_thread_independent(const Body& body, const std::string& what) {
  const int saved = thread_count();
  set_thread_count(1);
  const auto one = body();
  set_thread_count(2);
  const auto two = body();
  set_thread_count(saved);
  EXPECT_TRUE(one == two) << what << ": 1 and 2 threads differ";
}

// The fused result must equal the unfused one: f applied to the float sum x + bias.
TEST(FusedBias, RowsEqualForwardOfTheSum) {
  test::for_each_simd_target([&] {
    struct Shape {
      std::size_t rows, cols;
    };
    for (const Shape s : {Shape{1, 1}, Shape{3, 17}, Shape{5, 37}, Shape{4096, 33}}) {
      const std::size_t n = s.rows * s.cols;
      const std::vector<float> x = uniform_values(n, -6.0f, 6.0f, 1);
      const std::vector<float> bias = uniform_values(s.cols, -2.0f, 2.0f, 2);
      std::vector<float> sum(n), want(n), got(n);
      for (std::size_t i = 0; i < n; ++i) sum[i] = x[i] + bias[i % s.cols];
      for (const ActivationSpec& spec : test::specs_under_test()) {
        const std::string where =
            describe(spec) + " [" + std::to_string(s.rows) + ", " + std::to_string(s.cols) + "]";
        activation_forward(spec, sum, want);
        bias_activation_forward_rows(spec, s.rows, s.cols, x, bias, got);
        EXPECT_TRUE(same_bits(got, want)) << where;
        std::vector<float> in_place = x;
        bias_activation_forward_rows(spec, s.rows, s.cols, in_place, bias, in_place);
        EXPECT_TRUE(same_bits(in_place, want)) << where << " in place";
      }
    }
  });
}

TEST(FusedBias, NchwEqualsForwardOfTheSum) {
  test::for_each_simd_target([&] {
    struct Shape {
      std::size_t n, c, hw;
    };
    for (const Shape s : {Shape{1, 1, 1}, Shape{2, 3, 7}, Shape{3, 5, 17}, Shape{8, 16, 1031}}) {
      const std::size_t total = s.n * s.c * s.hw;
      const std::vector<float> x = uniform_values(total, -6.0f, 6.0f, 3);
      const std::vector<float> bias = uniform_values(s.c, -2.0f, 2.0f, 4);
      std::vector<float> sum(total), want(total), got(total);
      for (std::size_t i = 0; i < total; ++i) sum[i] = x[i] + bias[(i / s.hw) % s.c];
      for (const ActivationSpec& spec : test::specs_under_test()) {
        const std::string where = describe(spec) + " [" + std::to_string(s.n) + ", " +
                                  std::to_string(s.c) + ", " + std::to_string(s.hw) + "]";
        activation_forward(spec, sum, want);
        bias_activation_forward_nchw(spec, s.n, s.c, s.hw, x, bias, got);
        EXPECT_TRUE(same_bits(got, want)) << where;
        std::vector<float> in_place = x;
        bias_activation_forward_nchw(spec, s.n, s.c, s.hw, in_place, bias, in_place);
        EXPECT_TRUE(same_bits(in_place, want)) << where << " in place";
      }
    }
  });
}

// NaN in gives NaN out also when the NaN comes from the bias or from inf + -inf: the clamps of the
// saturating activations (tanh, sigmoid, hardswish, ...) must not turn the sum's NaN into a limit.
TEST(FusedBias, NaNFromTheSumGivesNaN) {
  test::for_each_simd_target([&] {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::size_t cols = 19;  // a vector body and a tail on every target
    std::vector<float> x(2 * cols, 1.0f), bias(cols, 0.5f);
    x[3] = inf, bias[3] = -inf;  // row 0, column 3: inf + -inf
    bias[11] = nan;              // column 11 of both rows
    for (const ActivationSpec& spec : test::specs_under_test()) {
      std::vector<float> rows(x.size()), planes(x.size());
      bias_activation_forward_rows(spec, 2, cols, x, bias, rows);
      // The same as NCHW with hw = 1: n = 2, c = cols.
      bias_activation_forward_nchw(spec, 2, cols, 1, x, bias, planes);
      for (std::size_t i = 0; i < x.size(); ++i) {
        const bool nan_sum = std::isnan(x[i] + bias[i % cols]);
        EXPECT_EQ(std::isnan(rows[i]), nan_sum) << describe(spec) << " rows at " << i;
        EXPECT_EQ(std::isnan(planes[i]), nan_sum) << describe(spec) << " nchw at " << i;
      }
      // One NaN channel of a plane of 19: every element of it.
      std::vector<float> plane_x(19, 2.0f), two_bias = {0.0f, nan}, out(2 * 19);
      plane_x.resize(2 * 19, 2.0f);
      bias_activation_forward_nchw(spec, 1, 2, 19, plane_x, two_bias, out);
      for (std::size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(std::isnan(out[i]), i >= 19) << describe(spec) << " plane at " << i;
      }
    }
  });
}

TEST(FusedBias, ThreadCountDoesNotChangeResults) {
  test::for_each_simd_target([&] {
    const ActivationSpec gelu = default_spec(A::kGELU);
    const std::vector<float> x = uniform_values(4096 * 33, -6.0f, 6.0f, 5);
    const std::vector<float> bias = uniform_values(33, -2.0f, 2.0f, 6);
    expect_thread_independent(
        [&] {
          std::vector<float> y(x.size());
          bias_activation_forward_rows(gelu, 4096, 33, x, bias, y);
          return y;
        },
        "rows");
    expect_thread_independent(
        [&] {
          std::vector<float> y(x.size());
          bias_activation_forward_nchw(gelu, 64, 33, 64, x, bias, y);
          return y;
        },
        "nchw");
  });
}

TEST(FusedBias, MismatchedSizesThrow) {
  const ActivationSpec relu = default_spec(A::kReLU);
  const std::vector<float> x(12, 1.0f), bias3(3), bias4(4);
  std::vector<float> y(12), y11(11);
  EXPECT_THROW(bias_activation_forward_rows(relu, 4, 3, x, bias4, y), std::invalid_argument);
  EXPECT_THROW(bias_activation_forward_rows(relu, 5, 3, x, bias3, y), std::invalid_argument);
  EXPECT_THROW(bias_activation_forward_rows(relu, 4, 3, x, bias3, y11), std::invalid_argument);
  EXPECT_THROW(bias_activation_forward_nchw(relu, 2, 3, 2, x, bias4, y), std::invalid_argument);
  EXPECT_THROW(bias_activation_forward_nchw(relu, 2, 3, 3, x, bias3, y), std::invalid_argument);
  EXPECT_THROW(bias_activation_forward_nchw(relu, 2, 3, 2, x, bias3, y11), std::invalid_argument);
}

struct PreluShape {
  std::size_t outer, channels, inner;
};
constexpr PreluShape kPreluShapes[] = {{1, 1, 1}, {2, 3, 7}, {3, 4, 17}, {2, 8, 8209}};

// Slopes of every sign, including 0 and > 1 (PyTorch does not constrain them).
std::vector<float> prelu_slopes(std::size_t channels) {
  const float choices[] = {0.25f, -0.5f, 0.0f, 1.5f, 0.01f};
  std::vector<float> slope(channels);
  for (std::size_t c = 0; c < channels; ++c) slope[c] = choices[c % std::size(choices)];
  return slope;
}

TEST(PReluPerChannel, ForwardAndBackwardMatchTheDefinition) {
  test::for_each_simd_target([&] {
    for (const PreluShape s : kPreluShapes) {
      const std::size_t n = s.outer * s.channels * s.inner;
      std::vector<float> x = uniform_values(n, -4.0f, 4.0f, 7);
      x[0] = 0.0f;  // x = 0 takes the slope branch and adds nothing to dslope
      const std::vector<float> dy = uniform_values(n, -1.0f, 1.0f, 8);
      const std::vector<float> slope = prelu_slopes(s.channels);
      std::vector<float> y(n), dx(n), dslope(s.channels, 123.0f);  // dslope must be overwritten
      prelu_forward(s.outer, s.channels, s.inner, x, slope, y);
      prelu_backward(s.outer, s.channels, s.inner, x, slope, dy, dx, dslope);
      std::vector<long double> want_dslope(s.channels), magnitude(s.channels);
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t c = (i / s.inner) % s.channels;
        const bool positive = x[i] > 0;
        ASSERT_EQ(y[i], positive ? x[i] : slope[c] * x[i]) << "at " << i;
        ASSERT_EQ(dx[i], positive ? dy[i] : slope[c] * dy[i]) << "at " << i;
        const long double term = positive ? 0.0L : static_cast<long double>(dy[i]) * x[i];
        want_dslope[c] += term;
        magnitude[c] += std::fabs(term);
      }
      // Float partial sums over a plane of `inner` terms: error <= ~inner 2^-24 sum |terms| in the
      // worst case, far less with per-lane sums; 1e-5 of sum |terms| leaves room for both.
      for (std::size_t c = 0; c < s.channels; ++c) {
        EXPECT_NEAR(dslope[c], static_cast<double>(want_dslope[c]),
                    1e-5 * static_cast<double>(magnitude[c]) + 1e-30)
            << "channel " << c << " of [" << s.outer << ", " << s.channels << ", " << s.inner
            << "]";
      }
    }
  });
}

TEST(PReluPerChannel, SharedSlopeEqualsActivationForward) {
  test::for_each_simd_target([&] {
    const std::vector<float> x = uniform_values(3 * 5 * 19, -4.0f, 4.0f, 9);
    const std::vector<float> slope(5, 0.1f);
    std::vector<float> per_channel(x.size()), shared(x.size());
    prelu_forward(3, 5, 19, x, slope, per_channel);
    activation_forward({A::kPReLU, {0.1f, 0.0f}}, x, shared);
    EXPECT_TRUE(same_bits(per_channel, shared));
  });
}

TEST(PReluPerChannel, AllPositiveChannelHasZeroSlopeGradient) {
  test::for_each_simd_target([&] {
    const std::vector<float> x = uniform_values(2 * 3 * 11, 0.5f, 4.0f, 10);
    const std::vector<float> dy = uniform_values(x.size(), -1.0f, 1.0f, 11);
    const std::vector<float> slope = {0.25f, 0.25f, 0.25f};
    std::vector<float> dx(x.size()), dslope(3, -7.0f);
    prelu_backward(2, 3, 11, x, slope, dy, dx, dslope);
    for (const float g : dslope) EXPECT_EQ(g, 0.0f);
    EXPECT_TRUE(same_bits(dx, dy));
  });
}

TEST(PReluPerChannel, ThreadCountDoesNotChangeResults) {
  test::for_each_simd_target([&] {
    const PreluShape s = kPreluShapes[3];
    const std::size_t n = s.outer * s.channels * s.inner;
    const std::vector<float> x = uniform_values(n, -4.0f, 4.0f, 12);
    const std::vector<float> dy = uniform_values(n, -1.0f, 1.0f, 13);
    const std::vector<float> slope = prelu_slopes(s.channels);
    expect_thread_independent(
        [&] {
          std::vector<float> y(n), dx(n), dslope(s.channels);
          prelu_forward(s.outer, s.channels, s.inner, x, slope, y);
          prelu_backward(s.outer, s.channels, s.inner, x, slope, dy, dx, dslope);
          y.insert(y.end(), dx.begin(), dx.end());
          y.insert(y.end(), dslope.begin(), dslope.end());
          return y;
        },
        "prelu");
  });
}

TEST(PReluPerChannel, MismatchedSizesThrow) {
  const std::vector<float> x(12, 1.0f), slope3(3), slope4(4);
  std::vector<float> y(12), y11(11), ds3(3), ds4(4);
  EXPECT_THROW(prelu_forward(2, 3, 2, x, slope4, y), std::invalid_argument);
  EXPECT_THROW(prelu_forward(2, 3, 3, x, slope3, y), std::invalid_argument);
  EXPECT_THROW(prelu_forward(2, 3, 2, x, slope3, y11), std::invalid_argument);
  EXPECT_THROW(prelu_backward(2, 3, 2, x, slope3, x, y, ds4), std::invalid_argument);
  EXPECT_THROW(prelu_backward(2, 3, 2, x, slope3, y11, y, ds3), std::invalid_argument);
  EXPECT_THROW(prelu_backward(2, 3, 2, x, slope3, x, y11, ds3), std::invalid_argument);
}

// Inputs with exact zeros of both signs and denormals, so that "> 0" is tested at its edge.
std::vector<float> mask_inputs(std::size_t n) {
  std::vector<float> x = uniform_values(n, -1.0f, 1.0f, static_cast<unsigned>(n));
  const float edges[] = {0.0f, -0.0f, 1e-45f, -1e-45f};
  for (std::size_t i = 0; i < n; i += 5) x[i] = edges[(i / 5) % 4];
  return x;
}

TEST(ReluMask, ForwardWritesReluAndTheDocumentedBitLayout) {
  test::for_each_simd_target([&] {
    for (const std::size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129, 1000003}) {
      const std::vector<float> x = mask_inputs(n);
      std::vector<float> y(n);
      std::vector<std::uint8_t> mask(relu_mask_bytes(n), 0xa5);  // stale bits must be replaced
      relu_forward_mask(x, y, mask);
      for (std::size_t i = 0; i < n; ++i) {
        const bool positive = x[i] > 0;
        ASSERT_EQ((mask[i / 8] >> (i % 8)) & 1u, positive ? 1u : 0u) << "n = " << n << " at " << i;
        ASSERT_EQ(y[i], positive ? x[i] : 0.0f) << "n = " << n << " at " << i;
        ASSERT_FALSE(std::signbit(y[i])) << "n = " << n << " at " << i;
      }
    }
  });
}

TEST(ReluMask, BackwardPassesDyWhereTheBitIsSet) {
  test::for_each_simd_target([&] {
    for (const std::size_t n : {1, 7, 8, 9, 17, 63, 64, 65, 129, 1000003}) {
      std::vector<std::uint8_t> mask(relu_mask_bytes(n));
      std::mt19937 rng(static_cast<unsigned>(n));
      for (std::uint8_t& b : mask) b = static_cast<std::uint8_t>(rng());
      const std::vector<float> dy = uniform_values(n, -2.0f, 2.0f, 14);
      std::vector<float> dx(n), in_place = dy;
      relu_backward_mask(mask, dy, dx);
      relu_backward_mask(mask, in_place, in_place);
      for (std::size_t i = 0; i < n; ++i) {
        const bool bit = (mask[i / 8] >> (i % 8)) & 1u;
        ASSERT_EQ(dx[i], bit ? dy[i] : 0.0f) << "n = " << n << " at " << i;
      }
      EXPECT_TRUE(same_bits(in_place, dx)) << "n = " << n << " in place";
    }
  });
}

// The mask loops walk up or down, whichever keeps the loads further (mod 4096) from the stores
// before them (kernels.cpp: 4K aliasing); every placement gives the same y, mask and dx.
TEST(ReluMask, EveryPlacementOfTheBuffersGivesTheSameResult) {
  constexpr std::size_t kPageFloats = 4096 / sizeof(float);
  constexpr std::size_t kN = 2 * kPageFloats + 13;
  constexpr std::size_t kRegion = 4 * kPageFloats;
  const std::vector<float> x = mask_inputs(kN);
  const std::vector<float> dy = uniform_values(kN, -2.0f, 2.0f, 16);
  std::vector<float> pool(2 * kRegion + kPageFloats);
  float* const base = pool.data() + (kPageFloats - reinterpret_cast<std::uintptr_t>(pool.data()) %
                                                       4096 / sizeof(float));
  test::for_each_simd_target([&] {
    for (const std::size_t at_out : {0, 16, 100, 512, 1008}) {
      const std::span<float> in(base, kN), out(base + kRegion + at_out, kN);
      std::vector<std::uint8_t> mask(relu_mask_bytes(kN), 0xa5);
      std::copy(x.begin(), x.end(), in.begin());
      relu_forward_mask(in, out, mask);
      for (std::size_t i = 0; i < kN; ++i) {
        const bool positive = x[i] > 0;
        ASSERT_EQ((mask[i / 8] >> (i % 8)) & 1u, positive ? 1u : 0u) << at_out << " at " << i;
        ASSERT_EQ(out[i], positive ? x[i] : 0.0f) << "out at +" << at_out << " floats, " << i;
      }
      std::copy(dy.begin(), dy.end(), in.begin());
      relu_backward_mask(mask, in, out);
      for (std::size_t i = 0; i < kN; ++i) {
        ASSERT_EQ(out[i], x[i] > 0 ? dy[i] : 0.0f) << "dx at +" << at_out << " floats, " << i;
      }
    }
  });
}

TEST(ReluMask, AgreesWithTheUnmaskedReluKernels) {
  test::for_each_simd_target([&] {
    const std::size_t n = 1001;
    const std::vector<float> x = mask_inputs(n);
    const std::vector<float> dy = uniform_values(n, -2.0f, 2.0f, 15);
    std::vector<float> y(n), y_plain(n), dx(n), dx_plain(n);
    std::vector<std::uint8_t> mask(relu_mask_bytes(n));
    const ActivationSpec relu = default_spec(A::kReLU);
    relu_forward_mask(x, y, mask);
    relu_backward_mask(mask, dy, dx);
    activation_forward(relu, x, y_plain);
    activation_backward(relu, x, dy, dx_plain);
    EXPECT_TRUE(same_bits(y, y_plain));
    EXPECT_TRUE(same_bits(dx, dx_plain));
  });
}

TEST(ReluMask, NaNPropagatesForward) {
  test::for_each_simd_target([&] {
    std::vector<float> x = mask_inputs(19);
    x[3] = x[16] = std::nanf("");
    std::vector<float> y(x.size());
    std::vector<std::uint8_t> mask(relu_mask_bytes(x.size()));
    relu_forward_mask(x, y, mask);
    EXPECT_TRUE(std::isnan(y[3]));
    EXPECT_TRUE(std::isnan(y[16]));
  });
}

TEST(ReluMask, ThreadCountDoesNotChangeResults) {
  test::for_each_simd_target([&] {
    const std::size_t n = 3 * kParallelThreshold + 77;  // chunks that do not end on a byte
    const std::vector<float> x = mask_inputs(n);
    expect_thread_independent(
        [&] {
          std::vector<float> y(n);
          std::vector<std::uint8_t> mask(relu_mask_bytes(n));
          relu_forward_mask(x, y, mask);
          return mask;
        },
        "relu_forward_mask");
  });
}

TEST(ReluMask, MismatchedSizesThrow) {
  const std::vector<float> x(17, 1.0f);
  std::vector<float> y(17), y16(16);
  std::vector<std::uint8_t> mask(3), short_mask(2);
  EXPECT_THROW(relu_forward_mask(x, y16, mask), std::invalid_argument);
  EXPECT_THROW(relu_forward_mask(x, y, short_mask), std::invalid_argument);
  EXPECT_THROW(relu_backward_mask(short_mask, x, y), std::invalid_argument);
  EXPECT_THROW(relu_backward_mask(mask, x, y16), std::invalid_argument);
}

}  // namespace
}  // namespace relulab
