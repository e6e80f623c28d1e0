// The convolutional layers: Conv2d against a naive 7-loop convolution (forward and backward) and
// finite differences, max/average/global pooling against naive loops, ResidualBlock by finite
// differences in training mode, what each layer keeps for backward, determinism, and every error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "layer_gradcheck.hpp"
#include "relulab/nn/conv2d.hpp"
#include "relulab/nn/pooling.hpp"
#include "relulab/nn/residual_block.hpp"
#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

using relulab::testing::expect_gradients_match;
using relulab::testing::expect_invalid;
using relulab::testing::GradcheckOptions;
using relulab::testing::random_tensor;
using relulab::testing::randomize_parameters;

const Pass kTrain{Mode::kTrain, 3};
const Pass kEval{Mode::kEval, 3};

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.bytes()) == 0;
}

// ---- Conv2d ----

struct ConvCase {
  std::int64_t n, in, out;
  int k, s, p;
  std::int64_t h, w;
};

std::string name(const ConvCase& c) {
  return "n" + std::to_string(c.n) + " " + std::to_string(c.in) + "->" + std::to_string(c.out) +
         " k" + std::to_string(c.k) + " s" + std::to_string(c.s) + " p" + std::to_string(c.p) +
         " " + std::to_string(c.h) + "x" + std::to_string(c.w);
}

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases{
      {2, 3, 4, 3, 1, 1, 7, 5},     // the ResNet 3x3
      {3, 2, 5, 3, 2, 0, 9, 6},     // stride 2, no padding, floor on both sides
      {2, 1, 3, 5, 1, 2, 8, 11},    // the CNN's 5x5 with padding 2
      {2, 4, 6, 1, 1, 0, 5, 7},     // 1x1, stride 1: no im2col
      {2, 4, 3, 1, 2, 0, 7, 6},     // 1x1, stride 2: the projection shortcut
      {1, 2, 2, 4, 3, 1, 10, 7},    // even kernel, stride 3
      {2, 2, 3, 3, 1, 3, 4, 4},     // padding 3 > k/2: whole rows and columns of padding
      {5, 3, 2, 2, 2, 1, 6, 9},     // batch 5: an uneven split over threads
      {2, 2, 2, 3, 1, 1, 1, 3},     // one-row image: the kernel covers the padded height exactly
      {4, 8, 16, 3, 1, 1, 16, 15},  // > 1M multiply-adds: the batch is split over threads
  };
  return cases;
}

// z[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] * x[n, c, i*s + u - p, j*s + v - p] (0
// outside x), in double: 7 loops.
std::vector<double> naive_conv(const ConvCase& c, const Tensor& x, const Tensor& w,
                               const Tensor* b) {
  const std::int64_t oh = (c.h + 2 * c.p - c.k) / c.s + 1;
  const std::int64_t ow = (c.w + 2 * c.p - c.k) / c.s + 1;
  std::vector<double> z(static_cast<std::size_t>(c.n * c.out * oh * ow));
  for (std::int64_t n = 0; n < c.n; ++n) {
    for (std::int64_t o = 0; o < c.out; ++o) {
      for (std::int64_t i = 0; i < oh; ++i) {
        for (std::int64_t j = 0; j < ow; ++j) {
          double sum = b ? (*b)[static_cast<std::size_t>(o)] : 0.0;
          for (std::int64_t ch = 0; ch < c.in; ++ch) {
            for (std::int64_t u = 0; u < c.k; ++u) {
              for (std::int64_t v = 0; v < c.k; ++v) {
                const std::int64_t y = i * c.s + u - c.p;
                const std::int64_t xx = j * c.s + v - c.p;
                if (y < 0 || y >= c.h || xx < 0 || xx >= c.w) continue;
                sum += static_cast<double>(
                           w[static_cast<std::size_t>(((o * c.in + ch) * c.k + u) * c.k + v)]) *
                       x[static_cast<std::size_t>(((n * c.in + ch) * c.h + y) * c.w + xx)];
              }
            }
          }
          z[static_cast<std::size_t>(((n * c.out + o) * oh + i) * ow + j)] = sum;
        }
      }
    }
  }
  return z;
}

