// The dense layers and Sequential: finite-difference gradients, naive references, hand-computed
// batch-norm statistics, what each layer keeps for backward, and every error path.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "activation_specs.hpp"
#include "layer_gradcheck.hpp"
#include "relulab/nn/activation_layer.hpp"
#include "relulab/nn/batch_norm.hpp"
#include "relulab/nn/dropout.hpp"
#include "relulab/nn/flatten.hpp"
#include "relulab/nn/linear.hpp"
#include "relulab/nn/sequential.hpp"
#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

using relulab::testing::expect_gradients_match;
using relulab::testing::expect_invalid;
using relulab::testing::random_tensor;
using relulab::testing::randomize_parameters;

const Pass kTrain{Mode::kTrain, 7};
const Pass kEval{Mode::kEval, 7};

// Backward before a training forward (here after release()), and backward with a dy of the wrong
// shape after one on x, throw std::invalid_argument naming the layer and both shapes.
void expect_backward_errors(Layer& layer, const Tensor& x, const Shape& wrong_dy) {
  layer.release();
  const std::string name = layer.describe();
  expect_invalid([&] { layer.backward(Tensor(wrong_dy)); }, {name, "backward"});
  const Shape expected = layer.forward(x, kTrain).shape();
  expect_invalid([&] { layer.backward(Tensor(wrong_dy)); },
                 {name, to_string(wrong_dy), to_string(expected)});
}

// z = x W^T + b in double, [N, out].
std::vector<double> naive_linear(Linear& layer, const Tensor& x) {
  const auto n = static_cast<std::size_t>(x.dim(0));
  const auto in = static_cast<std::size_t>(layer.in_features());
  const auto out = static_cast<std::size_t>(layer.out_features());
  std::vector<double> z(n * out);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < out; ++c) {
      double s = layer.has_bias() ? layer.bias()->value[c] : 0.0;
      for (std::size_t k = 0; k < in; ++k) {
        s += static_cast<double>(x[r * in + k]) * layer.weight().value[c * in + k];
      }
      z[r * out + c] = s;
    }
  }
  return z;
}

