// Losses (hand-computed values, finite differences, large and non-finite logits, every error),
// optimisers (three steps against an independent double-precision transcription of the
// torch.optim pseudo-code, literal values computed by hand, state round trip, option validation)
// and learning-rate schedules (values at chosen steps, parsing and its errors).
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "relulab/nn/loss.hpp"
#include "relulab/nn/lr_schedule.hpp"
#include "relulab/nn/optimizer.hpp"
#include "relulab/random.hpp"
#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

Tensor tensor_of(Shape shape, const std::vector<float>& values) {
  Tensor t(std::move(shape));
  for (std::size_t i = 0; i < values.size(); ++i) t[i] = values[i];
  return t;
}

// ---------------------------------------------------------------------------------------------
// Losses

TEST(SoftmaxCrossEntropy, MatchesHandComputedValues) {
  // Row 0: lse(1, 2, 3) = 3.40760596444438, label 2. Row 1: equal logits (a tie: the first
  // maximum, index 0, is the prediction), label 0, loss log 3.
  const Tensor logits = tensor_of({2, 3}, {1, 2, 3, 1, 1, 1});
  const std::vector<std::int32_t> labels = {2, 0};
  const LossResult r = softmax_cross_entropy(logits, labels);
  EXPECT_NEAR(r.loss, 0.753109126556245, 1e-12);
  EXPECT_EQ(r.correct, 2);
  ASSERT_EQ(r.grad.shape(), logits.shape());
  const double expected[6] = {
      0.04501528658519023, 0.12236423552739883, -0.16737952211258905, -1.0 / 3, 1.0 / 6, 1.0 / 6};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(r.grad[i], expected[i], 1e-7) << i;
}

TEST(SoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  Rng rng(3);
  Tensor logits({4, 5});
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = 2.0f * rng.normal();
  const std::vector<std::int32_t> labels = {0, 4, 2, 2};
  const LossResult r = softmax_cross_entropy(logits, labels);
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const float saved = logits[i];
    logits[i] = saved + 1e-2f;
    const float up = logits[i];
    const double plus = softmax_cross_entropy(logits, labels).loss;
    logits[i] = saved - 1e-2f;
    const float down = logits[i];
    const double minus = softmax_cross_entropy(logits, labels).loss;
    logits[i] = saved;
    const double numeric = (plus - minus) / (static_cast<double>(up) - down);
    EXPECT_NEAR(r.grad[i], numeric, 2e-5) << i;
  }
}

TEST(SoftmaxCrossEntropy, LargeLogitsStayFinite) {
  const Tensor logits = tensor_of({3, 3}, {1e4f, 0, -1e4f, 1e4f, 1e4f, 1e4f, -1e4f, 1e4f, 0});
  const std::vector<std::int32_t> labels = {0, 1, 0};
  const LossResult r = softmax_cross_entropy(logits, labels);
  // Row 0: 0. Row 1: log 3. Row 2: 2e4 (the label's logit is 2e4 below the maximum).
  EXPECT_NEAR(r.loss, (std::log(3.0) + 2e4) / 3, 1e-9);
  EXPECT_EQ(r.correct, 1);
  for (std::size_t i = 0; i < r.grad.size(); ++i) EXPECT_TRUE(std::isfinite(r.grad[i])) << i;
  EXPECT_NEAR(r.grad[0], 0.0f, 1e-7);
  EXPECT_NEAR(r.grad[6], -1.0f / 3, 1e-7);
  EXPECT_NEAR(r.grad[7], 1.0f / 3, 1e-7);
}

TEST(SoftmaxCrossEntropy, NonFiniteLogitGivesNonFiniteLoss) {
  const std::vector<std::int32_t> labels = {1};
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    for (int position = 0; position < 3; ++position) {
      Tensor logits = tensor_of({1, 3}, {0.5f, -1.0f, 2.0f});
      logits[static_cast<std::size_t>(position)] = bad;
      EXPECT_FALSE(std::isfinite(softmax_cross_entropy(logits, labels).loss))
          << bad << " at " << position;
    }
  }
}