// The adjoint of naive_conv for dz: dx, dW, db in double, by the same 7 loops.
struct NaiveGrads {
  std::vector<double> dx, dw, db;
};
NaiveGrads naive_conv_backward(const ConvCase& c, const Tensor& x, const Tensor& w,
                               const Tensor& dz) {
  const std::int64_t oh = (c.h + 2 * c.p - c.k) / c.s + 1;
  const std::int64_t ow = (c.w + 2 * c.p - c.k) / c.s + 1;
  NaiveGrads g{std::vector<double>(x.size()), std::vector<double>(w.size()),
               std::vector<double>(static_cast<std::size_t>(c.out))};
  for (std::int64_t n = 0; n < c.n; ++n) {
    for (std::int64_t o = 0; o < c.out; ++o) {
      for (std::int64_t i = 0; i < oh; ++i) {
        for (std::int64_t j = 0; j < ow; ++j) {
          const double d = dz[static_cast<std::size_t>(((n * c.out + o) * oh + i) * ow + j)];
          g.db[static_cast<std::size_t>(o)] += d;
          for (std::int64_t ch = 0; ch < c.in; ++ch) {
            for (std::int64_t u = 0; u < c.k; ++u) {
              for (std::int64_t v = 0; v < c.k; ++v) {
                const std::int64_t y = i * c.s + u - c.p;
                const std::int64_t xx = j * c.s + v - c.p;
                if (y < 0 || y >= c.h || xx < 0 || xx >= c.w) continue;
                const auto xi = static_cast<std::size_t>(((n * c.in + ch) * c.h + y) * c.w + xx);
                const auto wi = static_cast<std::size_t>(((o * c.in + ch) * c.k + u) * c.k + v);
                g.dx[xi] += w[wi] * d;
                g.dw[wi] += x[xi] * d;
              }
            }
          }
        }
      }
    }
  }
  return g;
}

// Float sums of a few hundred O(1) terms in another order: a few 1e-6 apart.
void expect_close(const Tensor& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-4 + 1e-5 * std::fabs(want[i])) << what << " index " << i;
  }
}

TEST(Conv2d, ForwardMatchesNaiveSevenLoops) {
  Rng rng(11);
  for (const ConvCase& c : conv_cases()) {
    for (const bool bias : {true, false}) {
      Conv2d conv(c.in, c.out, c.k, c.s, c.p, std::nullopt, bias);
      randomize_parameters(conv, rng);
      const Tensor x = random_tensor({c.n, c.in, c.h, c.w}, rng);
      const std::vector<double> want =
          naive_conv(c, x, conv.weight().value, conv.bias() ? &conv.bias()->value : nullptr);
      const Tensor y = conv.forward(x, kEval);
      ASSERT_EQ(y.shape(), conv.output_shape(x.shape()).value()) << name(c);
      expect_close(y, want, name(c) + (bias ? " bias" : " no bias"));
    }
  }
}

TEST(Conv2d, FusedActivationIsFOfTheNaiveConvolution) {
  Rng rng(12);
  const ConvCase c{3, 2, 4, 3, 2, 1, 7, 8};
  for (const Activation a : {Activation::kReLU, Activation::kTanh, Activation::kGELU}) {
    Conv2d conv(c.in, c.out, c.k, c.s, c.p, default_spec(a));
    randomize_parameters(conv, rng);
    const Tensor x = random_tensor({c.n, c.in, c.h, c.w}, rng);
    std::vector<double> want = naive_conv(c, x, conv.weight().value, &conv.bias()->value);
    for (double& z : want) {
      if (a == Activation::kReLU) z = std::max(z, 0.0);
      if (a == Activation::kTanh) z = std::tanh(z);
      if (a == Activation::kGELU) z = 0.5 * z * std::erfc(-z / std::sqrt(2.0));
    }
    for (const Pass& pass : {kTrain, kEval}) {
      expect_close(conv.forward(x, pass), want, describe(default_spec(a)));
    }
  }
}

TEST(Conv2d, BackwardMatchesNaiveSevenLoops) {
  Rng rng(13);
  for (const ConvCase& c : conv_cases()) {
    Conv2d conv(c.in, c.out, c.k, c.s, c.p);
    randomize_parameters(conv, rng);
    const Tensor x = random_tensor({c.n, c.in, c.h, c.w}, rng);
    const Tensor y = conv.forward(x, kTrain);
    const Tensor dy = random_tensor(y.shape(), rng);
    const Tensor dx = conv.backward(dy);
    const NaiveGrads want = naive_conv_backward(c, x, conv.weight().value, dy);
    expect_close(dx, want.dx, name(c) + " dx");
    expect_close(conv.weight().grad, want.dw, name(c) + " dW");
    expect_close(conv.bias()->grad, want.db, name(c) + " db");
  }
}

// A random input whose pre-activations all lie at least `margin` from 0, so that finite
// differences (steps of ~1e-2 in x or W) never cross ReLU's kink.
Tensor input_away_from_kink(Conv2d& conv, const ConvCase& c, Rng& rng, double margin) {
  for (int attempt = 0; attempt < 10000; ++attempt) {
    Tensor x = random_tensor({c.n, c.in, c.h, c.w}, rng);
    const std::vector<double> z = naive_conv(c, x, conv.weight().value, &conv.bias()->value);
    if (std::all_of(z.begin(), z.end(), [&](double v) { return std::fabs(v) >= margin; })) return x;
  }
  throw std::runtime_error("no input away from the kink");
}