// A random [n, in] input whose pre-activations x W^T + b all lie at least `margin` from 0, so
// finite differences (steps of ~1e-2) never cross a kink of ReLU-like activations.
Tensor input_away_from_kinks(Linear& layer, std::int64_t n, Rng& rng, double margin = 0.1) {
  const std::int64_t in = layer.in_features();
  Tensor x({n, in});
  for (std::int64_t r = 0; r < n; ++r) {
    Tensor row = x.rows(r, 1);
    for (int attempt = 0;; ++attempt) {
      if (attempt == 1000) throw std::runtime_error("no input row away from the kinks");
      for (std::size_t k = 0; k < row.size(); ++k) row[k] = rng.normal();
      bool ok = true;
      for (double z : naive_linear(layer, row)) ok = ok && std::fabs(z) >= margin;
      if (ok) break;
    }
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// Linear
// ---------------------------------------------------------------------------------------------

TEST(Linear, ForwardMatchesNaiveTripleLoop) {
  for (const bool bias : {true, false}) {
    Rng rng(3);
    Linear layer(70, 19, std::nullopt, bias);
    randomize_parameters(layer, rng);
    const Tensor x = random_tensor({33, 70}, rng);
    for (const Pass& pass : {kEval, kTrain}) {
      const Tensor y = layer.forward(x, pass);
      ASSERT_EQ(y.shape(), (Shape{33, 19}));
      const std::vector<double> z = naive_linear(layer, x);
      for (std::size_t i = 0; i < z.size(); ++i) {
        EXPECT_NEAR(y[i], z[i], 1e-5 * std::max(1.0, std::fabs(z[i]))) << i;
      }
    }
  }
}

TEST(Linear, FusedActivationMatchesNaiveThenActivation) {
  for (const Activation a : {Activation::kReLU, Activation::kTanh, Activation::kGELU}) {
    const ActivationSpec spec = default_spec(a);
    Rng rng(4);
    Linear layer(40, 24, spec);
    randomize_parameters(layer, rng);
    const Tensor x = random_tensor({17, 40}, rng);
    const std::vector<double> z = naive_linear(layer, x);
    std::vector<float> zf(z.begin(), z.end());
    std::vector<float> expected(zf.size());
    activation_forward(spec, zf, expected);
    for (const Pass& pass : {kEval, kTrain}) {
      const Tensor y = layer.forward(x, pass);
      for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_NEAR(y[i], expected[i], 1e-5 * std::max(1.0f, std::fabs(expected[i])))
            << describe(spec) << " " << i;
      }
    }
  }
}

TEST(Linear, GradientsMatchFiniteDifferences) {
  std::vector<std::optional<ActivationSpec>> activations{std::nullopt};
  for (const Activation a : {Activation::kReLU, Activation::kLeakyReLU, Activation::kELU,
                             Activation::kGELU, Activation::kTanh, Activation::kSigmoid}) {
    activations.push_back(default_spec(a));
  }
  activations.push_back(ActivationSpec{Activation::kLeakyReLU, {0.2f, 0.0f}});
  for (const auto& activation : activations) {
    for (const bool bias : {true, false}) {
      Rng rng(5);
      Linear layer(7, 6, activation, bias);
      randomize_parameters(layer, rng);
      const Tensor x = input_away_from_kinks(layer, 5, rng);
      SCOPED_TRACE(layer.describe());
      expect_gradients_match(layer, x);
    }
  }
}

TEST(Linear, BackwardAddsIntoGradients) {
  Rng rng(6);
  Linear layer(5, 4, default_spec(Activation::kTanh));
  randomize_parameters(layer, rng);
  const Tensor x = random_tensor({3, 5}, rng);
  const Tensor dy = random_tensor({3, 4}, rng);
  layer.forward(x, kTrain);
  layer.backward(dy);
  const Tensor w1 = layer.weight().grad.clone();
  const Tensor b1 = layer.bias()->grad.clone();
  layer.backward(dy);
  for (std::size_t i = 0; i < w1.size(); ++i) EXPECT_FLOAT_EQ(layer.weight().grad[i], 2 * w1[i]);
  for (std::size_t i = 0; i < b1.size(); ++i) EXPECT_FLOAT_EQ(layer.bias()->grad[i], 2 * b1[i]);
  // db = column sums of dz = dy * (1 - y^2).
  const Tensor y = layer.forward(x, kEval);
  for (std::size_t c = 0; c < 4; ++c) {
    double s = 0;
    for (std::size_t r = 0; r < 3; ++r) s += dy[r * 4 + c] * (1.0 - y[r * 4 + c] * y[r * 4 + c]);
    EXPECT_NEAR(b1[c], s, 1e-5);
  }
}

TEST(Linear, KeepsInputHandleAndTheLeastForTheActivation) {
  Rng rng(7);
  const Tensor x = random_tensor({9, 5}, rng);
  const std::size_t x_bytes = 9 * 5 * sizeof(float);
  {  // no activation: the input only
    Linear layer(5, 3);
    layer.forward(x, kTrain);
    const auto saved = layer.saved();
    ASSERT_EQ(saved.size(), 1u);
    EXPECT_EQ(saved[0].data, x.data());
    EXPECT_EQ(saved[0].bytes, x_bytes);
  }
  {  // ReLU: the input and a 1-bit mask
    Linear layer(5, 3, default_spec(Activation::kReLU));
    layer.forward(x, kTrain);
    const auto saved = layer.saved();
    ASSERT_EQ(saved.size(), 2u);
    EXPECT_EQ(saved[0].data, x.data());
    EXPECT_EQ(saved[1].bytes, relu_mask_bytes(27));
  }
  {  // tanh: the input and the output itself
    Linear layer(5, 3, default_spec(Activation::kTanh));
    const Tensor y = layer.forward(x, kTrain);
    const auto saved = layer.saved();
    ASSERT_EQ(saved.size(), 2u);
    EXPECT_EQ(saved[1].data, y.data());
    EXPECT_EQ(saved[1].bytes, y.bytes());
  }
  {  // GELU: the input and the pre-activation, which is not the output
    Linear layer(5, 3, default_spec(Activation::kGELU));
    const Tensor y = layer.forward(x, kTrain);
    const auto saved = layer.saved();
    ASSERT_EQ(saved.size(), 2u);
    EXPECT_NE(saved[1].data, y.data());
    EXPECT_EQ(saved[1].bytes, y.bytes());
  }
  {  // eval keeps nothing; release() drops what training kept
    Linear layer(5, 3, default_spec(Activation::kReLU));
    layer.forward(x, kEval);
    EXPECT_TRUE(layer.saved().empty());
    layer.forward(x, kTrain);
    EXPECT_FALSE(layer.saved().empty());
    layer.release();
    EXPECT_TRUE(layer.saved().empty());
    expect_invalid([&] { layer.backward(Tensor({9, 3})); }, {"linear(5 -> 3, relu)", "backward"});
  }
}

TEST(Linear, ParametersDescribeTheirRole) {
  Linear layer(784, 512, default_spec(Activation::kReLU));
  const auto params = layer.parameters();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0]->name, "weight");
  EXPECT_EQ(params[0]->value.shape(), (Shape{512, 784}));
  EXPECT_EQ(params[0]->grad.shape(), (Shape{512, 784}));
  EXPECT_EQ(params[0]->role, ParamRole::kWeight);
  EXPECT_EQ(params[0]->fan_in, 784);
  EXPECT_EQ(params[0]->fan_out, 512);
  ASSERT_TRUE(params[0]->feeds.has_value());
  EXPECT_EQ(params[0]->feeds->kind, Activation::kReLU);
  EXPECT_EQ(params[1]->name, "bias");
  EXPECT_EQ(params[1]->value.shape(), (Shape{512}));
  EXPECT_EQ(params[1]->role, ParamRole::kBias);
  EXPECT_EQ(Linear(3, 2, std::nullopt, false).parameters().size(), 1u);
  EXPECT_EQ(layer.describe(), "linear(784 -> 512, relu)");
  EXPECT_EQ(Linear(3, 2, std::nullopt, false).describe(), "linear(3 -> 2, no bias)");
}