TEST(SoftmaxCrossEntropy, SameBitsForAnyThreadCount) {
  Rng rng(5);
  Tensor logits({4096, 32});
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = rng.normal();
  std::vector<std::int32_t> labels(4096);
  for (auto& y : labels) y = static_cast<std::int32_t>(rng.below(32));
  const int saved = thread_count();
  set_thread_count(1);
  const LossResult one = softmax_cross_entropy(logits, labels);
  set_thread_count(2);
  const LossResult two = softmax_cross_entropy(logits, labels);
  set_thread_count(saved);
  EXPECT_EQ(one.loss, two.loss);
  EXPECT_EQ(one.correct, two.correct);
  for (std::size_t i = 0; i < one.grad.size(); ++i) ASSERT_EQ(one.grad[i], two.grad[i]) << i;
}

TEST(SoftmaxCrossEntropy, RejectsBadLabelsAndShapes) {
  const Tensor logits({2, 3});
  const std::vector<std::int32_t> negative = {0, -1};
  const std::vector<std::int32_t> too_big = {3, 0};
  const std::vector<std::int32_t> too_few = {0};
  EXPECT_THROW(softmax_cross_entropy(logits, negative), std::invalid_argument);
  EXPECT_THROW(softmax_cross_entropy(logits, too_big), std::invalid_argument);
  EXPECT_THROW(softmax_cross_entropy(logits, too_few), std::invalid_argument);
  const std::vector<std::int32_t> six(6, 0);
  EXPECT_THROW(softmax_cross_entropy(Tensor({6}), six), std::invalid_argument);
  EXPECT_THROW(softmax_cross_entropy(Tensor({0, 3}), {}), std::invalid_argument);
  try {
    softmax_cross_entropy(logits, too_big);
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), "label 3")) << e.what();
    EXPECT_TRUE(contains(e.what(), "[0, 3)")) << e.what();
  }
}

TEST(MseLoss, MatchesHandComputedValues) {
  const Tensor p = tensor_of({2, 2}, {1, 2, 3, 4});
  const Tensor t = tensor_of({2, 2}, {0, 2, 5, 4});
  const LossResult r = mse_loss(p, t);
  EXPECT_DOUBLE_EQ(r.loss, 1.25);  // (1 + 0 + 4 + 0) / 4
  EXPECT_EQ(r.correct, 0);
  const float expected[4] = {0.5f, 0, -1.0f, 0};  // 2 (p - t) / 4
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(r.grad[i], expected[i]);
}

