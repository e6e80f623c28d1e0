// Diagnostics: dead units, sparsity, statistics and saturation on networks built to have known
// values; gradient norms against a hand-written forward/backward; the monitor's sampling steps;
// the recorder's files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "relulab/diag/activation_probe.hpp"
#include "relulab/diag/gradient_flow.hpp"
#include "relulab/diag/histogram.hpp"
#include "relulab/diag/recorder.hpp"
#include "relulab/nn/activation_layer.hpp"
#include "relulab/nn/batch_norm.hpp"
#include "relulab/nn/conv2d.hpp"
#include "relulab/nn/flatten.hpp"
#include "relulab/nn/linear.hpp"
#include "relulab/nn/loss.hpp"
#include "relulab/nn/residual_block.hpp"
#include "relulab/random.hpp"
#include "relulab/threads.hpp"

namespace relulab::diag {
namespace {

ActivationSpec spec(Activation a) {
  return default_spec(a);
}

std::unique_ptr<nn::Model> empty_model(Shape input_shape) {
  auto m = std::make_unique<nn::Model>();
  m->spec = "test";
  m->activation = spec(Activation::kReLU);
  m->input_shape = std::move(input_shape);
  m->num_classes = 2;
  return m;
}

Tensor uniform_tensor(Shape shape, Rng& rng, float lo, float hi) {
  Tensor t(std::move(shape));
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

void fill_normal(nn::Parameter& p, Rng& rng, float scale) {
  for (std::size_t i = 0; i < p.value.size(); ++i) p.value[i] = scale * rng.normal();
}

// ---- dead and near-dead units, sparsity --------------------------------------------------------

TEST(ProbeActivations, StronglyNegativeBiasesGiveExactlyThoseDeadUnits) {
  Rng rng(1);
  auto model = empty_model({4});
  auto& fc = static_cast<nn::Linear&>(
      model->net.add(std::make_unique<nn::Linear>(4, 8, spec(Activation::kReLU))));
  model->net.add(std::make_unique<nn::Linear>(8, 2));
  fill_normal(fc.weight(), rng, 0.5f);
  for (int u = 0; u < 8; ++u) fc.bias()->value[u] = u < 3 ? -100.0f : 0.1f;
  const Tensor x = uniform_tensor({1000, 4}, rng, -1, 1);
  const auto stats = probe_activations(*model, x, ProbeOptions{.batch = 300});
  ASSERT_EQ(stats.size(), 1u);  // the output layer has no activation
  EXPECT_EQ(stats[0].layer_index, 0u);
  EXPECT_EQ(stats[0].activation, "relu");
  EXPECT_EQ(stats[0].units, 8);
  EXPECT_EQ(stats[0].examples, 1000);
  EXPECT_EQ(stats[0].dead_fraction, 3.0 / 8.0);
  EXPECT_EQ(stats[0].near_dead_fraction, 0.0);
  EXPECT_TRUE(std::isnan(stats[0].saturated_fraction));
}

TEST(ProbeActivations, NeverZeroActivationsReportNoDeadUnits) {
  // The same measurement on leaky ReLU: units driven as far negative still output non-zero values.
  Rng rng(2);
  auto model = empty_model({4});
  auto& fc = static_cast<nn::Linear&>(
      model->net.add(std::make_unique<nn::Linear>(4, 8, spec(Activation::kLeakyReLU))));
  fill_normal(fc.weight(), rng, 0.5f);
  for (int u = 0; u < 8; ++u) fc.bias()->value[u] = u < 3 ? -100.0f : 0.1f;
  const auto stats = probe_activations(*model, uniform_tensor({500, 4}, rng, -1, 1), {});
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].dead_fraction, 0.0);
  EXPECT_EQ(stats[0].zero_fraction, 0.0);
}

TEST(ProbeActivations, NearDeadCountsUnitsActiveOnFewerThanOnePercent) {
  // x_n = n for n < 1000; unit u computes relu(x - (1000 - k_u - 0.5)): active on exactly k_u
  // examples. 1% of 1000 = 10: k = 0 is dead, k = 1, 9 near-dead, k = 10, 500 neither.
  const std::vector<int> active = {0, 1, 9, 10, 500};
  auto model = empty_model({1});
  auto& fc = static_cast<nn::Linear&>(model->net.add(std::make_unique<nn::Linear>(
      1, static_cast<std::int64_t>(active.size()), spec(Activation::kReLU))));
  for (std::size_t u = 0; u < active.size(); ++u) {
    fc.weight().value[u] = 1.0f;
    fc.bias()->value[u] = -(1000.0f - static_cast<float>(active[u]) - 0.5f);
  }
  Tensor x({1000, 1});
  for (int n = 0; n < 1000; ++n) x[static_cast<std::size_t>(n)] = static_cast<float>(n);
  for (const std::int64_t batch : {1000, 7}) {
    const auto stats = probe_activations(*model, x, ProbeOptions{.batch = batch});
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_EQ(stats[0].dead_fraction, 1.0 / 5.0);
    EXPECT_EQ(stats[0].near_dead_fraction, 2.0 / 5.0);
    const double zeros = 5 * 1000 - (0 + 1 + 9 + 10 + 500);
    EXPECT_EQ(stats[0].zero_fraction, zeros / 5000.0);
  }
  const auto strict = probe_activations(*model, x, ProbeOptions{.near_dead_threshold = 0.011});
  EXPECT_EQ(strict[0].near_dead_fraction, 3.0 / 5.0);  // 10 < 11 now
}

TEST(ProbeActivations, ZeroFractionMeanStddevAndHistogramOnAConstructedInput) {
  auto model = empty_model({4});
  model->net.add(std::make_unique<nn::ActivationLayer>(spec(Activation::kReLU)));
  const std::vector<float> values = {-1, 2,  0, 3,     0.5f, -2, -3, 4,  -0.0f, 1, 7, -5,
                                     6,  -4, 9, 0.25f, -1,   -1, 2,  -6, 8,     0, 0, 3};
  Tensor x({6, 4});
  std::copy(values.begin(), values.end(), x.data());
  const auto stats = probe_activations(*model, x, ProbeOptions{.batch = 4, .histogram_bins = 7});
  ASSERT_EQ(stats.size(), 1u);
  double zeros = 0, sum = 0, sum_squares = 0;
  for (const float v : values) {
    const double y = v > 0 ? v : 0.0;
    zeros += y == 0;
    sum += y;
    sum_squares += y * y;
  }
  const double mean = sum / 24, stddev = std::sqrt(sum_squares / 24 - mean * mean);
  EXPECT_EQ(stats[0].zero_fraction, zeros / 24);
  EXPECT_NEAR(stats[0].mean, mean, 1e-12);
  EXPECT_NEAR(stats[0].stddev, stddev, 1e-12);
  EXPECT_EQ(stats[0].dead_fraction, 0.0);  // every feature is positive somewhere
  ASSERT_EQ(stats[0].histogram.size(), 7u);
  std::int64_t total = 0;
  const double width = (stats[0].histogram_hi - stats[0].histogram_lo) / 7;
  std::vector<std::int64_t> expected(7, 0);
  for (const float v : values) {
    const double y = v > 0 ? v : 0.0;
    ++expected[static_cast<std::size_t>((y - stats[0].histogram_lo) / width)];
  }
  for (std::size_t b = 0; b < 7; ++b) {
    EXPECT_EQ(stats[0].histogram[b], expected[b]) << "bin " << b;
    total += stats[0].histogram[b];
  }
  EXPECT_EQ(total, 24);
  EXPECT_LE(stats[0].histogram_lo, 0.0);
  EXPECT_GT(stats[0].histogram_hi, 9.0);
}

TEST(ProbeActivations, ConvolutionChannelsAreUnits) {
  // Channel 0 is always on (bias +100), 1 dead (bias -100), 2 dead (zero weights and bias), 3
  // fires only where a pixel exceeds 0.5, which happens in one example of 200: near-dead.
  Rng rng(3);
  auto model = empty_model({1, 5, 5});
  auto& conv = static_cast<nn::Conv2d&>(
      model->net.add(std::make_unique<nn::Conv2d>(1, 4, 3, 1, 1, spec(Activation::kReLU))));
  Tensor& w = conv.weight().value;  // [4, 1, 3, 3]
  for (std::size_t i = 0; i < 9; ++i) {
    w[i] = 0.1f * rng.normal();
    w[9 + i] = 0.1f * rng.normal();
  }
  w[27 + 4] = 1.0f;  // channel 3: the centre tap
  const std::vector<float> bias = {100, -100, 0, -0.5f};
  std::copy(bias.begin(), bias.end(), conv.bias()->value.data());
  Tensor x({200, 1, 5, 5});
  x[7 * 25 + 12] = 1.0f;
  const auto stats = probe_activations(*model, x, ProbeOptions{.batch = 64});
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].units, 4);
  EXPECT_EQ(stats[0].dead_fraction, 2.0 / 4.0);
  EXPECT_EQ(stats[0].near_dead_fraction, 1.0 / 4.0);
  EXPECT_EQ(stats[0].zero_fraction, (2.0 * 5000 + 4999) / 20000);
}