TEST(Linear, ShapeErrorsNameTheLayerAndShapes) {
  Linear layer(4, 3);
  expect_invalid([&] { layer.forward(Tensor({2, 5}), kTrain); }, {"linear(4 -> 3)", "[2, 5]"});
  expect_invalid([&] { layer.forward(Tensor({2, 4, 1}), kTrain); }, {"linear(4 -> 3)"});
  const Result<Shape> bad = layer.output_shape({2, 5});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("[2, 5]"), std::string::npos);
  EXPECT_EQ(layer.output_shape({6, 4}).value(), (Shape{6, 3}));
  expect_backward_errors(layer, Tensor({2, 4}), {2, 4});
  EXPECT_THROW(Linear(0, 3), std::invalid_argument);
  EXPECT_THROW(Linear(3, 0), std::invalid_argument);
  EXPECT_THROW(Linear(3, 2, ActivationSpec{Activation::kELU, {-1.0f, 0.0f}}),
               std::invalid_argument);
}

TEST(Linear, BiasGradientSameOnOneThreadAndMany) {
  Rng rng(24);
  const Tensor x = random_tensor({256, 8}, rng);
  const Tensor dy = random_tensor({256, 256}, rng);  // N * out above kParallelThreshold
  std::vector<Tensor> grads;
  const int before = thread_count();
  for (const int threads : {1, 2, 3}) {
    set_thread_count(threads);
    Linear layer(8, 256);
    layer.forward(x, kTrain);
    layer.backward(dy);
    grads.push_back(layer.bias()->grad);
  }
  set_thread_count(before);
  for (std::size_t c = 0; c < 256; ++c) {
    double s = 0;
    for (std::size_t r = 0; r < 256; ++r) s += dy[r * 256 + c];
    EXPECT_EQ(grads[0][c], static_cast<float>(s)) << c;
    EXPECT_EQ(grads[1][c], grads[0][c]) << c;
    EXPECT_EQ(grads[2][c], grads[0][c]) << c;
  }
}

TEST(Linear, EmptyBatch) {
  Rng rng(22);
  Linear layer(4, 3, default_spec(Activation::kReLU));
  randomize_parameters(layer, rng);
  const Tensor y = layer.forward(Tensor({0, 4}), kTrain);
  EXPECT_EQ(y.shape(), (Shape{0, 3}));
  const Tensor dx = layer.backward(Tensor({0, 3}));
  EXPECT_EQ(dx.shape(), (Shape{0, 4}));
  for (const Parameter* p : layer.parameters()) {
    for (std::size_t i = 0; i < p->grad.size(); ++i) EXPECT_EQ(p->grad[i], 0.0f) << p->name;
  }
}

// ---------------------------------------------------------------------------------------------
// ActivationLayer
// ---------------------------------------------------------------------------------------------

// Standard normal values scaled by 2, at least 0.1 from every kink of the table's piecewise
// entries (0; +-3 for the hard ones; 6 for ReLU6).
Tensor input_away_from_activation_kinks(Shape shape, Rng& rng) {
  Tensor x(std::move(shape));
  for (std::size_t i = 0; i < x.size(); ++i) {
    float v = 0;
    bool near = true;
    while (near) {
      v = 2.0f * rng.normal();
      near = false;
      for (const float kink : {0.0f, -3.0f, 3.0f, 6.0f}) near = near || std::fabs(v - kink) < 0.1f;
    }
    x[i] = v;
  }
  return x;
}

TEST(ActivationLayer, EveryTableEntryMatchesFiniteDifferences) {
  for (const ActivationSpec& spec : relulab::test::specs_under_test()) {
    ActivationLayer layer(spec);
    SCOPED_TRACE(layer.describe());
    Rng rng(8);
    const Tensor x = input_away_from_activation_kinks({4, 3, 5}, rng);
    expect_gradients_match(layer, x);
    // Eval output equals the kernel's.
    const Tensor y = layer.forward(x, kEval);
    std::vector<float> expected(x.size());
    if (spec.kind == Activation::kPReLU) {
      prelu_forward(1, 1, x.size(), x.span(), layer.parameters()[0]->value.span(), expected);
    } else {
      activation_forward(spec, x.span(), expected);
    }
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], expected[i]) << i;
  }
}

TEST(ActivationLayer, SavesMaskOutputOrInputByTheRule) {
  Rng rng(9);
  const Tensor x = random_tensor({6, 11}, rng);
  for (const ActivationInfo& info : activation_table()) {
    ActivationLayer layer(default_spec(info.id));
    const Tensor y = layer.forward(x, kTrain);
    const auto saved = layer.saved();
    ASSERT_EQ(saved.size(), 1u) << info.name;
    if (info.id == Activation::kReLU) {
      EXPECT_EQ(saved[0].bytes, relu_mask_bytes(66)) << info.name;
    } else if (info.backward_from_output && info.id != Activation::kPReLU) {
      EXPECT_EQ(saved[0].data, y.data()) << info.name;
    } else {  // includes learnable PReLU, whose slope gradient needs x
      EXPECT_EQ(saved[0].data, x.data()) << info.name;
    }
    layer.forward(x, kEval);
    EXPECT_TRUE(layer.saved().empty()) << info.name;
  }
}