TEST(MseLoss, RejectsShapeMismatch) {
  EXPECT_THROW(mse_loss(Tensor({2, 2}), Tensor({4})), std::invalid_argument);
  EXPECT_THROW(mse_loss(Tensor({0}), Tensor({0})), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Optimisers: a 2-element parameter, three steps with these gradients.

using Vec2 = std::array<double, 2>;
constexpr Vec2 kStart = {1.0, -2.0};
constexpr std::array<Vec2, 3> kGrads = {{{0.5, -1.0}, {0.25, 2.0}, {-0.75, 0.1}}};

// A parameter with zero value and grad.
Parameter parameter(std::string name, const Shape& shape, ParamRole role = ParamRole::kWeight) {
  Parameter p;
  p.name = std::move(name);
  p.value = Tensor(shape);
  p.grad = Tensor(shape);
  p.role = role;
  return p;
}

Parameter two_element(ParamRole role = ParamRole::kWeight) {
  Parameter p = parameter("w", {2}, role);
  p.value[0] = static_cast<float>(kStart[0]);
  p.value[1] = static_cast<float>(kStart[1]);
  return p;
}

// Runs `optimizer` for three steps on p with kGrads; returns w after each step.
std::vector<Vec2> run_three_steps(Optimizer& optimizer, Parameter& p, float lr) {
  std::vector<Vec2> out;
  for (const Vec2& g : kGrads) {
    optimizer.zero_grad();
    p.grad[0] = static_cast<float>(g[0]);
    p.grad[1] = static_cast<float>(g[1]);
    optimizer.step(lr);
    out.push_back({p.value[0], p.value[1]});
  }
  return out;
}

// torch.optim.SGD's pseudo-code in double (independent of the implementation).
std::vector<Vec2> sgd_reference(double lr, double mu, double tau, double wd, bool nesterov) {
  Vec2 w = kStart, b{};
  std::vector<Vec2> out;
  for (std::size_t t = 0; t < kGrads.size(); ++t) {
    for (int i = 0; i < 2; ++i) {
      double g = kGrads[t][i] + wd * w[i];
      if (mu != 0) {
        b[i] = t == 0 ? g : mu * b[i] + (1 - tau) * g;
        g = nesterov ? g + mu * b[i] : b[i];
      }
      w[i] -= lr * g;
    }
    out.push_back(w);
  }
  return out;
}

// torch.optim.Adam / AdamW's pseudo-code in double.
std::vector<Vec2> adam_reference(double lr, double b1, double b2, double eps, double wd,
                                 bool decoupled) {
  Vec2 w = kStart, m{}, v{};
  std::vector<Vec2> out;
  for (int t = 1; t <= 3; ++t) {
    for (int i = 0; i < 2; ++i) {
      double g = kGrads[t - 1][i];
      if (decoupled)
        w[i] *= 1 - lr * wd;
      else
        g += wd * w[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(b1, t));
      const double v_hat = v[i] / (1 - std::pow(b2, t));
      w[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
    out.push_back(w);
  }
  return out;
}

void expect_trajectory(const std::vector<Vec2>& got, const std::vector<Vec2>& want,
                       const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t t = 0; t < got.size(); ++t) {
    for (int i = 0; i < 2; ++i) {
      EXPECT_NEAR(got[t][i], want[t][i], 2e-6) << what << " step " << t + 1 << " element " << i;
    }
  }
}

struct SgdCase {
  const char* name;
  SgdOptions options;
  ParamRole role;
  double decay_applied;  // the weight decay the reference applies
};

TEST(Sgd, ThreeStepsMatchTheTorchFormulas) {
  const SgdCase cases[] = {
      {"plain", {}, ParamRole::kWeight, 0},
      {"momentum", {0.9f, 0, 0, false}, ParamRole::kWeight, 0},
      {"dampening", {0.9f, 0.5f, 0, false}, ParamRole::kWeight, 0},
      {"nesterov", {0.9f, 0, 0, true}, ParamRole::kWeight, 0},
      {"weight decay", {0.9f, 0, 0.1f, false}, ParamRole::kWeight, 0.1},
      {"plain weight decay", {0, 0, 0.1f, false}, ParamRole::kWeight, 0.1},
      {"no decay on a bias", {0.9f, 0, 0.1f, false}, ParamRole::kBias, 0},
      {"no decay on a scale", {0, 0, 0.1f, false}, ParamRole::kScale, 0},
  };
  const float lr = 0.1f;
  for (const SgdCase& c : cases) {
    Parameter p = two_element(c.role);
    auto optimizer = make_sgd({&p}, c.options);
    const auto got = run_three_steps(*optimizer, p, lr);
    // The reference uses the float values of the options, as the implementation does.
    expect_trajectory(got,
                      sgd_reference(lr, c.options.momentum, c.options.dampening, c.decay_applied,
                                    c.options.nesterov),
                      c.name);
    EXPECT_EQ(optimizer->steps_taken(), 3);
  }
}

TEST(Sgd, LiteralValuesComputedByHand) {
  // Plain: w1 = 1 - 0.1 * 0.5 = 0.95; -2 - 0.1 * -1 = -1.9.
  Parameter p = two_element();
  auto plain = make_sgd({&p});
  EXPECT_NEAR(run_three_steps(*plain, p, 0.1f)[0][0], 0.95, 1e-7);
  // Momentum 0.9 with a constant gradient g = 0.5: b = g, 1.9 g, 2.71 g, so after three steps
  // w = 1 - 0.1 * 5.61 * 0.5 = 0.7195.
  Parameter q = two_element();
  auto momentum = make_sgd({&q}, {0.9f, 0, 0, false});
  for (int t = 0; t < 3; ++t) {
    q.grad[0] = 0.5f;
    momentum->step(0.1f);
  }
  EXPECT_NEAR(q.value[0], 0.7195, 1e-6);
}

struct AdamCase {
  const char* name;
  AdamOptions options;
  bool adamw_factory;
};

TEST(Adam, ThreeStepsMatchTheTorchFormulas) {
  AdamOptions l2;
  l2.weight_decay = 0.1f;
  AdamOptions strong_decay = AdamOptions::adamw();
  strong_decay.weight_decay = 0.5f;
  AdamOptions odd_betas;
  odd_betas.beta1 = 0.5f;
  odd_betas.beta2 = 0.75f;
  odd_betas.eps = 1e-3f;
  const AdamCase cases[] = {
      {"adam", {}, false},
      {"adam l2", l2, false},
      {"adam betas", odd_betas, false},
      {"adamw defaults", AdamOptions::adamw(), true},
      {"adamw decay 0.5", strong_decay, true},
      {"adam decoupled flag", strong_decay, false},
  };
  const float lr = 0.1f;
  for (const AdamCase& c : cases) {
    Parameter p = two_element();
    auto optimizer = c.adamw_factory ? make_adamw({&p}, c.options) : make_adam({&p}, c.options);
    const auto got = run_three_steps(*optimizer, p, lr);
    expect_trajectory(got,
                      adam_reference(lr, c.options.beta1, c.options.beta2, c.options.eps,
                                     c.options.weight_decay, c.options.decoupled),
                      c.name);
  }
}

TEST(Adam, LiteralValuesComputedByHand) {
  // First step: m_hat = g and v_hat = g^2, so w1 = w0 - lr * g / (|g| + eps) = 1 - 0.01 * 0.5 /
  // 0.50000001 = 0.99000000020 for the first element.
  Parameter p = two_element();
  auto adam = make_adam({&p});
  EXPECT_NEAR(run_three_steps(*adam, p, 0.01f)[0][0], 0.99, 1e-7);
  // AdamW first step with weight decay 0.01: w = 1 * (1 - 0.1 * 0.01) - 0.1 = 0.899.
  Parameter q = two_element();
  auto adamw = make_adamw({&q});
  EXPECT_NEAR(run_three_steps(*adamw, q, 0.1f)[0][0], 0.899, 1e-6);
  EXPECT_NE(adamw->describe().find("adamw"), std::string::npos);
}

TEST(Optimizer, LargeTensorsSplitAcrossThreadsGiveTheSameBits) {
  const std::size_t n = std::size_t{1} << 17;
  Rng rng(9);
  Parameter a = parameter("w", {static_cast<std::int64_t>(n)});
  for (std::size_t i = 0; i < n; ++i) a.value[i] = rng.normal(), a.grad[i] = rng.normal();
  Parameter b = parameter("w", {static_cast<std::int64_t>(n)});
  b.value = a.value.clone();
  b.grad = a.grad.clone();
  const int saved = thread_count();
  AdamOptions options = AdamOptions::adamw();
  set_thread_count(1);
  make_adamw({&a}, options)->step(0.01f);
  set_thread_count(2);
  make_adamw({&b}, options)->step(0.01f);
  set_thread_count(saved);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(a.value[i], b.value[i]) << i;
}

// Two parameters: a weight [2, 3] and a bias [3], gradients drawn from rng.
struct TinyModel {
  Parameter weight = parameter("0.weight", {2, 3});
  Parameter bias = parameter("0.bias", {3}, ParamRole::kBias);
  std::vector<Parameter*> params() { return {&weight, &bias}; }
};

void random_grads(TinyModel& m, Rng& rng) {
  for (Parameter* p : m.params()) {
    for (std::size_t i = 0; i < p->grad.size(); ++i) p->grad[i] = rng.normal();
  }
}

void expect_same_values(TinyModel& a, TinyModel& b) {
  for (std::size_t k = 0; k < 2; ++k) {
    const Tensor& x = a.params()[k]->value;
    const Tensor& y = b.params()[k]->value;
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], y[i]) << k << " " << i;
  }
}

TEST(Optimizer, StateRoundTripContinuesIdentically) {
  using Factory = std::unique_ptr<Optimizer> (*)(std::vector<Parameter*>);
  const Factory factories[] = {
      [](std::vector<Parameter*> p) {
        return make_sgd(std::move(p), {0.9f, 0.1f, 1e-2f, false});
      },
      [](std::vector<Parameter*> p) {
        return make_sgd(std::move(p), {0.9f, 0, 0, true});
      },
      [](std::vector<Parameter*> p) { return make_adam(std::move(p), {}); },
      [](std::vector<Parameter*> p) { return make_adamw(std::move(p)); },
  };
  for (const Factory make : factories) {
    TinyModel a;
    Rng rng(11);
    random_grads(a, rng);
    for (Parameter* p : a.params()) p->value = p->grad.clone();
    auto first = make(a.params());
    for (int t = 0; t < 2; ++t) {
      random_grads(a, rng);
      first->step(0.05f);
    }
    TinyModel b;
    b.weight.value = a.weight.value.clone();
    b.bias.value = a.bias.value.clone();
    auto second = make(b.params());
    ASSERT_TRUE(second->load_state(first->state())) << first->describe();
    EXPECT_EQ(second->steps_taken(), 2);
    for (int t = 0; t < 2; ++t) {
      random_grads(a, rng);
      b.weight.grad = a.weight.grad.clone();
      b.bias.grad = a.bias.grad.clone();
      first->step(0.05f);
      second->step(0.05f);
    }
    expect_same_values(a, b);
  }
}

TEST(Optimizer, StateNamesAndStepCount) {
  TinyModel m;
  auto adam = make_adam(m.params());
  const std::vector<Buffer> state = adam->state();
  std::vector<std::string> names;
  for (const Buffer& b : state) names.push_back(b.name);
  const std::vector<std::string> expected = {"exp_avg.0.weight", "exp_avg.0.bias",
                                             "exp_avg_sq.0.weight", "exp_avg_sq.0.bias", "step"};
  EXPECT_EQ(names, expected);
  auto sgd = make_sgd(m.params(), {0.5f, 0, 0, false});
  EXPECT_EQ(sgd->state()[0].name, "momentum_buffer.0.weight");
  EXPECT_EQ(make_sgd(m.params())->state().size(), 1u);  // no momentum: only "step"

  // Counts past 2^24 are kept exactly in the two floats.
  std::vector<Buffer> big = adam->state();
  big.back().value[0] = 5;
  big.back().value[1] = 3;
  ASSERT_TRUE(adam->load_state(big));
  EXPECT_EQ(adam->steps_taken(), 5 + 3 * (std::int64_t{1} << 24));
  adam->step(0.01f);
  EXPECT_EQ(adam->state().back().value[0], 6);
  EXPECT_EQ(adam->state().back().value[1], 3);
}

TEST(Optimizer, LoadStateRejectsMismatchesAndChangesNothing) {
  TinyModel m;
  auto adam = make_adam(m.params());
  const std::vector<Buffer> good = adam->state();

  std::vector<Buffer> missing(good.begin() + 1, good.end());
  Status s = adam->load_state(missing);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(s.message(), "missing 'exp_avg.0.weight'")) << s.message();

  std::vector<Buffer> misshaped = good;
  misshaped[1].value = Tensor({4});
  s = adam->load_state(misshaped);
  EXPECT_TRUE(contains(s.message(), "'exp_avg.0.bias' has shape [4], expected [3]")) << s.message();

  std::vector<Buffer> extra = good;
  extra.push_back({"momentum_buffer.0.weight", Tensor({2, 3})});
  s = adam->load_state(extra);
  EXPECT_TRUE(contains(s.message(), "unexpected 'momentum_buffer.0.weight'")) << s.message();

  std::vector<Buffer> twice = good;
  twice.push_back(good[0]);
  EXPECT_FALSE(adam->load_state(twice));

  std::vector<Buffer> bad_step = good;
  bad_step.back().value[0] = 1.5f;
  bad_step[0].value.fill(7.0f);
  s = adam->load_state(bad_step);
  EXPECT_EQ(s.code(), StatusCode::kCorruptData) << s.message();
  EXPECT_EQ(adam->state()[0].value[0], 0.0f);  // nothing was copied
  EXPECT_EQ(adam->steps_taken(), 0);

  auto sgd = make_sgd(m.params(), {0.9f, 0, 0, false});
  EXPECT_FALSE(sgd->load_state(good));  // Adam's state does not fit SGD
}