TEST(ProbeActivations, WatchesActivationOutputsOnly) {
  auto model = empty_model({2, 4, 4});
  model->net.add(std::make_unique<nn::ResidualBlock>(2, 3, 1, spec(Activation::kELU)));
  model->net.add(std::make_unique<nn::Flatten>());
  model->net.add(std::make_unique<nn::Linear>(48, 5));
  model->net.add(std::make_unique<nn::ActivationLayer>(spec(Activation::kTanh)));
  Rng rng(4);
  for (nn::Parameter* p : model->net.parameters()) {
    if (p->role == nn::ParamRole::kWeight) fill_normal(*p, rng, 0.3f);
  }
  const auto stats = probe_activations(*model, uniform_tensor({10, 2, 4, 4}, rng, -1, 1), {});
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].layer_index, 0u);
  EXPECT_EQ(stats[0].units, 3);  // channels
  EXPECT_EQ(stats[0].activation, describe(spec(Activation::kELU)));
  EXPECT_EQ(stats[1].layer_index, 3u);
  EXPECT_EQ(stats[1].units, 5);
  EXPECT_FALSE(std::isnan(stats[1].saturated_fraction));
}

// ---- saturation ---------------------------------------------------------------------------------

// 1000 inputs, the first `saturated` of them at magnitudes beyond `far`, the rest within `near`.
Tensor saturation_input(int saturated, float near, float far) {
  Rng rng(5);
  Tensor x({250, 4});
  for (int i = 0; i < 1000; ++i) {
    const float sign = i % 2 ? -1.0f : 1.0f;
    x[static_cast<std::size_t>(i)] =
        i < saturated ? sign * (far + 10 * rng.uniform()) : rng.uniform(-near, near);
  }
  return x;
}