TEST(Conv2d, GradientsMatchFiniteDifferences) {
  Rng rng(14);
  const ConvCase c{2, 2, 3, 3, 2, 1, 5, 6};
  for (const std::optional<ActivationSpec>& f :
       {std::optional<ActivationSpec>{}, std::optional(default_spec(Activation::kReLU)),
        std::optional(default_spec(Activation::kTanh))}) {
    Conv2d conv(c.in, c.out, c.k, c.s, c.p, f);
    randomize_parameters(conv, rng);
    const Tensor x =
        f ? input_away_from_kink(conv, c, rng, 0.08) : random_tensor({c.n, c.in, c.h, c.w}, rng);
    SCOPED_TRACE(conv.describe());
    expect_gradients_match(conv, x);
  }
  // 1x1 with stride 1 takes the path without im2col.
  Conv2d pointwise(3, 2, 1, 1, 0, default_spec(Activation::kTanh));
  randomize_parameters(pointwise, rng);
  expect_gradients_match(pointwise, random_tensor({2, 3, 3, 4}, rng));
}

TEST(Conv2d, BackwardAddsIntoGradientsAndIsDeterministic) {
  Rng rng(15);
  Conv2d conv(3, 8, 3, 1, 1, default_spec(Activation::kReLU));
  randomize_parameters(conv, rng);
  const Tensor x = random_tensor({7, 3, 9, 10}, rng);
  const Tensor dy = random_tensor(conv.output_shape(x.shape()).value(), rng);
  conv.forward(x, kTrain);
  const Tensor dx1 = conv.backward(dy);
  const Tensor dw1 = conv.weight().grad.clone();
  const Tensor db1 = conv.bias()->grad.clone();
  conv.forward(x, kTrain);
  const Tensor dx2 = conv.backward(dy);
  EXPECT_TRUE(same_bits(dx1, dx2));
  for (std::size_t i = 0; i < dw1.size(); ++i) {
    ASSERT_EQ(conv.weight().grad[i], dw1[i] + dw1[i]) << "dW adds: exact for x + x";
  }
  for (std::size_t i = 0; i < db1.size(); ++i) ASSERT_EQ(conv.bias()->grad[i], db1[i] + db1[i]);
}

TEST(Conv2d, SameInputsTwiceGiveTheSameBitsAtEveryThreadCount) {
  const int saved_threads = thread_count();
  for (const int threads : {1, 2, 3}) {
    set_thread_count(threads);
    std::vector<Tensor> runs[2];
    for (auto& run : runs) {
      Rng rng(16);
      Conv2d conv(8, 16, 3, 2, 1, default_spec(Activation::kSiLU));  // 1.3M multiply-adds
      randomize_parameters(conv, rng);
      const Tensor x = random_tensor({9, 8, 31, 24}, rng);
      const Tensor y = conv.forward(x, kTrain);
      run = {y, conv.backward(random_tensor(y.shape(), rng)), conv.weight().grad,
             conv.bias()->grad};
    }
    for (std::size_t i = 0; i < runs[0].size(); ++i) {
      EXPECT_TRUE(same_bits(runs[0][i], runs[1][i])) << "tensor " << i << ", threads " << threads;
    }
  }
  set_thread_count(saved_threads);
}

TEST(Conv2d, WithoutInputGradientSkipsDxOnly) {
  for (const int padding : {0, 1}) {
    Rng rng(19);
    Conv2d conv(3, 5, 3, 1, padding, default_spec(Activation::kReLU));
    randomize_parameters(conv, rng);
    const Tensor x = random_tensor({4, 3, 7, 6}, rng);
    const Tensor dy = random_tensor(conv.output_shape(x.shape()).value(), rng);
    conv.forward(x, kTrain);
    EXPECT_EQ(conv.backward(dy).shape(), x.shape());
    const Tensor dw = conv.weight().grad.clone();
    const Tensor db = conv.bias()->grad.clone();
    conv.weight().grad.zero();
    conv.bias()->grad.zero();
    conv.set_input_gradient(false);
    conv.forward(x, kTrain);
    EXPECT_TRUE(conv.backward(dy).empty());
    EXPECT_TRUE(same_bits(conv.weight().grad, dw));
    EXPECT_TRUE(same_bits(conv.bias()->grad, db));
  }
}

TEST(Conv2d, KeepsInputHandleAndOneBitPerOutputForRelu) {
  Rng rng(17);
  Conv2d conv(2, 4, 3, 1, 1, default_spec(Activation::kReLU));
  randomize_parameters(conv, rng);
  const Tensor x = random_tensor({3, 2, 5, 6}, rng);
  EXPECT_TRUE(conv.saved().empty());
  const Tensor y = conv.forward(x, kTrain);
  const std::vector<SavedBlock> blocks = conv.saved();
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].data, x.data());  // the handle, not a copy
  EXPECT_EQ(blocks[0].bytes, x.bytes());
  EXPECT_EQ(blocks[1].bytes, relu_mask_bytes(y.size()));  // 3*4*5*6 bits
  conv.release();
  EXPECT_TRUE(conv.saved().empty());
  expect_invalid([&] { conv.backward(y); }, {"conv2d(2 -> 4", "without a training forward"});
  conv.forward(x, kEval);
  EXPECT_TRUE(conv.saved().empty());
}

