// Initialisers: the sample statistics of every scheme on a 512 x 512 weight against its formula,
// orthogonality, the gain table, bias and role handling, parsing and its errors, determinism.
#include <algorithm>
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

// A [256, 1024] weight (fan_in 1024, fan_out 256) feeding ReLU. He takes the gain of the
// activation fed (sqrt 2, torch.nn.init.kaiming_* with nonlinearity='relu'); Xavier takes gain 1
// unless given, as torch.nn.init.xavier_*_ and Glorot & Bengio (2010).
TEST(Initialize, SampleStatisticsMatchTheFormulas) {
  const double gain = std::sqrt(2.0);
  const ActivationSpec relu = default_spec(Activation::kReLU);
  const double b_he = gain * std::sqrt(3.0 / 1024);
  const double b_xavier = std::sqrt(6.0 / 1280);
  const double b_torch = 1 / std::sqrt(1024.0);
  const SchemeCase rect[] = {
      {"he_normal", gain / std::sqrt(1024.0), 0},
      {"he_normal:fan_out", gain / std::sqrt(256.0), 0},
      {"he_uniform", b_he / std::sqrt(3.0), b_he},
      {"he_uniform:fan_out", gain * std::sqrt(3.0 / 256) / std::sqrt(3.0),
       gain * std::sqrt(3.0 / 256)},
      {"xavier_normal", std::sqrt(2.0 / 1280), 0},
      {"xavier_uniform", b_xavier / std::sqrt(3.0), b_xavier},
      {"xavier_normal:gain=relu", gain * std::sqrt(2.0 / 1280), 0},
      {"glorot_normal:gain=tanh", 5.0 / 3 * std::sqrt(2.0 / 1280), 0},
      {"xavier_uniform:gain=1.5", 1.5 * b_xavier / std::sqrt(3.0), 1.5 * b_xavier},
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

// A conv weight [out 64, in 32, 5, 5]: fan_in = 32 * 25 = 800, fan_out = 64 * 25 = 1600, as
// torch.nn.init._calculate_fan_in_and_fan_out.
TEST(Initialize, ConvWeightsUseTheReceptiveFieldInTheirFans) {
  const double gain = std::sqrt(2.0);
  const SchemeCase cases[] = {
      {"he_normal", gain / std::sqrt(800.0), 0},
      {"he_normal:fan_out", gain / std::sqrt(1600.0), 0},
      {"he_uniform", gain * std::sqrt(3.0 / 800) / std::sqrt(3.0), gain * std::sqrt(3.0 / 800)},
      {"xavier_normal", std::sqrt(2.0 / 2400), 0},
      {"xavier_normal:gain=relu", gain * std::sqrt(2.0 / 2400), 0},
      {"xavier_uniform", std::sqrt(6.0 / 2400) / std::sqrt(3.0), std::sqrt(6.0 / 2400)},
  };
  for (const SchemeCase& c : cases) {
    Parameter w = parameter("conv", {64, 32, 5, 5}, ParamRole::kWeight, 800, 1600,
                            default_spec(Activation::kReLU));
    initialize_one(w, parse_init(c.text).value());
    const Moments m = moments(w.value);
    // 51,200 samples: the sample std is within 1.3% of the true one at 2 standard errors.
    EXPECT_NEAR(m.stddev / c.expected_std, 1.0, 0.02) << c.text;
    if (c.bound > 0) {
      EXPECT_LE(m.max_abs, c.bound * (1 + 1e-6)) << c.text;
    }
  }
}

// Glorot's scheme on square ReLU layers halves the second moment at every layer (n Var[w] / 2 =
// 1/2); He's keeps it (He et al. 2015, eq. 10). A 20-layer stack of 256-wide layers, in double.
TEST(Initialize, XavierHalvesAndHeKeepsTheVarianceOfAReluStack) {
  for (const char* text : {"he_normal", "xavier_normal"}) {
    constexpr std::size_t n = 256, layers = 20, inputs = 64;
    std::vector<double> x(inputs * n);
    Rng data(7);
    for (double& v : x) v = data.normal();
    double first = 0, last = 0;
    for (std::size_t l = 0; l < layers; ++l) {
      Parameter w = linear_weight(n, n, default_spec(Activation::kReLU));
      initialize_one(w, parse_init(text).value(), 100 + l);
      std::vector<double> y(inputs * n, 0.0);
      double second_moment = 0;
      for (std::size_t b = 0; b < inputs; ++b) {
        for (std::size_t o = 0; o < n; ++o) {
          double sum = 0;
          for (std::size_t i = 0; i < n; ++i) sum += w.value[o * n + i] * x[b * n + i];
          y[b * n + o] = std::max(sum, 0.0);
          second_moment += y[b * n + o] * y[b * n + o];
        }
      }
      second_moment /= static_cast<double>(inputs * n);
      if (l == 0) first = second_moment;
      last = second_moment;
      x = y;
    }
    const double per_layer = std::pow(last / first, 1.0 / (layers - 1));
    EXPECT_NEAR(per_layer, std::string(text) == "he_normal" ? 1.0 : 0.5, 0.05) << text;
  }
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
  // torch.nn.init.orthogonal_'s gain is 1 unless given, whatever the layer feeds.
  Parameter square = linear_weight(512, 512, default_spec(Activation::kReLU));
  initialize_one(square, parse_init("orthogonal").value());
  EXPECT_LT(orthogonality_error(square.value, 512, 512, 1.0), 1e-4);
  initialize_one(square, parse_init("orthogonal:gain=relu").value());
  EXPECT_LT(orthogonality_error(square.value, 512, 512, std::sqrt(2.0)), 1e-4);

  // Wide [64, 256]: orthonormal rows. Conv [8, 4, 3, 3]: 8 orthonormal rows of 36.
  Parameter wide = linear_weight(256, 64);
  initialize_one(wide, parse_init("orthogonal").value());
  EXPECT_LT(orthogonality_error(wide.value, 64, 256, 1.0), 1e-5);
  Parameter conv =
      parameter("conv", {8, 4, 3, 3}, ParamRole::kWeight, 36, 72, default_spec(Activation::kTanh));
  initialize_one(conv, parse_init("orthogonal:gain=tanh").value());
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
  // Gains: 1 by default, a number, or an activation's calculate_gain; describe() reads back.
  EXPECT_EQ(parse_init("xavier_normal").value().gain, 1.0f);
  EXPECT_EQ(parse_init("xavier_uniform:gain=2.5").value().gain, 2.5f);
  EXPECT_FLOAT_EQ(parse_init("Glorot_Normal:GAIN=ReLU").value().gain, std::sqrt(2.0f));
  EXPECT_FLOAT_EQ(parse_init("orthogonal:gain=selu").value().gain, 0.75f);
  EXPECT_EQ(describe(parse_init("xavier_normal:gain=1").value()), "xavier_normal");
  for (const char* text :
       {"xavier_normal:gain=relu", "xavier_uniform:gain=0.5", "orthogonal:gain=tanh"}) {
    const InitSpec spec = parse_init(text).value();
    const Result<InitSpec> again = parse_init(describe(spec));
    ASSERT_TRUE(again) << describe(spec);
    EXPECT_EQ(again.value().gain, spec.gain) << text;
    EXPECT_EQ(again.value().scheme, spec.scheme) << text;
  }
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
  EXPECT_TRUE(contains(error("orthogonal:fan_out"), "expected :gain=G"));
  EXPECT_TRUE(contains(error("lecun_normal:gain=2"), "takes no argument"));
  EXPECT_TRUE(contains(error("xavier_normal:gain=0"), "finite G > 0"));
  EXPECT_TRUE(contains(error("xavier_normal:gain=-1"), "finite G > 0"));
  EXPECT_TRUE(contains(error("xavier_normal:gain=inf"), "finite G > 0"));
  EXPECT_TRUE(contains(error("xavier_normal:gain=relux"), "activation name"));
  EXPECT_TRUE(contains(error("he_normal:gain=2"), ":fan_in or :fan_out"));
  EXPECT_TRUE(contains(error("he_normal:fan_sideways"), ":fan_in or :fan_out"));
}

}  // namespace
}  // namespace relulab::nn