TEST(ProbeActivations, SaturatedFractionIsWhereTheDerivativeIsBelowOnePercent) {
  struct Case {
    Activation a;
    float near, far;  // |f'| >= 0.01 within near, < 0.01 beyond far
  };
  // tanh' = 1 - tanh^2 = 0.01 at |x| = 2.993; sigmoid' = 0.01 at |x| = 4.595; hardsigmoid' = 0
  // for |x| >= 3.
  for (const Case c : {Case{Activation::kTanh, 2.9f, 3.1f}, Case{Activation::kSigmoid, 4.5f, 4.7f},
                       Case{Activation::kHardSigmoid, 2.9f, 3.1f}}) {
    auto model = empty_model({4});
    model->net.add(std::make_unique<nn::ActivationLayer>(spec(c.a)));
    const auto stats = probe_activations(*model, saturation_input(370, c.near, c.far), {});
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_EQ(stats[0].saturated_fraction, 0.37) << stats[0].activation;
  }
  auto relu = empty_model({4});
  relu->net.add(std::make_unique<nn::ActivationLayer>(spec(Activation::kReLU)));
  EXPECT_TRUE(
      std::isnan(probe_activations(*relu, saturation_input(370, 1, 5), {})[0].saturated_fraction));
}

// ---- determinism, the probe set, errors ---------------------------------------------------------

TEST(ProbeActivations, SameBitsForAnyThreadCount) {
  Rng rng(6);
  auto model = empty_model({3, 16, 16});
  auto& conv = static_cast<nn::Conv2d&>(
      model->net.add(std::make_unique<nn::Conv2d>(3, 8, 3, 1, 1, spec(Activation::kGELU))));
  fill_normal(conv.weight(), rng, 0.4f);
  const Tensor x = uniform_tensor({100, 3, 16, 16}, rng, -2, 2);  // 204,800 outputs: parallel
  const int threads = thread_count();
  set_thread_count(1);
  const auto one = probe_activations(*model, x, ProbeOptions{.batch = 30});
  set_thread_count(3);
  const auto three = probe_activations(*model, x, ProbeOptions{.batch = 30});
  set_thread_count(threads);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(to_json(one[0]), to_json(three[0]));
  EXPECT_EQ(one[0].mean, three[0].mean);
  EXPECT_EQ(one[0].stddev, three[0].stddev);
}