TEST(ActivationLayer, PReluPerChannelAndShared) {
  Rng rng(10);
  const ActivationSpec prelu = default_spec(Activation::kPReLU);
  {
    ActivationLayer layer(prelu, 3);
    ASSERT_EQ(layer.parameters().size(), 1u);
    Parameter& slope = *layer.parameters()[0];
    EXPECT_EQ(slope.name, "weight");
    EXPECT_EQ(slope.role, ParamRole::kSlope);
    ASSERT_EQ(slope.value.shape(), (Shape{3}));
    for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(slope.value[c], 0.25f);
    slope.value[0] = 0.1f;
    slope.value[1] = -0.3f;
    slope.value[2] = 0.6f;
    const Tensor x = input_away_from_activation_kinks({4, 3, 2, 3}, rng);
    expect_gradients_match(layer, x);
    const Tensor y = layer.forward(x, kEval);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::size_t c = (i / 6) % 3;
      EXPECT_FLOAT_EQ(y[i], x[i] > 0 ? x[i] : slope.value[c] * x[i]) << i;
    }
    // Rank 2: channels are the features.
    ActivationLayer dense(prelu, 5);
    expect_gradients_match(dense, input_away_from_activation_kinks({3, 5}, rng));
  }
  {
    ActivationLayer layer(prelu);
    Parameter& slope = *layer.parameters()[0];
    ASSERT_EQ(slope.value.shape(), (Shape{1}));
    const Tensor x = input_away_from_activation_kinks({5, 4}, rng);
    expect_gradients_match(layer, x);
    // The shared slope's gradient: sum of dy * min(x, 0).
    slope.grad.zero();
    const Tensor dy = random_tensor({5, 4}, rng);
    layer.forward(x, kTrain);
    layer.backward(dy);
    double expected = 0;
    for (std::size_t i = 0; i < x.size(); ++i) expected += dy[i] * std::min(x[i], 0.0f);
    EXPECT_NEAR(slope.grad[0], expected, 1e-5);
  }
}

TEST(ActivationLayer, Errors) {
  const ActivationSpec prelu = default_spec(Activation::kPReLU);
  EXPECT_THROW(ActivationLayer(default_spec(Activation::kReLU), 3), std::invalid_argument);
  EXPECT_THROW(ActivationLayer(prelu, -1), std::invalid_argument);
  EXPECT_THROW(ActivationLayer(ActivationSpec{Activation::kSoftplus, {0.0f, 20.0f}}),
               std::invalid_argument);
  ActivationLayer layer(prelu, 3);
  expect_invalid(
      [&] {
        layer.forward(Tensor({2, 4}), kTrain);
      },
      {"prelu", "[2, 4]", "[N, 3, ...]"});
  EXPECT_FALSE(layer.output_shape({2}).is_ok());
  expect_backward_errors(layer, Tensor({2, 3, 2}), {2, 3, 3});
  ActivationLayer relu(default_spec(Activation::kReLU));
  expect_backward_errors(relu, Tensor({2, 3}), {3, 2});
}

// ---------------------------------------------------------------------------------------------
// BatchNorm
// ---------------------------------------------------------------------------------------------

TEST(BatchNorm, TrainGradientsMatchFiniteDifferences) {
  Rng rng(11);
  {
    BatchNorm layer(5);
    randomize_parameters(layer, rng);
    expect_gradients_match(layer, random_tensor({6, 5}, rng, 2.0f));
  }
  {
    BatchNorm layer(3);
    randomize_parameters(layer, rng);
    expect_gradients_match(layer, random_tensor({2, 3, 3, 4}, rng, 2.0f));
  }
}

// Per channel of x [outer, c, inner]: mean and biased variance in double.
void channel_stats(const Tensor& x, std::size_t channels, std::vector<double>& mean,
                   std::vector<double>& var) {
  const std::size_t outer = static_cast<std::size_t>(x.dim(0));
  const std::size_t inner = x.size() / (outer * channels);
  mean.assign(channels, 0);
  var.assign(channels, 0);
  const double m = static_cast<double>(outer * inner);
  for (std::size_t i = 0; i < x.size(); ++i) mean[(i / inner) % channels] += x[i] / m;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = (i / inner) % channels;
    var[c] += (x[i] - mean[c]) * (x[i] - mean[c]) / m;
  }
}

