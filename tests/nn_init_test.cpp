// Initialisers: the sample statistics of every scheme on a 512 x 512 weight against its formula,
// orthogonality, the gain table, bias and role handling, parsing and its errors, determinism.
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "relulab/nn/init.hpp"

namespace relulab::nn {
namespace {

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

Parameter parameter(std::string name, const Shape& shape, ParamRole role, std::int64_t fan_in = 0,
                    std::int64_t fan_out = 0, std::optional<ActivationSpec> feeds = std::nullopt) {
  Parameter p;
  p.name = std::move(name);
  p.value = Tensor(shape);
  p.grad = Tensor(shape);
  p.role = role;
  p.fan_in = fan_in;
  p.fan_out = fan_out;
  p.feeds = feeds;
  return p;
}

// A linear layer's weight [out, in] feeding `feeds`.
Parameter linear_weight(std::int64_t in, std::int64_t out,
                        std::optional<ActivationSpec> feeds = std::nullopt) {
  return parameter("weight", {out, in}, ParamRole::kWeight, in, out, feeds);
}

void initialize_one(Parameter& p, const InitSpec& spec, std::uint64_t seed = 1) {
  Rng rng(seed);
  Parameter* list[] = {&p};
  initialize(list, spec, 0.0f, rng);
}

struct Moments {
  double mean = 0, stddev = 0, max_abs = 0;
};

Moments moments(const Tensor& t) {
  Moments m;
  double sum = 0, sum_sq = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    sum += t[i];
    sum_sq += static_cast<double>(t[i]) * t[i];
    m.max_abs = std::max(m.max_abs, std::fabs(static_cast<double>(t[i])));
  }
  const auto n = static_cast<double>(t.size());
  m.mean = sum / n;
  m.stddev = std::sqrt(sum_sq / n - m.mean * m.mean);
  return m;
}

struct SchemeCase {
  const char* text;
  double expected_std;  // of the distribution
  double bound;         // uniform: the half-width; 0 for normal
};

// A 512 x 512 weight (fan_in = fan_out = 512) feeding ReLU (gain sqrt 2), and a [256, 1024] one
// where fan_in and fan_out differ.
TEST(Initialize, SampleStatisticsMatchTheFormulas) {
  const double gain = std::sqrt(2.0);
  const ActivationSpec relu = default_spec(Activation::kReLU);
  const double b_he = gain * std::sqrt(3.0 / 1024);
  const double b_xavier = gain * std::sqrt(6.0 / 1280);
  const double b_torch = 1 / std::sqrt(1024.0);
  const SchemeCase rect[] = {
      {"he_normal", gain / std::sqrt(1024.0), 0},
      {"he_normal:fan_out", gain / std::sqrt(256.0), 0},
      {"he_uniform", b_he / std::sqrt(3.0), b_he},
      {"he_uniform:fan_out", gain * std::sqrt(3.0 / 256) / std::sqrt(3.0),
       gain * std::sqrt(3.0 / 256)},
      {"xavier_normal", gain * std::sqrt(2.0 / 1280), 0},
      {"xavier_uniform", b_xavier / std::sqrt(3.0), b_xavier},
      {"lecun_normal", 1 / std::sqrt(1024.0), 0},
      {"normal:0.01", 0.01, 0},
      {"torch_default", b_torch / std::sqrt(3.0), b_torch},
  };
  for (const SchemeCase& c : rect) {
    Parameter w = linear_weight(1024, 256, relu);
    const Result<InitSpec> spec = parse_init(c.text);
    ASSERT_TRUE(spec) << c.text;
    initialize_one(w, spec.value());
    const Moments m = moments(w.value);
    // The mean of 2^18 samples has standard error std / 512; the sample std is within 0.3% of
    // the true one at 2 standard errors.
    EXPECT_LT(std::fabs(m.mean), 5 * c.expected_std / 512) << c.text;
    EXPECT_NEAR(m.stddev / c.expected_std, 1.0, 0.01) << c.text;
    if (c.bound > 0) {
      EXPECT_LE(m.max_abs, c.bound * (1 + 1e-6)) << c.text;
      EXPECT_GT(m.max_abs, c.bound * 0.999) << c.text;
    }
  }
  // Square, gain 5/3 for tanh: he_normal std = (5/3) / sqrt(512).
  Parameter tanh_weight = linear_weight(512, 512, default_spec(Activation::kTanh));
  initialize_one(tanh_weight, parse_init("he_normal").value());
  EXPECT_NEAR(moments(tanh_weight.value).stddev / (5.0 / 3 / std::sqrt(512.0)), 1.0, 0.01);
  // No activation after the layer: gain 1.
  Parameter output = linear_weight(512, 512);
  initialize_one(output, parse_init("kaiming_normal").value());
  EXPECT_NEAR(moments(output.value).stddev * std::sqrt(512.0), 1.0, 0.01);
}

TEST(Initialize, ConstantFillsEveryElement) {
  Parameter w = linear_weight(512, 512);
  initialize_one(w, parse_init("constant:0.1").value());
  for (std::size_t i = 0; i < w.value.size(); ++i) ASSERT_EQ(w.value[i], 0.1f) << i;
}

// max |(W W^T)[i][j] - gain^2 [i == j]| for W [rows, cols], products in double.
double orthogonality_error(const Tensor& w, std::size_t rows, std::size_t cols, double gain) {
  double worst = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = i; j < rows; ++j) {
      double dot = 0;
      for (std::size_t k = 0; k < cols; ++k) {
        dot += static_cast<double>(w[i * cols + k]) * w[j * cols + k];
      }
      worst = std::max(worst, std::fabs(dot - (i == j ? gain * gain : 0.0)));
    }
  }
  return worst;
}