TEST(Conv2d, KeepsOutputOrPreActivationByTheRule) {
  Rng rng(18);
  const Tensor x = random_tensor({2, 2, 4, 4}, rng);
  Conv2d plain(2, 3, 3, 1, 1);
  plain.forward(x, kTrain);
  EXPECT_EQ(plain.saved().size(), 1u);  // dz = dy: only x for dW
  Conv2d with_tanh(2, 3, 3, 1, 1, default_spec(Activation::kTanh));
  const Tensor y = with_tanh.forward(x, kTrain);
  ASSERT_EQ(with_tanh.saved().size(), 2u);
  EXPECT_EQ(with_tanh.saved()[1].data, y.data());  // tanh' = 1 - y^2: the output itself
  Conv2d with_gelu(2, 3, 3, 1, 1, default_spec(Activation::kGELU));
  const Tensor g = with_gelu.forward(x, kTrain);
  ASSERT_EQ(with_gelu.saved().size(), 2u);
  EXPECT_NE(with_gelu.saved()[1].data, g.data());  // GELU needs z
  EXPECT_EQ(with_gelu.saved()[1].bytes, g.bytes());
}

TEST(Conv2d, ParametersAndDescription) {
  Conv2d conv(3, 8, 5, 2, 2, default_spec(Activation::kReLU));
  const std::vector<Parameter*> params = conv.parameters();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0]->name, "weight");
  EXPECT_EQ(params[0]->value.shape(), (Shape{8, 3, 5, 5}));
  EXPECT_EQ(params[0]->grad.shape(), (Shape{8, 3, 5, 5}));
  EXPECT_EQ(params[0]->fan_in, 75);
  EXPECT_EQ(params[0]->fan_out, 200);
  ASSERT_TRUE(params[0]->feeds.has_value());
  EXPECT_EQ(params[0]->feeds->kind, Activation::kReLU);
  EXPECT_EQ(params[1]->name, "bias");
  EXPECT_EQ(params[1]->role, ParamRole::kBias);
  EXPECT_EQ(conv.describe(), "conv2d(3 -> 8, 5x5, stride 2, padding 2, relu)");
  Conv2d no_bias(3, 8, 1, 1, 0, std::nullopt, false);
  EXPECT_EQ(no_bias.parameters().size(), 1u);
  EXPECT_EQ(no_bias.describe(), "conv2d(3 -> 8, 1x1, stride 1, padding 0, no bias)");
}

TEST(Conv2d, ShapeErrorsNameTheLayerAndShapes) {
  Conv2d conv(3, 4, 5, 1, 1);
  EXPECT_EQ(conv.output_shape({2, 3, 28, 20}).value(), (Shape{2, 4, 26, 18}));
  const Result<Shape> rank = conv.output_shape({2, 3, 28});
  ASSERT_FALSE(rank);
  EXPECT_NE(rank.status().message().find("[2, 3, 28]"), std::string::npos);
  const Result<Shape> channels = conv.output_shape({2, 1, 8, 8});
  ASSERT_FALSE(channels);
  EXPECT_NE(channels.status().message().find("1 channels, expected 3"), std::string::npos);
  const Result<Shape> small = conv.output_shape({2, 3, 2, 9});
  ASSERT_FALSE(small);
  EXPECT_NE(small.status().message().find("larger than the padded input 4x11"), std::string::npos);
  EXPECT_FALSE(conv.output_shape({2, 3, 0, 9}));
  expect_invalid(
      [&] {
        conv.forward(Tensor({1, 2, 8, 8}), kTrain);
      },
      {"conv2d(3 -> 4, 5x5, stride 1, padding 1)", "[1, 2, 8, 8]"});
  conv.forward(Tensor({1, 3, 8, 8}), kTrain);
  expect_invalid(
      [&] {
        conv.backward(Tensor({1, 4, 6, 5}));
      },
      {"conv2d(3 -> 4", "[1, 4, 6, 5]", "[1, 4, 6, 6]"});
  for (const auto& make : std::vector<std::function<void()>>{
           [] { Conv2d(0, 4, 3); }, [] { Conv2d(3, 0, 3); }, [] { Conv2d(3, 4, 0); },
           [] { Conv2d(3, 4, 3, 0); }, [] { Conv2d(3, 4, 3, 1, -1); }}) {
    EXPECT_THROW(make(), std::invalid_argument);
  }
  ActivationSpec bad = default_spec(Activation::kELU);
  bad.params[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(Conv2d(3, 4, 3, 1, 1, bad), std::invalid_argument);
}

// ---- Pooling ----

struct PoolCase {
  std::int64_t n, c, h, w;
  int k, s;
};

std::string name(const PoolCase& c) {
  return "k" + std::to_string(c.k) + " s" + std::to_string(c.s) + " " + std::to_string(c.h) + "x" +
         std::to_string(c.w);
}

const std::vector<PoolCase>& pool_cases() {
  static const std::vector<PoolCase> cases{
      {2, 3, 8, 6, 2, 2},  // the CNN's 2x2
      {2, 2, 7, 9, 3, 2},  // overlapping windows, floor on both sides
      {1, 2, 5, 4, 3, 1},  // heavy overlap
      {2, 1, 9, 7, 2, 3},  // gaps between windows
      {3, 2, 5, 5, 5, 5},  // one window per plane
  };
  return cases;
}

// Small integers: many ties inside a window.
Tensor tied_values(Shape shape, Rng& rng) {
  Tensor t(std::move(shape));
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.below(4)) - 2.0f;
  return t;
}