TEST(BatchNorm, TrainNormalisesAndUpdatesRunningStatistics) {
  for (const Shape& shape : {Shape{8, 3}, Shape{2, 3, 2, 5}}) {
    Rng rng(12);
    BatchNorm layer(3, 1e-5f, 0.25f);
    randomize_parameters(layer, rng);
    const Tensor x = random_tensor(shape, rng, 3.0f);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += 10.0f;  // a large mean
    const Tensor y = layer.forward(x, kTrain);
    std::vector<double> mean, var;
    channel_stats(x, 3, mean, var);
    const double m = static_cast<double>(x.size() / 3);
    const std::size_t inner = x.size() / (static_cast<std::size_t>(shape[0]) * 3);
    const Tensor& gamma = layer.parameters()[0]->value;
    const Tensor& beta = layer.parameters()[1]->value;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::size_t c = (i / inner) % 3;
      const double expected = gamma[c] * (x[i] - mean[c]) / std::sqrt(var[c] + 1e-5) + beta[c];
      EXPECT_NEAR(y[i], expected, 2e-5) << to_string(shape) << " " << i;
    }
    const auto buffers = layer.buffers();
    ASSERT_EQ(buffers.size(), 2u);
    EXPECT_EQ(buffers[0]->name, "running_mean");
    EXPECT_EQ(buffers[1]->name, "running_var");
    for (std::size_t c = 0; c < 3; ++c) {
      EXPECT_NEAR(buffers[0]->value[c], 0.75 * 0.0 + 0.25 * mean[c], 1e-5);
      EXPECT_NEAR(buffers[1]->value[c], 0.75 * 1.0 + 0.25 * var[c] * m / (m - 1), 1e-5);
    }
  }
}

TEST(BatchNorm, RunningStatisticsOfOneStepByHand) {
  // One feature, x = 1, 2, 3, 4: mean 2.5, biased variance 1.25, unbiased 5/3.
  BatchNorm layer(1, 1e-5f, 0.1f);
  Tensor x({4, 1});
  for (std::size_t i = 0; i < 4; ++i) x[i] = static_cast<float>(i + 1);
  const Tensor y = layer.forward(x, kTrain);
  EXPECT_NEAR(layer.buffers()[0]->value[0], 0.9 * 0.0 + 0.1 * 2.5, 1e-7);
  EXPECT_NEAR(layer.buffers()[1]->value[0], 0.9 * 1.0 + 0.1 * 5.0 / 3.0, 1e-7);
  // y = (x - 2.5) / sqrt(1.25 + 1e-5).
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(y[i], (static_cast<double>(i) + 1 - 2.5) / std::sqrt(1.25 + 1e-5), 1e-6) << i;
  }
  // dy = 1 everywhere: dbeta = 4, dgamma = sum(xhat) = 0, dx = 0.
  const Tensor dx = layer.backward(Tensor::filled({4, 1}, 1.0f));
  EXPECT_FLOAT_EQ(layer.parameters()[1]->grad[0], 4.0f);
  EXPECT_NEAR(layer.parameters()[0]->grad[0], 0.0f, 1e-6);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(dx[i], 0.0f, 1e-6) << i;
}

TEST(BatchNorm, EvalUsesRunningStatisticsAndKeepsNothing) {
  BatchNorm layer(2, 0.01f);
  layer.parameters()[0]->value[0] = 2.0f;
  layer.parameters()[0]->value[1] = -1.0f;
  layer.parameters()[1]->value[0] = 0.5f;
  layer.parameters()[1]->value[1] = 3.0f;
  layer.buffers()[0]->value[0] = 1.0f;
  layer.buffers()[0]->value[1] = -2.0f;
  layer.buffers()[1]->value[0] = 3.99f;  // sqrt(3.99 + 0.01) = 2
  layer.buffers()[1]->value[1] = 0.24f;  // sqrt(0.25) = 0.5
  Tensor x({1, 2, 1, 2});
  x[0] = 5.0f;   // c0: 2 * (5 - 1) / 2 + 0.5 = 4.5
  x[1] = -1.0f;  // c0: 2 * (-1 - 1) / 2 + 0.5 = -1.5
  x[2] = -2.5f;  // c1: -(-2.5 + 2) / 0.5 + 3 = 4
  x[3] = 0.0f;   // c1: -(0 + 2) / 0.5 + 3 = -1
  const Tensor y = layer.forward(x, kEval);
  const float expected[] = {4.5f, -1.5f, 4.0f, -1.0f};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(y[i], expected[i], 1e-5) << i;
  EXPECT_TRUE(layer.saved().empty());
  EXPECT_EQ(layer.buffers()[0]->value[0], 1.0f);  // eval does not update the statistics
  EXPECT_EQ(layer.buffers()[1]->value[1], 0.24f);
  // Eval on one example is fine; training on one value per channel is not.
  EXPECT_NO_THROW(layer.forward(Tensor({1, 2}), kEval));
  expect_invalid([&] { layer.forward(Tensor({1, 2}), kTrain); }, {"batchnorm(2)", "[1, 2]"});
}