TEST(ProbeActivations, RestoresThePreviousObserver) {
  nn::SequentialObserver previous;
  auto model = empty_model({4});
  model->net.add(std::make_unique<nn::Linear>(4, 2, spec(Activation::kReLU)));
  model->net.set_observer(&previous);
  (void)probe_activations(*model, Tensor({3, 4}), {});
  EXPECT_EQ(model->net.observer(), &previous);
  EXPECT_THROW((void)probe_activations(*model, Tensor({3, 5}), {}), std::invalid_argument);
  EXPECT_EQ(model->net.observer(), &previous);
}

TEST(ProbeActivations, RejectsBadOptionsAndEmptyProbeSets) {
  EXPECT_TRUE(validate(ProbeOptions{}).is_ok());
  EXPECT_FALSE(validate(ProbeOptions{.batch = 0}).is_ok());
  EXPECT_FALSE(validate(ProbeOptions{.near_dead_threshold = -0.1}).is_ok());
  EXPECT_FALSE(validate(ProbeOptions{.near_dead_threshold = std::nan("")}).is_ok());
  EXPECT_FALSE(validate(ProbeOptions{.histogram_bins = 0}).is_ok());
  auto model = empty_model({4});
  model->net.add(std::make_unique<nn::ActivationLayer>(spec(Activation::kReLU)));
  EXPECT_THROW((void)probe_activations(*model, Tensor({0, 4}), {}), std::invalid_argument);
  EXPECT_THROW((void)probe_activations(*model, Tensor({2, 4}), ProbeOptions{.batch = 0}),
               std::invalid_argument);
}

TEST(ProbeSet, DrawsDistinctRowsInOrderAndIsDeterministic) {
  Tensor features({10, 2});
  for (std::size_t i = 0; i < 20; ++i) features[i] = static_cast<float>(i / 2);  // row r = r
  const Tensor a = probe_set(features, 4, 9);
  const Tensor b = probe_set(features, 4, 9);
  ASSERT_EQ(a.shape(), (Shape{4, 2}));
  for (std::size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(a[2 * r], a[2 * r + 1]);
    EXPECT_EQ(a[2 * r], b[2 * r]);
    if (r > 0) {
      EXPECT_LT(a[2 * (r - 1)], a[2 * r]);
    }
  }
  EXPECT_TRUE(probe_set(features, 10).shares_storage_with(features));
  EXPECT_THROW((void)probe_set(features, 0), std::invalid_argument);
  EXPECT_THROW((void)probe_set(Tensor({0, 2}), 5), std::invalid_argument);
}

// ---- the growing histogram ----------------------------------------------------------------------