// y = max over the window, first maximum in row-major order; dx scatters dy to it. In the same
// (plane, i, j) order as any correct implementation, so comparisons are exact.
void naive_max_pool(const PoolCase& c, const Tensor& x, const Tensor& dy, std::vector<float>& y,
                    std::vector<float>& dx) {
  const std::int64_t oh = (c.h - c.k) / c.s + 1, ow = (c.w - c.k) / c.s + 1;
  y.assign(static_cast<std::size_t>(c.n * c.c * oh * ow), 0.0f);
  dx.assign(x.size(), 0.0f);
  for (std::int64_t p = 0; p < c.n * c.c; ++p) {
    for (std::int64_t i = 0; i < oh; ++i) {
      for (std::int64_t j = 0; j < ow; ++j) {
        std::size_t best = 0;
        float value = -std::numeric_limits<float>::infinity();
        for (int u = 0; u < c.k; ++u) {
          for (int v = 0; v < c.k; ++v) {
            const auto at = static_cast<std::size_t>((p * c.h + i * c.s + u) * c.w + j * c.s + v);
            if (x[at] > value || std::isnan(x[at])) {
              value = x[at];
              best = at;
            }
          }
        }
        const auto out = static_cast<std::size_t>((p * oh + i) * ow + j);
        y[out] = value;
        dx[best] += dy[out];
      }
    }
  }
}

void expect_same_values(const Tensor& got, const std::vector<float>& want,
                        const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << what << " index " << i;
    } else {
      ASSERT_EQ(got[i], want[i]) << what << " index " << i;
    }
  }
}

TEST(MaxPool2d, MatchesNaiveLoopsWithTiesAndOverlap) {
  Rng rng(21);
  for (const PoolCase& c : pool_cases()) {
    MaxPool2d pool(c.k, c.s);
    const Tensor x = tied_values({c.n, c.c, c.h, c.w}, rng);
    const Tensor y = pool.forward(x, kTrain);
    const Tensor dy = random_tensor(y.shape(), rng);
    std::vector<float> want_y, want_dx;
    naive_max_pool(c, x, dy, want_y, want_dx);
    EXPECT_EQ(y.shape(), pool.output_shape(x.shape()).value());
    expect_same_values(y, want_y, name(c) + " y");
    expect_same_values(pool.backward(dy), want_dx, name(c) + " dx");
    expect_same_values(pool.forward(x, kEval), want_y, name(c) + " eval y");
    EXPECT_TRUE(pool.saved().empty()) << "evaluation keeps nothing";
  }
}

TEST(MaxPool2d, NanInTheWindowWinsAsInPyTorch) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // One plane 2x4, two 2x2 windows: [1, NaN; 5, 2] and [-inf, -inf; -inf, -inf].
  Tensor x({1, 1, 2, 4});
  const float values[] = {1.0f, nan, -inf, -inf, 5.0f, 2.0f, -inf, -inf};
  std::copy(std::begin(values), std::end(values), x.data());
  MaxPool2d pool(2);
  const Tensor y = pool.forward(x, kTrain);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], -inf);
  const Tensor dx = pool.backward(Tensor::filled({1, 1, 1, 2}, 3.0f));
  const float want[] = {0, 3, 3, 0, 0, 0, 0, 0};  // to the NaN; to the first of equal -infs
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(dx[i], want[i]) << i;
}

TEST(MaxPool2d, KeepsOneBytePerOutput) {
  Rng rng(22);
  MaxPool2d pool(3, 2);
  const Tensor x = random_tensor({2, 3, 9, 8}, rng);
  const Tensor y = pool.forward(x, kTrain);
  ASSERT_EQ(pool.saved().size(), 1u);
  EXPECT_EQ(pool.saved()[0].bytes, y.size());
  pool.release();
  EXPECT_TRUE(pool.saved().empty());
}