TEST(Optimizer, ValidatesOptionsNamingTheFlag) {
  const auto message = [](const Status& s) { return s.message(); };
  EXPECT_TRUE(validate(SgdOptions{}));
  EXPECT_TRUE(validate(AdamOptions{}));
  EXPECT_TRUE(validate(AdamOptions::adamw()));
  EXPECT_TRUE(contains(message(validate(SgdOptions{1.0f, 0, 0, false})), "momentum"));
  EXPECT_TRUE(contains(message(validate(SgdOptions{-0.1f, 0, 0, false})), "momentum"));
  EXPECT_TRUE(contains(message(validate(SgdOptions{0.9f, 1.5f, 0, false})), "dampening"));
  EXPECT_TRUE(contains(message(validate(SgdOptions{0, 0, -1e-4f, false})), "weight_decay"));
  EXPECT_TRUE(contains(message(validate(SgdOptions{0, 0, 0, true})), "nesterov"));
  EXPECT_TRUE(contains(message(validate(SgdOptions{0.9f, 0.1f, 0, true})), "nesterov"));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(contains(message(validate(SgdOptions{nan, 0, 0, false})), "momentum"));
  EXPECT_TRUE(contains(message(validate(AdamOptions{1.0f, 0.999f, 1e-8f, 0, false})), "beta1"));
  EXPECT_TRUE(contains(message(validate(AdamOptions{0.9f, -0.5f, 1e-8f, 0, false})), "beta2"));
  EXPECT_TRUE(contains(message(validate(AdamOptions{0.9f, 0.999f, 0, 0, false})), "eps"));
  EXPECT_TRUE(
      contains(message(validate(AdamOptions{0.9f, 0.999f, 1e-8f, -1, true})), "weight_decay"));
  EXPECT_TRUE(validate_learning_rate(0));
  EXPECT_TRUE(contains(message(validate_learning_rate(-0.1f)), "lr"));
  EXPECT_FALSE(validate_learning_rate(std::numeric_limits<float>::infinity()));
  EXPECT_FALSE(validate_learning_rate(nan));

  Parameter p = two_element();
  EXPECT_THROW(make_sgd({&p}, {2.0f, 0, 0, false}), std::invalid_argument);
  EXPECT_THROW(make_adam({&p}, {0.9f, 0.999f, -1, 0, false}), std::invalid_argument);
  auto sgd = make_sgd({&p});
  EXPECT_THROW(sgd->step(-1.0f), std::invalid_argument);
  EXPECT_THROW(sgd->step(nan), std::invalid_argument);
  EXPECT_EQ(sgd->steps_taken(), 0);
}