TEST(BatchNorm, SavesInputAndPerChannelStatistics) {
  Rng rng(13);
  BatchNorm layer(4);
  const Tensor x = random_tensor({3, 4, 2, 2}, rng);
  layer.forward(x, kTrain);
  const auto saved = layer.saved();
  ASSERT_EQ(saved.size(), 3u);
  EXPECT_EQ(saved[0].data, x.data());
  EXPECT_EQ(saved[0].bytes, x.bytes());
  EXPECT_EQ(saved[1].bytes, 4 * sizeof(float));
  EXPECT_EQ(saved[2].bytes, 4 * sizeof(float));
  layer.release();
  EXPECT_TRUE(layer.saved().empty());
}

TEST(BatchNorm, SameResultsOnOneThreadAndMany) {
  Rng rng(23);
  const Tensor x = random_tensor({8, 4, 64, 64}, rng);  // above kParallelThreshold
  const Tensor dy = random_tensor(x.shape(), rng);
  std::vector<Tensor> results;
  const int before = thread_count();
  for (const int threads : {1, 2, 3}) {
    set_thread_count(threads);
    BatchNorm layer(4);
    const Tensor y = layer.forward(x, kTrain);
    const Tensor dx = layer.backward(dy);
    results.insert(results.end(), {y, dx, layer.parameters()[0]->grad, layer.buffers()[1]->value});
  }
  set_thread_count(before);
  for (std::size_t r = 4; r < results.size(); ++r) {
    for (std::size_t i = 0; i < results[r].size(); ++i) {
      ASSERT_EQ(results[r][i], results[r % 4][i]) << r << " " << i;
    }
  }
}

TEST(BatchNorm, Errors) {
  EXPECT_THROW(BatchNorm(0), std::invalid_argument);
  EXPECT_THROW(BatchNorm(3, 0.0f), std::invalid_argument);
  EXPECT_THROW(BatchNorm(3, 1e-5f, 1.5f), std::invalid_argument);
  BatchNorm layer(3);
  expect_invalid([&] { layer.forward(Tensor({2, 4}), kTrain); }, {"batchnorm(3)", "[2, 4]"});
  expect_invalid([&] { layer.forward(Tensor({2, 3, 4}), kTrain); }, {"batchnorm(3)", "[2, 3, 4]"});
  EXPECT_FALSE(layer.output_shape({2, 3, 4}).is_ok());
  EXPECT_EQ(layer.output_shape({2, 3, 4, 4}).value(), (Shape{2, 3, 4, 4}));
  expect_backward_errors(layer, Tensor({2, 3}), {2, 4});
}

// ---------------------------------------------------------------------------------------------
// Dropout
// ---------------------------------------------------------------------------------------------

TEST(Dropout, EvalIsTheIdentity) {
  Rng rng(14);
  Dropout layer(0.5f);
  const Tensor x = random_tensor({4, 8}, rng);
  const Tensor y = layer.forward(x, kEval);
  EXPECT_TRUE(y.shares_storage_with(x));
  EXPECT_EQ(y.shape(), x.shape());
  EXPECT_TRUE(layer.saved().empty());
}

TEST(Dropout, TrainKeepsAboutOneMinusPAndScales) {
  const float p = 0.3f;
  Dropout layer(p);
  Tensor x = Tensor::filled({100, 1000}, 2.0f);
  const Tensor y = layer.forward(x, kTrain);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] != 0.0f) {
      ++kept;
      EXPECT_FLOAT_EQ(y[i], 2.0f / (1.0f - p));
    }
  }
  // 1e5 Bernoulli(0.7) draws: standard deviation 0.0015 of the fraction.
  EXPECT_NEAR(static_cast<double>(kept) / 1e5, 0.7, 0.008);
  const auto saved = layer.saved();
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].bytes, 100000u / 8);
  // Backward passes dy exactly where the forward kept x, scaled alike.
  const Tensor dx = layer.backward(Tensor::filled({100, 1000}, 1.0f));
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_EQ(dx[i] == 0.0f, y[i] == 0.0f) << i;
}

TEST(Dropout, SameSeedAndStreamGiveTheSameMask) {
  Rng rng(15);
  const Tensor x = random_tensor({10, 30}, rng);
  Dropout a(0.5f), b(0.5f), other_stream(0.5f, 1);
  const Tensor ya = a.forward(x, kTrain);
  const Tensor yb = b.forward(x, kTrain);
  const Tensor yc = a.forward(x, Pass{Mode::kTrain, 8});
  const Tensor yd = other_stream.forward(x, kTrain);
  std::size_t same_c = 0, same_d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(ya[i], yb[i]) << i;
    same_c += (ya[i] == 0.0f) == (yc[i] == 0.0f);
    same_d += (ya[i] == 0.0f) == (yd[i] == 0.0f);
  }
  EXPECT_LT(same_c, x.size());
  EXPECT_LT(same_d, x.size());
}

TEST(Dropout, GradientsMatchFiniteDifferences) {
  Rng rng(16);
  Dropout layer(0.4f);
  expect_gradients_match(layer, random_tensor({5, 7}, rng));
}