TEST(AvgPool2d, MatchesNaiveLoopsAndFiniteDifferences) {
  Rng rng(23);
  for (const PoolCase& c : pool_cases()) {
    AvgPool2d pool(c.k, c.s);
    const Tensor x = random_tensor({c.n, c.c, c.h, c.w}, rng);
    const Tensor y = pool.forward(x, kTrain);
    const Tensor dy = random_tensor(y.shape(), rng);
    const Tensor dx = pool.backward(dy);
    const std::int64_t oh = (c.h - c.k) / c.s + 1, ow = (c.w - c.k) / c.s + 1;
    const double area = c.k * c.k;
    std::vector<double> want_y(y.size()), want_dx(x.size());
    for (std::int64_t p = 0; p < c.n * c.c; ++p) {
      for (std::int64_t i = 0; i < oh; ++i) {
        for (std::int64_t j = 0; j < ow; ++j) {
          const auto out = static_cast<std::size_t>((p * oh + i) * ow + j);
          for (int u = 0; u < c.k; ++u) {
            for (int v = 0; v < c.k; ++v) {
              const auto at = static_cast<std::size_t>((p * c.h + i * c.s + u) * c.w + j * c.s + v);
              want_y[out] += x[at] / area;
              want_dx[at] += dy[out] / area;
            }
          }
        }
      }
    }
    expect_close(y, want_y, name(c) + " y");
    expect_close(dx, want_dx, name(c) + " dx");
    expect_gradients_match(pool, x);
    EXPECT_TRUE(pool.saved().empty());
  }
}

TEST(GlobalAvgPool, MatchesNaiveLoopsAndFiniteDifferences) {
  Rng rng(24);
  GlobalAvgPool pool;
  const Tensor x = random_tensor({3, 4, 5, 7}, rng);
  const Tensor y = pool.forward(x, kTrain);
  ASSERT_EQ(y.shape(), (Shape{3, 4}));
  const Tensor dy = random_tensor(y.shape(), rng);
  const Tensor dx = pool.backward(dy);
  for (std::size_t p = 0; p < 12; ++p) {
    double sum = 0;
    for (std::size_t i = 0; i < 35; ++i) {
      sum += x[p * 35 + i];
      ASSERT_FLOAT_EQ(dx[p * 35 + i], dy[p] / 35.0f);
    }
    EXPECT_NEAR(y[p], sum / 35.0, 1e-6);
  }
  expect_gradients_match(pool, x);
}

TEST(Pooling, ShapeErrorsNameTheLayerAndShapes) {
  MaxPool2d max(3, 2);
  EXPECT_EQ(max.stride(), 2);
  EXPECT_EQ(MaxPool2d(2).stride(), 2);
  EXPECT_EQ(max.describe(), "maxpool2d(3x3, stride 2)");
  EXPECT_EQ(max.output_shape({1, 2, 7, 8}).value(), (Shape{1, 2, 3, 3}));
  EXPECT_FALSE(max.output_shape({1, 2, 2, 8}));
  EXPECT_FALSE(max.output_shape({2, 7, 8}));
  expect_invalid(
      [&] {
        max.forward(Tensor({1, 2, 2, 8}), kTrain);
      },
      {"maxpool2d(3x3, stride 2)", "[1, 2, 2, 8]"});
  expect_invalid(
      [&] {
        max.backward(Tensor({1, 2, 3, 3}));
      },
      {"maxpool2d", "without a training forward"});
  max.forward(Tensor({1, 2, 7, 8}), kTrain);
  expect_invalid(
      [&] {
        max.backward(Tensor({1, 2, 3, 4}));
      },
      {"maxpool2d", "[1, 2, 3, 4]", "[1, 2, 3, 3]"});
  EXPECT_THROW(MaxPool2d(17), std::invalid_argument);  // the argmax byte holds 16x16 offsets
  EXPECT_THROW(MaxPool2d(0), std::invalid_argument);
  EXPECT_THROW(MaxPool2d(2, -1), std::invalid_argument);
  EXPECT_THROW(AvgPool2d(0), std::invalid_argument);

  AvgPool2d avg(2);
  EXPECT_EQ(avg.describe(), "avgpool2d(2x2, stride 2)");
  expect_invalid([&] { avg.forward(Tensor({1, 2, 1, 8}), kTrain); }, {"avgpool2d", "[1, 2, 1, 8]"});
  expect_invalid(
      [&] {
        avg.backward(Tensor({1, 2, 1, 4}));
      },
      {"avgpool2d", "without a training forward"});

  GlobalAvgPool global;
  expect_invalid([&] { global.forward(Tensor({4, 3}), kTrain); }, {"global_avg_pool", "[4, 3]"});
  global.forward(Tensor({2, 3, 4, 4}), kTrain);
  expect_invalid([&] { global.backward(Tensor({2, 4})); }, {"global_avg_pool", "[2, 4]", "[2, 3]"});
}