TEST(Optimizer, ConstructorRejectsBadParameterLists) {
  Parameter a = two_element();
  Parameter same_name = two_element();
  Parameter bad_grad = parameter("g", {2});
  bad_grad.grad = Tensor({3});
  EXPECT_THROW(make_sgd({&a, &same_name}), std::invalid_argument);
  EXPECT_THROW(make_sgd({&bad_grad}), std::invalid_argument);
  EXPECT_THROW(make_sgd({nullptr}), std::invalid_argument);
}

TEST(Optimizer, ZeroGradAndDescribe) {
  Parameter p = two_element();
  p.grad.fill(3.0f);
  auto sgd = make_sgd({&p}, {0.9f, 0, 5e-4f, true});
  sgd->zero_grad();
  EXPECT_EQ(p.grad[0], 0.0f);
  EXPECT_EQ(p.grad[1], 0.0f);
  EXPECT_EQ(sgd->describe(), "sgd(momentum=0.9, dampening=0, nesterov=true, weight_decay=0.0005)");
  EXPECT_EQ(make_adam({&p})->describe(), "adam(beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0)");
}

// ---------------------------------------------------------------------------------------------
// Learning-rate schedules

TEST(LrSchedule, ValuesAtChosenSteps) {
  const LrSchedule constant = LrSchedule::constant(0.1f);
  EXPECT_FLOAT_EQ(constant.lr_at(0), 0.1f);
  EXPECT_FLOAT_EQ(constant.lr_at(1000000), 0.1f);

  const LrSchedule step = LrSchedule::step(1.0f, 10, 0.5f);
  EXPECT_FLOAT_EQ(step.lr_at(0), 1.0f);
  EXPECT_FLOAT_EQ(step.lr_at(9), 1.0f);
  EXPECT_FLOAT_EQ(step.lr_at(10), 0.5f);
  EXPECT_FLOAT_EQ(step.lr_at(25), 0.25f);
  EXPECT_FLOAT_EQ(step.lr_at(-5), 1.0f);

  const LrSchedule cosine = LrSchedule::cosine(1.0f, 100, 0.1f);
  EXPECT_FLOAT_EQ(cosine.lr_at(0), 1.0f);
  EXPECT_FLOAT_EQ(cosine.lr_at(25), 0.1f + 0.9f * 0.8535533905932737f);  // (1 + cos(pi/4)) / 2
  EXPECT_FLOAT_EQ(cosine.lr_at(50), 0.55f);
  EXPECT_FLOAT_EQ(cosine.lr_at(100), 0.1f);
  EXPECT_FLOAT_EQ(cosine.lr_at(150), 0.1f);  // held at eta_min

  const LrSchedule warm = LrSchedule::with_warmup(LrSchedule::cosine(1.0f, 90), 10);
  EXPECT_FLOAT_EQ(warm.lr_at(0), 0.1f);
  EXPECT_FLOAT_EQ(warm.lr_at(4), 0.5f);
  EXPECT_FLOAT_EQ(warm.lr_at(9), 1.0f);
  EXPECT_FLOAT_EQ(warm.lr_at(10), 1.0f);
  EXPECT_NEAR(warm.lr_at(55), 0.5f, 1e-7);
  EXPECT_NEAR(warm.lr_at(100), 0.0f, 1e-7);
  EXPECT_EQ(warm.describe(), "cosine(lr=1, total_steps=90, eta_min=0), warmup 10 steps");
  EXPECT_EQ(step.describe(), "step(lr=1, x0.5 every 10 steps)");
}