TEST(Dropout, Errors) {
  EXPECT_NO_THROW(Dropout(0.0f));
  EXPECT_THROW(Dropout(1.0f), std::invalid_argument);
  EXPECT_THROW(Dropout(-0.1f), std::invalid_argument);
  EXPECT_THROW(Dropout(std::nanf("")), std::invalid_argument);
  Dropout layer(0.5f);
  EXPECT_EQ(layer.describe(), "dropout(p=0.5)");
  expect_backward_errors(layer, Tensor({2, 3}), {3, 2});
}

// ---------------------------------------------------------------------------------------------
// Flatten
// ---------------------------------------------------------------------------------------------

TEST(Flatten, ReshapesWithoutCopy) {
  Rng rng(17);
  Flatten layer;
  const Tensor x = random_tensor({2, 3, 4, 5}, rng);
  const Tensor y = layer.forward(x, kTrain);
  EXPECT_EQ(y.shape(), (Shape{2, 60}));
  EXPECT_TRUE(y.shares_storage_with(x));
  const Tensor dy = random_tensor({2, 60}, rng);
  const Tensor dx = layer.backward(dy);
  EXPECT_EQ(dx.shape(), x.shape());
  EXPECT_TRUE(dx.shares_storage_with(dy));
  EXPECT_TRUE(layer.saved().empty());
  EXPECT_EQ(layer.output_shape({7, 3}).value(), (Shape{7, 3}));
  EXPECT_EQ(layer.output_shape({7, 1, 28, 28}).value(), (Shape{7, 784}));
}

TEST(Flatten, Errors) {
  Flatten layer;
  EXPECT_FALSE(layer.output_shape({5}).is_ok());
  expect_invalid([&] { layer.forward(Tensor({5}), kTrain); }, {"flatten", "[5]"});
  expect_backward_errors(layer, Tensor({2, 2, 3}), {2, 5});
}

// ---------------------------------------------------------------------------------------------
// Sequential
// ---------------------------------------------------------------------------------------------

TEST(Sequential, LinearReluLinearMatchesFiniteDifferences) {
  Rng rng(18);
  Sequential net;
  auto first = std::make_unique<Linear>(6, 8);
  randomize_parameters(*first, rng);
  const Tensor x = input_away_from_kinks(*first, 4, rng);
  net.add(std::move(first));
  net.add(std::make_unique<ActivationLayer>(default_spec(Activation::kReLU)));
  net.add(std::make_unique<Linear>(8, 3));
  randomize_parameters(net.layer(2), rng);
  expect_gradients_match(net, x);
}

TEST(Sequential, NamesParametersAndBuffersByIndex) {
  Sequential net;
  net.add(std::make_unique<Flatten>());
  net.add(std::make_unique<Linear>(12, 4));
  auto inner = std::make_unique<Sequential>();
  inner->add(std::make_unique<BatchNorm>(4));
  inner->add(std::make_unique<ActivationLayer>(default_spec(Activation::kPReLU), 4));
  net.add(std::move(inner));
  std::vector<std::string> names;
  for (const Parameter* p : net.parameters()) names.push_back(p->name);
  EXPECT_EQ(names, (std::vector<std::string>{"1.weight", "1.bias", "2.0.weight", "2.0.bias",
                                             "2.1.weight"}));
  std::vector<std::string> buffers;
  for (const Buffer* b : net.buffers()) buffers.push_back(b->name);
  EXPECT_EQ(buffers, (std::vector<std::string>{"2.0.running_mean", "2.0.running_var"}));
  EXPECT_EQ(net.size(), 3u);
  EXPECT_EQ(net.layer(1).describe(), "linear(12 -> 4)");
  EXPECT_EQ(net.describe(),
            "sequential(0: flatten, 1: linear(12 -> 4), 2: sequential(0: batchnorm(4), 1: "
            "activation(prelu(init=0.25), 4 learnable slopes)))");
  EXPECT_EQ(net.output_shape({5, 3, 2, 2}).value(), (Shape{5, 4}));
  EXPECT_THROW(net.add(nullptr), std::invalid_argument);
}

struct RecordingObserver : SequentialObserver {
  std::vector<std::size_t> forward_order, backward_order;
  std::vector<Tensor> outputs, dxs, dys;
  void after_forward(std::size_t index, const Layer&, const Tensor& y) override {
    forward_order.push_back(index);
    outputs.push_back(y);
  }
  void after_backward(std::size_t index, const Layer&, const Tensor& dx,
                      const Tensor& dy) override {
    backward_order.push_back(index);
    dxs.push_back(dx);
    dys.push_back(dy);
  }
};