TEST(GrowingHistogram, MergedCountsEqualACountWithTheFinalBins) {
  Rng rng(7);
  GrowingHistogram h(6);
  std::vector<float> all;
  // Batches that widen the range to the right, then to the left, then both.
  for (const auto& [lo, hi] :
       std::vector<std::pair<float, float>>{{0, 1}, {0, 5}, {-3, 2}, {-40, 40}}) {
    std::vector<float> batch(200);
    for (float& v : batch) v = rng.uniform(lo, hi);
    batch[0] = lo;
    const auto [mn, mx] = std::minmax_element(batch.begin(), batch.end());
    h.cover(*mn, *mx);
    std::vector<std::int64_t> counts(6, 0);
    for (const float v : batch) ++counts[static_cast<std::size_t>(h.bin(v))];
    h.add(counts);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  ASSERT_LE(h.lo(), -40.0);
  ASSERT_GT(h.hi(), 40.0);
  EXPECT_LE(h.hi() - h.lo(), 4 * 80.0);
  std::vector<std::int64_t> expected(6, 0);
  const double width = (h.hi() - h.lo()) / 6;
  for (const float v : all) ++expected[static_cast<std::size_t>((v - h.lo()) / width)];
  EXPECT_EQ(h.counts(), expected);
}

TEST(GrowingHistogram, EdgeValues) {
  GrowingHistogram h(4);
  EXPECT_EQ(h.bin(1.0f), -1);  // before the first cover
  h.cover(2.0, 2.0);           // a single value still gets a bin of its own
  EXPECT_EQ(h.bin(2.0f), 0);
  EXPECT_LT(h.lo(), h.hi());
  h.cover(0.0, 8.0);
  EXPECT_EQ(h.bin(std::numeric_limits<float>::quiet_NaN()), -1);
  EXPECT_EQ(h.bin(std::numeric_limits<float>::infinity()), 3);
  EXPECT_EQ(h.bin(-std::numeric_limits<float>::infinity()), 0);
  EXPECT_THROW(GrowingHistogram(0), std::invalid_argument);
  EXPECT_THROW(h.add(std::vector<std::int64_t>(3)), std::invalid_argument);
}

// ---- gradient norms ----------------------------------------------------------------------------

// relu(x W1^T + b1) W2^T + b2 with hand-set weights; unit 3 of the hidden layer is off on both
// examples, unit 0 on one, so the ReLU mask matters.
struct TwoLayerNet {
  std::unique_ptr<nn::Model> model = empty_model({3});
  nn::Linear* fc1;
  nn::Linear* fc2;
  Tensor x{Shape{2, 3}};
  std::vector<std::int32_t> y{1, 0};

  TwoLayerNet() {
    fc1 = &static_cast<nn::Linear&>(
        model->net.add(std::make_unique<nn::Linear>(3, 4, spec(Activation::kReLU))));
    fc2 = &static_cast<nn::Linear&>(model->net.add(std::make_unique<nn::Linear>(4, 2)));
    set(fc1->weight().value,
        {0.5f, -0.3f, 0.2f, -0.4f, 0.1f, 0.6f, 0.3f, 0.8f, -0.5f, -0.7f, -0.2f, -0.1f});
    set(fc1->bias()->value, {0.1f, -0.2f, 0.05f, -0.3f});
    set(fc2->weight().value, {0.6f, -0.5f, 0.4f, 0.2f, -0.3f, 0.7f, 0.1f, -0.6f});
    set(fc2->bias()->value, {0.05f, -0.05f});
    set(x, {1.0f, -2.0f, 0.5f, -0.5f, 1.5f, 2.0f});
  }
  static void set(const Tensor& t, std::vector<float> v) {
    std::copy(v.begin(), v.end(), t.data());
  }
};

// The norms of the two-layer net's gradients, by explicit loops in double.
struct HandGradients {
  double dw1 = 0, dw2 = 0, dx = 0, dh = 0, w1 = 0, w2 = 0;
};
HandGradients hand_gradients(TwoLayerNet& net) {
  const auto W1 = [&](int o, int i) {
    return double{net.fc1->weight().value[static_cast<std::size_t>(o * 3 + i)]};
  };
  const auto W2 = [&](int o, int i) {
    return double{net.fc2->weight().value[static_cast<std::size_t>(o * 4 + i)]};
  };
  const auto X = [&](int n, int i) { return double{net.x[static_cast<std::size_t>(n * 3 + i)]}; };
  HandGradients g;
  double dW1[4][3] = {}, dW2[2][4] = {};
  for (int n = 0; n < 2; ++n) {
    double z1[4], h[4], z2[2];
    for (int o = 0; o < 4; ++o) {
      z1[o] = net.fc1->bias()->value[static_cast<std::size_t>(o)];
      for (int i = 0; i < 3; ++i) z1[o] += W1(o, i) * X(n, i);
      h[o] = std::max(z1[o], 0.0);
    }
    for (int o = 0; o < 2; ++o) {
      z2[o] = net.fc2->bias()->value[static_cast<std::size_t>(o)];
      for (int i = 0; i < 4; ++i) z2[o] += W2(o, i) * h[i];
    }
    const double m = std::max(z2[0], z2[1]);
    const double e0 = std::exp(z2[0] - m), e1 = std::exp(z2[1] - m);
    const double dz2[2] = {(e0 / (e0 + e1) - (net.y[n] == 0)) / 2,
                           (e1 / (e0 + e1) - (net.y[n] == 1)) / 2};
    double dh[4] = {}, dz1[4];
    for (int o = 0; o < 2; ++o) {
      for (int i = 0; i < 4; ++i) {
        dW2[o][i] += dz2[o] * h[i];
        dh[i] += dz2[o] * W2(o, i);
      }
    }
    for (int o = 0; o < 4; ++o) {
      g.dh += dh[o] * dh[o];
      dz1[o] = z1[o] > 0 ? dh[o] : 0.0;
    }
    for (int i = 0; i < 3; ++i) {
      double dx = 0;
      for (int o = 0; o < 4; ++o) {
        dW1[o][i] += dz1[o] * X(n, i);
        dx += dz1[o] * W1(o, i);
      }
      g.dx += dx * dx;
    }
  }
  for (int o = 0; o < 4; ++o) {
    for (int i = 0; i < 3; ++i) g.dw1 += dW1[o][i] * dW1[o][i], g.w1 += W1(o, i) * W1(o, i);
  }
  for (int o = 0; o < 2; ++o) {
    for (int i = 0; i < 4; ++i) g.dw2 += dW2[o][i] * dW2[o][i], g.w2 += W2(o, i) * W2(o, i);
  }
  for (double* v : {&g.dw1, &g.dw2, &g.dx, &g.dh, &g.w1, &g.w2}) *v = std::sqrt(*v);
  return g;
}

void expect_relative(double actual, double expected, double tolerance, const char* what) {
  EXPECT_NEAR(actual, expected, tolerance * std::abs(expected)) << what;
}

TEST(GradientNormsOnce, MatchHandComputedNormsAndLeaveTheModelAsItWas) {
  TwoLayerNet net;
  const HandGradients g = hand_gradients(net);
  ASSERT_GT(g.dw1, 0.0);
  const auto samples = gradient_norms_once(*net.model, net.x, net.y);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].parameter, "0.weight");
  EXPECT_EQ(samples[1].parameter, "1.weight");
  EXPECT_EQ(samples[0].layer_index, 0u);
  EXPECT_EQ(samples[1].layer_index, 1u);
  expect_relative(samples[0].weight_norm, g.w1, 1e-6, "||W1||");
  expect_relative(samples[1].weight_norm, g.w2, 1e-6, "||W2||");
  expect_relative(samples[0].grad_norm, g.dw1, 1e-5, "||dW1||");
  expect_relative(samples[1].grad_norm, g.dw2, 1e-5, "||dW2||");
  expect_relative(samples[0].input_grad_norm, g.dx, 1e-5, "||dL/dx||");
  expect_relative(samples[1].input_grad_norm, g.dh, 1e-5, "||dL/dh||");
  for (const auto& s : samples) {
    EXPECT_EQ(s.step, 0);
    EXPECT_TRUE(std::isnan(s.update_ratio));
  }
  for (nn::Parameter* p : net.model->net.parameters()) {
    for (const float v : p->grad.span()) ASSERT_EQ(v, 0.0f) << p->name;
  }
  EXPECT_EQ(net.model->net.observer(), nullptr);
}