// ---- ResidualBlock ----

void randomize_convolutions(ResidualBlock& block, Rng& rng) {
  for (Parameter* p : block.parameters()) {
    if (p->role != ParamRole::kWeight) continue;
    for (std::size_t i = 0; i < p->value.size(); ++i) p->value[i] = 0.4f * rng.normal();
  }
}

const Tensor& value_of(ResidualBlock& block, const std::string& name) {
  for (const Parameter* p : block.parameters()) {
    if (p->name == name) return p->value;
  }
  throw std::runtime_error("no parameter " + name);
}

// The smallest |input| of the block's two activations, bn1(conv1(x)) and bn2(conv2(h)) +
// shortcut(x), recomputed from public layers with the block's conv weights (its batch norms are
// still at gamma 1, beta 0).
double smallest_pre_activation(ResidualBlock& block, const Tensor& x) {
  const std::int64_t in = block.in_channels(), out = block.out_channels();
  Conv2d conv1(in, out, 3, block.stride(), 1, std::nullopt, false);
  Conv2d conv2(out, out, 3, 1, 1, std::nullopt, false);
  Conv2d projection(in, out, 1, block.stride(), 0, std::nullopt, false);
  conv1.weight().value = value_of(block, "conv1.weight");
  conv2.weight().value = value_of(block, "conv2.weight");
  if (block.has_projection()) projection.weight().value = value_of(block, "shortcut.conv.weight");
  BatchNorm bn1(out), bn2(out), bn3(out);
  const Tensor z1 = bn1.forward(conv1.forward(x, kTrain), kTrain);
  Tensor h = z1.clone();
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = std::max(h[i], 0.0f);
  const Tensor z2 = bn2.forward(conv2.forward(h, kTrain), kTrain);
  const Tensor shortcut =
      block.has_projection() ? bn3.forward(projection.forward(x, kTrain), kTrain) : x;
  double smallest = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < z1.size(); ++i) {
    smallest = std::min({smallest, std::fabs(static_cast<double>(z1[i])),
                         std::fabs(static_cast<double>(z2[i]) + shortcut[i])});
  }
  return smallest;
}

TEST(ResidualBlock, GradientsMatchFiniteDifferencesInTraining) {
  struct Case {
    std::int64_t in, out;
    int stride;
    std::int64_t h, w;
    Activation f;
  };
  for (const Case c :
       {Case{3, 3, 1, 3, 3, Activation::kReLU}, Case{4, 3, 2, 5, 6, Activation::kReLU},
        Case{4, 4, 1, 5, 6, Activation::kTanh}, Case{3, 5, 2, 5, 6, Activation::kSiLU},
        Case{4, 4, 2, 5, 6, Activation::kPReLU}}) {
    Rng rng(31);
    ResidualBlock block(c.in, c.out, c.stride, default_spec(c.f));
    EXPECT_EQ(block.has_projection(), c.in != c.out || c.stride != 1);
    randomize_convolutions(block, rng);
    Tensor x = random_tensor({2, c.in, c.h, c.w}, rng);
    // Batch norm moves every pre-activation of a channel when one weight moves: for ReLU, draw x
    // until no pre-activation is within reach of the kink for steps of 1e-2.
    for (int attempt = 0; c.f == Activation::kReLU && smallest_pre_activation(block, x) < 0.04;
         ++attempt) {
      ASSERT_LT(attempt, 10000) << "no input away from the kink";
      x = random_tensor({2, c.in, c.h, c.w}, rng);
    }
    SCOPED_TRACE(block.describe());
    GradcheckOptions options;
    options.max_checks = 48;
    expect_gradients_match(block, x, options);
  }
}

TEST(ResidualBlock, IdentityShortcutAddsTheInput) {
  // With conv2's weights at 0, h = bn2(0) = beta2 = 0 and y = f(x): the shortcut alone.
  Rng rng(32);
  ResidualBlock block(3, 3, 1, default_spec(Activation::kTanh));
  randomize_convolutions(block, rng);
  for (Parameter* p : block.parameters()) {
    if (p->name == "conv2.weight") p->value.zero();
  }
  const Tensor x = random_tensor({2, 3, 4, 4}, rng);
  const Tensor y = block.forward(x, kTrain);
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(y[i], std::tanh(x[i]), 1e-6) << i;
}