TEST(Initialize, OrthogonalRowsOrColumnsAreOrthonormalTimesGain) {
  const double gain = std::sqrt(2.0);
  Parameter square = linear_weight(512, 512, default_spec(Activation::kReLU));
  initialize_one(square, parse_init("orthogonal").value());
  EXPECT_LT(orthogonality_error(square.value, 512, 512, gain), 1e-4);

  // Wide [64, 256]: orthonormal rows. Conv [8, 4, 3, 3]: 8 orthonormal rows of 36.
  Parameter wide = linear_weight(256, 64);
  initialize_one(wide, parse_init("orthogonal").value());
  EXPECT_LT(orthogonality_error(wide.value, 64, 256, 1.0), 1e-5);
  Parameter conv =
      parameter("conv", {8, 4, 3, 3}, ParamRole::kWeight, 36, 72, default_spec(Activation::kTanh));
  initialize_one(conv, parse_init("orthogonal").value());
  EXPECT_LT(orthogonality_error(conv.value, 8, 36, 5.0 / 3), 1e-5);

  // Tall [256, 64]: orthonormal columns, i.e. W^T W = I; check it as the rows of W^T.
  Parameter tall = linear_weight(64, 256);
  initialize_one(tall, parse_init("orthogonal").value());
  Tensor transposed({64, 256});
  for (std::size_t r = 0; r < 256; ++r) {
    for (std::size_t c = 0; c < 64; ++c) transposed[c * 256 + r] = tall.value[r * 64 + c];
  }
  EXPECT_LT(orthogonality_error(transposed, 64, 256, 1.0), 1e-5);
}

TEST(Initialize, BiasesAndOtherRoles) {
  Parameter w = linear_weight(100, 50, default_spec(Activation::kReLU));
  Parameter b = parameter("bias", {50}, ParamRole::kBias);
  Parameter scale = parameter("bn.weight", {50}, ParamRole::kScale);
  Parameter shift = parameter("bn.bias", {50}, ParamRole::kShift);
  Parameter slope = parameter("prelu.weight", {50}, ParamRole::kSlope);
  shift.value.fill(3.0f);
  Parameter* list[] = {&w, &b, &scale, &shift, &slope};
  Rng rng(2);
  initialize(list, parse_init("he_normal").value(), 0.01f, rng);
  for (std::size_t i = 0; i < 50; ++i) {
    EXPECT_EQ(b.value[i], 0.01f);
    EXPECT_EQ(scale.value[i], 1.0f);
    EXPECT_EQ(shift.value[i], 0.0f);
    EXPECT_EQ(slope.value[i], 0.25f);
  }
  // torch_default: the bias is uniform in +-1/sqrt(fan_in of its weight) = +-0.1, bias_value
  // ignored.
  Parameter big_bias = parameter("bias", {4096}, ParamRole::kBias);
  Parameter* torch_list[] = {&w, &big_bias};
  initialize(torch_list, parse_init("torch_default").value(), 5.0f, rng);
  const Moments m = moments(big_bias.value);
  EXPECT_LE(m.max_abs, 0.1 + 1e-7);
  EXPECT_GT(m.max_abs, 0.099);
  EXPECT_NEAR(m.stddev, 0.1 / std::sqrt(3.0), 0.1 / std::sqrt(3.0) * 0.05);
}