TEST(GradientNormsOnce, RestoresBatchNormStatisticsAndGradients) {
  Rng rng(8);
  auto model = empty_model({3});
  model->net.add(std::make_unique<nn::Linear>(3, 4));
  model->net.add(std::make_unique<nn::BatchNorm>(4));
  model->net.add(std::make_unique<nn::Linear>(4, 2));
  for (nn::Parameter* p : model->net.parameters()) {
    fill_normal(*p, rng, 0.5f);
    p->grad.fill(0.25f);  // a gradient accumulated by the caller stays
  }
  std::vector<Tensor> buffers;
  for (nn::Buffer* b : model->net.buffers()) buffers.push_back(b->value.clone());
  const std::vector<std::int32_t> y = {0, 1, 1, 0, 1};
  const auto samples = gradient_norms_once(*model, uniform_tensor({5, 3}, rng, -1, 1), y);
  EXPECT_EQ(samples.size(), 2u);  // BatchNorm's weight is a scale, not a weight
  EXPECT_GT(samples[0].grad_norm, 0.0);
  for (nn::Parameter* p : model->net.parameters()) {
    for (const float v : p->grad.span()) ASSERT_EQ(v, 0.25f) << p->name;
  }
  std::size_t i = 0;
  for (nn::Buffer* b : model->net.buffers()) {
    for (std::size_t k = 0; k < b->value.size(); ++k)
      ASSERT_EQ(b->value[k], buffers[i][k]) << b->name;
    ++i;
  }
  EXPECT_THROW((void)gradient_norms_once(*model, Tensor({5, 4}), y), std::invalid_argument);
}

// ---- the monitor during training ---------------------------------------------------------------

// One training step as Trainer::train_epoch takes it, with plain SGD.
void train_step(nn::Model& model, const Tensor& x, std::span<const std::int32_t> y,
                std::int64_t step, train::TrainObserver& observer, float lr) {
  const Tensor logits = model.net.forward(x, nn::Pass{nn::Mode::kTrain, 0});
  const nn::LossResult loss = nn::softmax_cross_entropy(logits, y);
  for (nn::Parameter* p : model.net.parameters()) p->grad.zero();
  (void)model.net.backward(loss.grad);
  model.net.release();
  observer.after_backward(step, model);
  for (nn::Parameter* p : model.net.parameters()) {
    for (std::size_t i = 0; i < p->value.size(); ++i) p->value[i] -= lr * p->grad[i];
  }
  observer.after_update(step, model);
}