TEST(Sequential, ObserverSeesEveryLayerOnce) {
  Rng rng(19);
  Sequential net;
  net.add(std::make_unique<Linear>(5, 4, default_spec(Activation::kTanh)));
  net.add(std::make_unique<Dropout>(0.2f));
  net.add(std::make_unique<Linear>(4, 2));
  randomize_parameters(net, rng);
  RecordingObserver observer;
  net.set_observer(&observer);
  const Tensor x = random_tensor({3, 5}, rng);
  const Tensor y = net.forward(x, kTrain);
  const Tensor dy = random_tensor({3, 2}, rng);
  const Tensor dx = net.backward(dy);
  EXPECT_EQ(observer.forward_order, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(observer.backward_order, (std::vector<std::size_t>{2, 1, 0}));
  EXPECT_TRUE(observer.outputs[2].shares_storage_with(y));
  EXPECT_EQ(observer.outputs[0].shape(), (Shape{3, 4}));
  EXPECT_TRUE(observer.dys[0].shares_storage_with(dy));               // layer 2 got the model's dy
  EXPECT_TRUE(observer.dys[1].shares_storage_with(observer.dxs[0]));  // layer 1 got layer 2's dx
  EXPECT_TRUE(observer.dxs[2].shares_storage_with(dx));
  net.set_observer(nullptr);
  net.forward(x, kEval);
  EXPECT_EQ(observer.forward_order.size(), 3u);
}

TEST(Sequential, SavedCountsEachBlockOnceWithOneBitMasks) {
  Rng rng(20);
  Sequential net;
  net.add(std::make_unique<Linear>(20, 16, default_spec(Activation::kReLU)));
  net.add(std::make_unique<Linear>(16, 8, default_spec(Activation::kReLU)));
  net.add(std::make_unique<Linear>(8, 4));
  randomize_parameters(net, rng);
  net.forward(random_tensor({10, 20}, rng), kTrain);
  std::size_t total = 0;
  for (const SavedBlock& b : net.saved()) total += b.bytes;
  // Inputs kept as handles (x, and each hidden output once although two layers refer to it) plus
  // one bit per ReLU unit: 10*20*4 + 160/8 + 10*16*4 + 80/8 + 10*8*4.
  EXPECT_EQ(total, 800u + 20u + 640u + 10u + 320u);
  net.release();
  EXPECT_TRUE(net.saved().empty());
  net.forward(random_tensor({10, 20}, rng), kEval);
  EXPECT_TRUE(net.saved().empty());
}

TEST(Sequential, ShapeErrorsNameTheLayer) {
  Sequential net;
  net.add(std::make_unique<Flatten>());
  net.add(std::make_unique<Linear>(10, 4));
  const Result<Shape> bad = net.output_shape({2, 3, 3});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("layer 1"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("linear(10 -> 4)"), std::string::npos);
  EXPECT_NE(bad.status().message().find("[2, 9]"), std::string::npos);
  expect_invalid(
      [&] {
        net.forward(Tensor({2, 3, 3}), kTrain);
      },
      {"layer 1", "linear(10 -> 4)", "[2, 9]"});
  net.forward(Tensor({2, 10}), kTrain);
  expect_invalid([&] { net.backward(Tensor({2, 5})); }, {"layer 1", "[2, 5]"});
}

TEST(Sequential, WithoutInputGradientStopsAtTheFirstTrainableLayer) {
  Rng rng(21);
  auto build = [](Sequential& net) {
    net.add(std::make_unique<Flatten>());
    net.add(std::make_unique<Linear>(12, 6, default_spec(Activation::kTanh)));
    net.add(std::make_unique<Linear>(6, 3));
  };
  Sequential full, skipping;
  build(full);
  build(skipping);
  skipping.set_input_gradient(false);
  EXPECT_FALSE(skipping.layer(0).input_gradient());
  EXPECT_FALSE(skipping.layer(1).input_gradient());
  EXPECT_TRUE(skipping.layer(2).input_gradient());
  randomize_parameters(full, rng);
  const auto from = full.parameters();
  const auto to = skipping.parameters();
  for (std::size_t k = 0; k < from.size(); ++k) to[k]->value = from[k]->value.clone();
  const Tensor x = random_tensor({4, 3, 2, 2}, rng);
  const Tensor dy = random_tensor({4, 3}, rng);
  full.forward(x, kTrain);
  EXPECT_EQ(full.backward(dy).shape(), x.shape());
  RecordingObserver observer;
  skipping.set_observer(&observer);
  skipping.forward(x, kTrain);
  EXPECT_TRUE(skipping.backward(dy).empty());
  EXPECT_EQ(observer.backward_order, (std::vector<std::size_t>{2, 1}));
  EXPECT_TRUE(observer.dxs[1].empty());
  for (std::size_t k = 0; k < from.size(); ++k) {
    for (std::size_t i = 0; i < from[k]->grad.size(); ++i) {
      EXPECT_EQ(to[k]->grad[i], from[k]->grad[i]) << to[k]->name << " " << i;
    }
  }
  // Added after the switch: a model's first trainable layer learns it at add().
  Sequential late;
  late.set_input_gradient(false);
  late.add(std::make_unique<Flatten>());
  late.add(std::make_unique<Linear>(12, 6));
  late.add(std::make_unique<Linear>(6, 3));
  EXPECT_FALSE(late.layer(1).input_gradient());
  EXPECT_TRUE(late.layer(2).input_gradient());
}

}  // namespace
}  // namespace relulab::nn