TEST(Initialize, RejectsMissingFans) {
  Rng rng(1);
  Parameter no_fan = parameter("weight", {4, 4}, ParamRole::kWeight);
  Parameter* list[] = {&no_fan};
  EXPECT_THROW(initialize(list, parse_init("he_normal").value(), 0, rng), std::invalid_argument);
  EXPECT_THROW(initialize(list, parse_init("xavier_uniform").value(), 0, rng),
               std::invalid_argument);
  initialize(list, parse_init("normal:0.1").value(), 0, rng);  // needs no fan
  Parameter lone_bias = parameter("bias", {4}, ParamRole::kBias);
  Parameter* bias_first[] = {&lone_bias};
  EXPECT_THROW(initialize(bias_first, parse_init("torch_default").value(), 0, rng),
               std::invalid_argument);
}

TEST(Initialize, SameSeedSameWeights) {
  Parameter a = linear_weight(64, 32, default_spec(Activation::kReLU));
  Parameter b = linear_weight(64, 32, default_spec(Activation::kReLU));
  Parameter c = linear_weight(64, 32, default_spec(Activation::kReLU));
  for (const char* text : {"he_normal", "xavier_uniform", "orthogonal", "torch_default"}) {
    const InitSpec spec = parse_init(text).value();
    initialize_one(a, spec, 42);
    initialize_one(b, spec, 42);
    initialize_one(c, spec, 43);
    bool differs = false;
    for (std::size_t i = 0; i < a.value.size(); ++i) {
      ASSERT_EQ(a.value[i], b.value[i]) << text << " " << i;
      differs = differs || a.value[i] != c.value[i];
    }
    EXPECT_TRUE(differs) << text;
  }
}

TEST(CalculateGain, MatchesPyTorchsTable) {
  using A = Activation;
  const double sqrt2 = std::sqrt(2.0);
  EXPECT_FLOAT_EQ(calculate_gain(std::nullopt), 1.0f);
  EXPECT_FLOAT_EQ(calculate_gain(default_spec(A::kSigmoid)), 1.0f);
  EXPECT_FLOAT_EQ(calculate_gain(default_spec(A::kTanh)), 5.0f / 3);
  EXPECT_FLOAT_EQ(calculate_gain(default_spec(A::kReLU)), static_cast<float>(sqrt2));
  EXPECT_FLOAT_EQ(calculate_gain(default_spec(A::kSELU)), 0.75f);
  // leaky_relu: sqrt(2 / (1 + slope^2)), PyTorch's default slope 0.01 and a custom 0.2.
  EXPECT_FLOAT_EQ(calculate_gain(default_spec(A::kLeakyReLU)), 1.41414285f);
  ActivationSpec leaky = default_spec(A::kLeakyReLU);
  leaky.params[0] = 0.2f;
  EXPECT_FLOAT_EQ(calculate_gain(leaky), static_cast<float>(std::sqrt(2.0 / 1.04)));
  EXPECT_FLOAT_EQ(calculate_gain(default_spec(A::kPReLU)),
                  static_cast<float>(std::sqrt(2.0 / 1.0625)));
  // No PyTorch entry: sqrt(2) for the ReLU-like ones, 1 for hard_sigmoid.
  for (const A a : {A::kReLU6, A::kELU, A::kCELU, A::kGELU, A::kGELUTanh, A::kSiLU, A::kMish,
                    A::kSoftplus, A::kHardSwish}) {
    EXPECT_FLOAT_EQ(calculate_gain(default_spec(a)), static_cast<float>(sqrt2))
        << activation_info(a).name;
  }
  EXPECT_FLOAT_EQ(calculate_gain(default_spec(A::kHardSigmoid)), 1.0f);
}