TEST(GradientFlowMonitor, SamplesStepsOneThenEveryNAndMatchesHandNorms) {
  TwoLayerNet net;
  nn::SequentialObserver other;
  net.model->net.set_observer(&other);
  GradientFlowMonitor monitor(GradientFlowOptions{.every = 3});
  monitor.attach(*net.model, 1);
  std::vector<double> expected_ratio;
  for (std::int64_t step = 1; step <= 11; ++step) {
    const bool sampled = step == 1 || step == 4 || step == 7 || step == 10;
    EXPECT_EQ(monitor.sampled(step), sampled) << step;
    // Installed for sampled steps only; the other observer is back in between.
    EXPECT_EQ(net.model->net.observer() == &other, !sampled) << step;
    if (sampled) {
      const HandGradients g = hand_gradients(net);
      expected_ratio.push_back(0.1 * g.dw1 / g.w1);
      expected_ratio.push_back(0.1 * g.dw2 / g.w2);
    }
    train_step(*net.model, net.x, net.y, step, monitor, 0.1f);
  }
  EXPECT_EQ(net.model->net.observer(), &other);
  const auto& samples = monitor.samples();
  ASSERT_EQ(samples.size(), 8u);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i].step, std::vector<std::int64_t>({1, 1, 4, 4, 7, 7, 10, 10})[i]);
    EXPECT_EQ(samples[i].layer_index, i % 2);
    EXPECT_TRUE(std::isfinite(samples[i].input_grad_norm)) << i;
    expect_relative(samples[i].update_ratio, expected_ratio[i], 1e-3, "update ratio");
  }
  // Step 1 sees the initial weights: its norms are the hand computation's.
  const HandGradients initial = hand_gradients(*std::make_unique<TwoLayerNet>());
  expect_relative(samples[0].grad_norm, initial.dw1, 1e-5, "||dW1|| at step 1");
  expect_relative(samples[1].input_grad_norm, initial.dh, 1e-5, "||dL/dh|| at step 1");
  EXPECT_THROW(GradientFlowMonitor(GradientFlowOptions{.every = 0}), std::invalid_argument);
}

TEST(GradientFlowMonitor, WithoutAttachTheFirstStepHasNoInputGradient) {
  TwoLayerNet net;
  const HandGradients g = hand_gradients(net);
  GradientFlowMonitor monitor(GradientFlowOptions{.every = 2});
  train_step(*net.model, net.x, net.y, 1, monitor, 0.1f);
  train_step(*net.model, net.x, net.y, 2, monitor, 0.1f);
  train_step(*net.model, net.x, net.y, 3, monitor, 0.1f);
  ASSERT_EQ(monitor.samples().size(), 4u);
  EXPECT_TRUE(std::isnan(monitor.samples()[0].input_grad_norm));
  expect_relative(monitor.samples()[0].grad_norm, g.dw1, 1e-5, "||dW1|| at step 1");
  EXPECT_EQ(monitor.samples()[2].step, 3);
  EXPECT_TRUE(std::isfinite(monitor.samples()[2].input_grad_norm));
  EXPECT_EQ(net.model->net.observer(), nullptr);
}

// ---- the recorder ------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              ("relulab_diag_test_" + std::to_string(Rng(std::random_device{}()).next_u64()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Two epochs of 4 steps with gradients every 3 steps: samples at steps 1, 4, 7.
void record_two_epochs(DiagnosticsRecorder& recorder, TwoLayerNet& net, int first_epoch = 1) {
  std::int64_t step = (first_epoch - 1) * 4;
  for (int epoch = first_epoch; epoch < first_epoch + 2; ++epoch) {
    for (int b = 0; b < 4; ++b) train_step(*net.model, net.x, net.y, ++step, recorder, 0.1f);
    train::EpochMetrics m;
    m.epoch = epoch;
    m.step = step;
    recorder.on_epoch(m, *net.model);
  }
}