TEST(LrSchedule, FactoriesRejectBadArguments) {
  EXPECT_THROW(LrSchedule::constant(-1.0f), std::invalid_argument);
  EXPECT_THROW(LrSchedule::step(0.1f, 0, 0.1f), std::invalid_argument);
  EXPECT_THROW(LrSchedule::step(0.1f, 10, -0.1f), std::invalid_argument);
  EXPECT_THROW(LrSchedule::cosine(0.1f, 0), std::invalid_argument);
  EXPECT_THROW(LrSchedule::cosine(0.1f, 10, -1.0f), std::invalid_argument);
  EXPECT_THROW(LrSchedule::with_warmup(LrSchedule::constant(0.1f), -1), std::invalid_argument);
}

LrSchedule parsed(std::string_view text, float lr = 0.5f) {
  Result<LrSchedule> r = parse_lr_schedule(text, lr, 100, 1000);
  EXPECT_TRUE(r) << text << ": " << r.status().message();
  return r ? r.value() : LrSchedule::constant(0);
}

TEST(LrSchedule, ParsesCliText) {
  EXPECT_FLOAT_EQ(parsed("constant").lr_at(999), 0.5f);
  const LrSchedule step = parsed("step:3:0.2");  // x0.2 every 3 epochs of 100 steps
  EXPECT_FLOAT_EQ(step.lr_at(299), 0.5f);
  EXPECT_FLOAT_EQ(step.lr_at(300), 0.1f);
  EXPECT_FLOAT_EQ(parsed("step:2").lr_at(200), 0.05f);  // gamma defaults to 0.1
  const LrSchedule cosine = parsed("cosine");
  EXPECT_FLOAT_EQ(cosine.lr_at(500), 0.25f);
  EXPECT_NEAR(cosine.lr_at(1000), 0.0f, 1e-8);
  const LrSchedule warm = parsed("cosine:warmup=500");
  EXPECT_FLOAT_EQ(warm.lr_at(0), 0.001f);
  EXPECT_FLOAT_EQ(warm.lr_at(499), 0.5f);
  EXPECT_FLOAT_EQ(warm.lr_at(500), 0.5f);
  EXPECT_FLOAT_EQ(warm.lr_at(750), 0.25f);
  EXPECT_NEAR(warm.lr_at(1000), 0.0f, 1e-8);
  EXPECT_FLOAT_EQ(parsed("cosine:eta_min=0.1").lr_at(1000), 0.1f);
  const LrSchedule step_warm = parsed("step:1:0.5:warmup=10");
  EXPECT_FLOAT_EQ(step_warm.lr_at(4), 0.25f);
  EXPECT_FLOAT_EQ(step_warm.lr_at(109), 0.5f);
  EXPECT_FLOAT_EQ(step_warm.lr_at(110), 0.25f);
}