TEST(ParseInit, NamesAliasesAndArguments) {
  struct Case {
    const char* text;
    InitScheme scheme;
    FanMode mode;
    float value;
  };
  const Case cases[] = {
      {"he_normal", InitScheme::kHeNormal, FanMode::kFanIn, 0},
      {"kaiming_normal", InitScheme::kHeNormal, FanMode::kFanIn, 0},
      {"He_Normal:FAN_OUT", InitScheme::kHeNormal, FanMode::kFanOut, 0},
      {"he_uniform:fan_in", InitScheme::kHeUniform, FanMode::kFanIn, 0},
      {"kaiming_uniform:fan_out", InitScheme::kHeUniform, FanMode::kFanOut, 0},
      {"xavier_normal", InitScheme::kXavierNormal, FanMode::kFanIn, 0},
      {"glorot_normal", InitScheme::kXavierNormal, FanMode::kFanIn, 0},
      {"xavier_uniform", InitScheme::kXavierUniform, FanMode::kFanIn, 0},
      {"glorot_uniform", InitScheme::kXavierUniform, FanMode::kFanIn, 0},
      {"lecun_normal", InitScheme::kLeCunNormal, FanMode::kFanIn, 0},
      {"orthogonal", InitScheme::kOrthogonal, FanMode::kFanIn, 0},
      {"constant:0.1", InitScheme::kConstant, FanMode::kFanIn, 0.1f},
      {"constant:-2", InitScheme::kConstant, FanMode::kFanIn, -2.0f},
      {"normal:0.01", InitScheme::kNormal, FanMode::kFanIn, 0.01f},
      {"torch_default", InitScheme::kTorchDefault, FanMode::kFanIn, 0},
  };
  for (const Case& c : cases) {
    const Result<InitSpec> r = parse_init(c.text);
    ASSERT_TRUE(r) << c.text << ": " << r.status().message();
    EXPECT_EQ(r.value().scheme, c.scheme) << c.text;
    EXPECT_EQ(r.value().mode, c.mode) << c.text;
    EXPECT_EQ(r.value().value, c.value) << c.text;
    // describe() gives canonical text that reads back to the same spec.
    const Result<InitSpec> again = parse_init(describe(r.value()));
    ASSERT_TRUE(again) << describe(r.value());
    EXPECT_EQ(again.value().scheme, c.scheme);
    EXPECT_EQ(again.value().mode, c.mode);
    EXPECT_EQ(again.value().value, c.value);
  }
  EXPECT_EQ(describe(parse_init("kaiming_uniform:fan_out").value()), "he_uniform:fan_out");
  EXPECT_EQ(describe(parse_init("glorot_uniform").value()), "xavier_uniform");
  EXPECT_EQ(describe(parse_init("constant:0.1").value()), "constant:0.1");
}

TEST(ParseInit, ErrorsListTheNamesAndSuggestOne) {
  const auto error = [](std::string_view text) {
    const Result<InitSpec> r = parse_init(text);
    EXPECT_FALSE(r) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    return r.status().message();
  };
  const std::string unknown = error("he_norml");
  EXPECT_TRUE(contains(unknown, "did you mean 'he_normal'")) << unknown;
  EXPECT_TRUE(contains(unknown, "orthogonal")) << unknown;
  EXPECT_TRUE(contains(unknown, "glorot_uniform")) << unknown;
  EXPECT_TRUE(contains(error("xavier_unifrom"), "did you mean 'xavier_uniform'"));
  EXPECT_TRUE(contains(error(""), "unknown initialiser"));
  EXPECT_TRUE(contains(error("normal:-1"), "STD > 0"));
  EXPECT_TRUE(contains(error("normal:0"), "STD > 0"));
  EXPECT_TRUE(contains(error("normal"), "STD > 0"));
  EXPECT_TRUE(contains(error("constant:abc"), "finite V"));
  EXPECT_TRUE(contains(error("constant:inf"), "finite V"));
  EXPECT_TRUE(contains(error("constant:1x"), "finite V"));
  EXPECT_TRUE(contains(error("orthogonal:fan_out"), "takes no argument"));
  EXPECT_TRUE(contains(error("he_normal:fan_sideways"), ":fan_in or :fan_out"));
}

}  // namespace
}  // namespace relulab::nn