TEST(ResidualBlock, NamesFollowPyTorch) {
  ResidualBlock projection(3, 8, 2);
  std::vector<std::string> names;
  for (const Parameter* p : projection.parameters()) names.push_back(p->name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                                      "bn2.weight", "bn2.bias", "shortcut.conv.weight",
                                      "shortcut.bn.weight", "shortcut.bn.bias"}));
  names.clear();
  for (const Buffer* b : projection.buffers()) names.push_back(b->name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var",
                       "shortcut.bn.running_mean", "shortcut.bn.running_var"}));
  for (const Parameter* p : projection.parameters()) {
    if (p->role != ParamRole::kWeight) continue;
    ASSERT_TRUE(p->feeds.has_value()) << p->name;
    EXPECT_EQ(p->feeds->kind, Activation::kReLU) << p->name;
  }
  EXPECT_EQ(projection.describe(), "residual_block(3 -> 8, stride 2, relu, projection)");

  ResidualBlock identity(4, 4, 1, default_spec(Activation::kPReLU));
  names.clear();
  for (const Parameter* p : identity.parameters()) names.push_back(p->name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "act1.weight",
                                      "conv2.weight", "bn2.weight", "bn2.bias", "act2.weight"}));
}

TEST(ResidualBlock, SavedCountsEachBlockOnce) {
  Rng rng(33);
  ResidualBlock block(3, 6, 2);
  randomize_convolutions(block, rng);
  const Tensor x = random_tensor({2, 3, 8, 8}, rng);
  const Tensor y = block.forward(x, kTrain);
  const std::vector<SavedBlock> blocks = block.saved();
  std::set<const void*> pointers;
  std::size_t input_blocks = 0;
  for (const SavedBlock& b : blocks) {
    pointers.insert(b.data);
    if (b.data == x.data()) ++input_blocks;
  }
  EXPECT_EQ(pointers.size(), blocks.size());
  EXPECT_EQ(input_blocks, 1u) << "conv1 and the shortcut conv both keep x: counted once";
  block.release();
  EXPECT_TRUE(block.saved().empty());
  expect_invalid([&] { block.backward(y); },
                 {"residual_block(3 -> 6", "without a training forward"});
}

TEST(ResidualBlock, SameInputsTwiceGiveTheSameBits) {
  std::vector<Tensor> runs[2];
  for (auto& run : runs) {
    Rng rng(34);
    ResidualBlock block(3, 6, 2);
    randomize_convolutions(block, rng);
    const Tensor x = random_tensor({5, 3, 8, 7}, rng);
    const Tensor y = block.forward(x, kTrain);
    run.push_back(y.clone());
    run.push_back(block.backward(random_tensor(y.shape(), rng)));
    for (const Parameter* p : block.parameters()) run.push_back(p->grad.clone());
  }
  ASSERT_EQ(runs[0].size(), runs[1].size());
  for (std::size_t i = 0; i < runs[0].size(); ++i)
    EXPECT_TRUE(same_bits(runs[0][i], runs[1][i])) << i;
}

TEST(ResidualBlock, WithoutInputGradientSkipsDxOnly) {
  for (const bool projection : {false, true}) {
    std::vector<Tensor> runs[2];
    for (const bool needed : {true, false}) {
      Rng rng(35);
      ResidualBlock block(3, projection ? 4 : 3, 1);
      randomize_convolutions(block, rng);
      block.set_input_gradient(needed);
      const Tensor x = random_tensor({2, 3, 5, 5}, rng);
      const Tensor y = block.forward(x, kTrain);
      EXPECT_EQ(block.backward(random_tensor(y.shape(), rng)).empty(), !needed);
      for (const Parameter* p : block.parameters()) runs[needed].push_back(p->grad.clone());
    }
    for (std::size_t i = 0; i < runs[0].size(); ++i) {
      EXPECT_TRUE(same_bits(runs[0][i], runs[1][i])) << "parameter " << i;
    }
  }
}

TEST(ResidualBlock, ShapeErrorsNameTheBlock) {
  ResidualBlock block(3, 6, 2);
  EXPECT_EQ(block.output_shape({2, 3, 9, 8}).value(), (Shape{2, 6, 5, 4}));
  const Result<Shape> wrong = block.output_shape({2, 4, 9, 8});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.status().message().find("residual_block(3 -> 6"), std::string::npos);
  EXPECT_NE(wrong.status().message().find("4 channels, expected 3"), std::string::npos);
  expect_invalid(
      [&] {
        block.forward(Tensor({2, 3, 8}), kTrain);
      },
      {"residual_block", "[2, 3, 8]"});
  block.forward(Tensor({2, 3, 9, 8}), kTrain);
  expect_invalid(
      [&] {
        block.backward(Tensor({2, 6, 4, 4}));
      },
      {"residual_block", "[2, 6, 4, 4]", "[2, 6, 5, 4]"});
  EXPECT_THROW(ResidualBlock(0, 4), std::invalid_argument);
  EXPECT_THROW(ResidualBlock(4, 4, 0), std::invalid_argument);
}

}  // namespace
}  // namespace relulab::nn