TEST(LrSchedule, ParseErrorsNameTheBadPart) {
  const auto error = [](std::string_view text, float lr = 0.1f) {
    const Result<LrSchedule> r = parse_lr_schedule(text, lr, 100, 1000);
    EXPECT_FALSE(r) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().message();
  };
  EXPECT_TRUE(contains(error("linear"), "unknown schedule 'linear'"));
  EXPECT_TRUE(contains(error("linear"), "cosine"));
  EXPECT_TRUE(contains(error(""), "unknown schedule"));
  EXPECT_TRUE(contains(error("step"), "epoch count"));
  EXPECT_TRUE(contains(error("step:x:0.1"), "step size 'x'"));
  EXPECT_TRUE(contains(error("step:0"), "step size '0'"));
  EXPECT_TRUE(contains(error("step:10:-1"), "gamma '-1'"));
  EXPECT_TRUE(contains(error("step:10:0.1:3"), "unexpected '3'"));
  EXPECT_TRUE(contains(error("cosine:5"), "unexpected '5'"));
  EXPECT_TRUE(contains(error("cosine:warmup=1000"), "warmup '1000'"));
  EXPECT_TRUE(contains(error("cosine:warmup=abc"), "warmup 'abc'"));
  EXPECT_TRUE(contains(error("cosine:eta_min=-1"), "eta_min '-1'"));
  EXPECT_TRUE(contains(error("constant:eta_min=0.1"), "unknown option 'eta_min=0.1'"));
  EXPECT_TRUE(contains(error("constant", -0.1f), "lr"));
  EXPECT_FALSE(parse_lr_schedule("constant", 0.1f, 0, 1000));
  EXPECT_FALSE(parse_lr_schedule("cosine", 0.1f, 100, 0));
}

}  // namespace
}  // namespace relulab::nn