TEST(DiagnosticsRecorder, WritesParseableFilesThatMatchWhatItKeeps) {
  TempDir dir;
  TwoLayerNet net;
  DiagnosticsRecorder recorder(net.x, ProbeOptions{.histogram_bins = 5},
                               GradientFlowOptions{.every = 3}, dir.path());
  ASSERT_TRUE(recorder.record_initial(*net.model).is_ok());
  record_two_epochs(recorder, net);
  ASSERT_TRUE(recorder.status().is_ok()) << recorder.status().message();

  ASSERT_EQ(recorder.epochs().size(), 3u);
  const auto jsonl = lines_of(dir.path() / "diagnostics.jsonl");
  ASSERT_EQ(jsonl.size(), 3u);  // one watched layer, epochs 0, 1, 2
  for (std::size_t e = 0; e < 3; ++e) {
    const auto j = nlohmann::json::parse(jsonl[e]);
    const LayerActivationStats& s = recorder.epochs()[e].layers.at(0);
    EXPECT_EQ(j.at("epoch").get<int>(), static_cast<int>(e));
    EXPECT_EQ(j.at("step").get<std::int64_t>(), static_cast<std::int64_t>(4 * e));
    EXPECT_EQ(j.at("layer_index").get<std::size_t>(), 0u);
    EXPECT_EQ(j.at("units").get<std::int64_t>(), 4);
    EXPECT_EQ(j.at("dead_fraction").get<double>(), s.dead_fraction);
    EXPECT_EQ(j.at("mean").get<double>(), s.mean);
    EXPECT_TRUE(j.at("saturated_fraction").is_null());
    EXPECT_EQ(j.at("histogram").get<std::vector<std::int64_t>>(), s.histogram);
    EXPECT_EQ(j.at("histogram").size(), 5u);
  }
  const auto csv = lines_of(dir.path() / "gradients.csv");
  ASSERT_EQ(csv.size(), 1u + 6u);  // header, 2 weights at steps 1, 4, 7
  EXPECT_EQ(csv[0] + "\n", gradients_csv_header());
  ASSERT_EQ(recorder.gradients().size(), 6u);
  for (std::size_t i = 0; i < 6; ++i)
    EXPECT_EQ(csv[i + 1] + "\n", to_csv_row(recorder.gradients()[i]));
  EXPECT_EQ(csv[5].substr(0, 4), "7,0,");
}

TEST(DiagnosticsRecorder, ResumeKeepsEarlierLinesUpToTheCheckpoint) {
  TempDir dir;
  {
    TwoLayerNet net;
    DiagnosticsRecorder first(net.x, {}, GradientFlowOptions{.every = 3}, dir.path());
    ASSERT_TRUE(first.record_initial(*net.model).is_ok());
    record_two_epochs(first, net);  // epochs 1 and 2: steps 1..8
  }
  TwoLayerNet net;
  DiagnosticsRecorder resumed(net.x, {}, GradientFlowOptions{.every = 3}, dir.path());
  ASSERT_TRUE(resumed.resume(*net.model, 1, 4).is_ok());  // the checkpoint after epoch 1
  record_two_epochs(resumed, net, 2);                     // epochs 2, 3: steps 5..12
  ASSERT_TRUE(resumed.status().is_ok());
  std::vector<int> epochs;
  for (const auto& line : lines_of(dir.path() / "diagnostics.jsonl")) {
    epochs.push_back(nlohmann::json::parse(line).at("epoch").get<int>());
  }
  EXPECT_EQ(epochs, (std::vector<int>{0, 1, 2, 3}));
  std::vector<std::string> steps;
  for (const auto& line : lines_of(dir.path() / "gradients.csv"))
    steps.push_back(line.substr(0, line.find(',')));
  EXPECT_EQ(steps, (std::vector<std::string>{"step", "1", "1", "4", "4", "7", "7", "10", "10"}));
}

TEST(DiagnosticsRecorder, ReportsFilesItCannotWriteOrRead) {
  TempDir dir;
  TwoLayerNet net;
  std::ofstream(dir.path() / "file") << "x";
  DiagnosticsRecorder blocked(net.x, {}, {}, dir.path() / "file" / "run");
  const Status s = blocked.record_initial(*net.model);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("file"), std::string::npos) << s.message();
  EXPECT_EQ(blocked.status().code(), StatusCode::kIoError);
  EXPECT_EQ(blocked.epochs().size(), 1u);  // the probe itself is kept

  std::ofstream(dir.path() / "diagnostics.jsonl") << "{\"epoch\": 0}\nnot json\n";
  DiagnosticsRecorder corrupt(net.x, {}, {}, dir.path());
  const Status c = corrupt.resume(*net.model, 1, 4);
  EXPECT_EQ(c.code(), StatusCode::kCorruptData);
  EXPECT_NE(c.message().find("line 2"), std::string::npos) << c.message();

  EXPECT_THROW(DiagnosticsRecorder(Tensor({0, 3}), {}, {}, dir.path()), std::invalid_argument);
  EXPECT_THROW(DiagnosticsRecorder(net.x, ProbeOptions{.batch = 0}, {}, dir.path()),
               std::invalid_argument);
  EXPECT_THROW(DiagnosticsRecorder(net.x, {}, GradientFlowOptions{.every = 0}, dir.path()),
               std::invalid_argument);
}

}  // namespace
}  // namespace relulab::diag
