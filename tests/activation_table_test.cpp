// The activation table (its entries agree with the enum, PyTorch's defaults and the reference
// math), name lookup with its error message, and parameter validation.
#include <cctype>
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "relulab/activation.hpp"
#include "relulab/activation_reference.hpp"

namespace relulab {
namespace {

using A = Activation;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(ActivationTable, EntriesFollowTheEnumAndAreComplete) {
  const auto table = activation_table();
  ASSERT_EQ(table.size(), kActivationCount);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const ActivationInfo& info = table[i];
    EXPECT_EQ(static_cast<std::size_t>(info.id), i);
    EXPECT_EQ(&activation_info(info.id), &info);
    EXPECT_TRUE(names.insert(info.name).second) << "duplicate name " << info.name;
    for (const char c : info.name) {
      EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c)) || c == '_')
          << info.name << " is not a lower-case identifier";
    }
    EXPECT_EQ(info.pytorch.substr(0, 9), "torch.nn.") << info.name;
    EXPECT_FALSE(info.formula.empty()) << info.name;
    EXPECT_FALSE(info.derivative.empty()) << info.name;
    ASSERT_GE(info.param_count, 0) << info.name;
    ASSERT_LE(info.param_count, 2) << info.name;
    for (int p = 0; p < 2; ++p) {
      const bool used = p < info.param_count;
      EXPECT_EQ(info.params[p].name.empty(), !used) << info.name << " parameter " << p;
      EXPECT_EQ(info.params[p].constraint.empty(), !used) << info.name << " parameter " << p;
    }
    EXPECT_FALSE(info.zero_for_negative && !info.piecewise_polynomial) << info.name;
  }
}

TEST(ActivationTable, DefaultsArePyTorchs) {
  EXPECT_EQ(default_spec(A::kLeakyReLU).params[0], 0.01f);
  EXPECT_EQ(default_spec(A::kPReLU).params[0], 0.25f);
  EXPECT_EQ(default_spec(A::kELU).params[0], 1.0f);
  EXPECT_EQ(default_spec(A::kCELU).params[0], 1.0f);
  EXPECT_EQ(default_spec(A::kSoftplus).params[0], 1.0f);
  EXPECT_EQ(default_spec(A::kSoftplus).params[1], 20.0f);
  EXPECT_EQ(activation_info(A::kLeakyReLU).params[0].name, "negative_slope");
  EXPECT_EQ(activation_info(A::kSoftplus).params[1].name, "threshold");
  EXPECT_EQ(activation_info(A::kGELU).pytorch, "torch.nn.GELU(approximate='none')");
  EXPECT_EQ(activation_info(A::kGELUTanh).pytorch, "torch.nn.GELU(approximate='tanh')");
  for (const ActivationInfo& info : activation_table()) {
    const ActivationSpec spec = default_spec(info.id);
    EXPECT_EQ(spec.kind, info.id);
    EXPECT_TRUE(validate(spec).is_ok()) << info.name << ": " << validate(spec).message();
    for (int p = info.param_count; p < 2; ++p) EXPECT_EQ(spec.params[p], 0.0f) << info.name;
  }
}

// The flags must describe the math: checked on the reference, not restated.
TEST(ActivationTable, FlagsAgreeWithTheReference) {
  for (const ActivationInfo& info : activation_table()) {
    const ActivationSpec spec = default_spec(info.id);
    bool zero_below = true, polynomial_pieces = true;
    for (int i = 1; i <= 400; ++i) {
      const long double x = -10.0L + 0.05L * i + 0.0123L;  // never on a kink
      if (x < 0 && reference_forward(spec, x) != 0) zero_below = false;
      // Pieces of degree <= 2 have a zero third difference away from the kinks:
      // f(x + 2h) - 3 f(x + h) + 3 f(x) - f(x - h) = 0.
      const long double h = 1e-3L;
      const long double third = reference_forward(spec, x + 2 * h) -
                                3 * reference_forward(spec, x + h) +
                                3 * reference_forward(spec, x) - reference_forward(spec, x - h);
      const bool near_kink = std::fabs(x + 3) < 3 * h || std::fabs(x) < 3 * h ||
                             std::fabs(x - 3) < 3 * h || std::fabs(x - 6) < 3 * h;
      if (!near_kink && std::fabs(third) > 1e-15L) polynomial_pieces = false;
    }
    EXPECT_EQ(info.zero_for_negative, zero_below) << info.name;
    EXPECT_EQ(info.piecewise_polynomial, polynomial_pieces) << info.name;
  }
}

TEST(ParseActivation, EveryNameRoundTrips) {
  for (const ActivationInfo& info : activation_table()) {
    const Result<Activation> parsed = parse_activation(info.name);
    ASSERT_TRUE(parsed.is_ok()) << info.name << ": " << parsed.status().message();
    EXPECT_EQ(parsed.value(), info.id);
  }
}

TEST(ParseActivation, IsCaseInsensitiveAndAcceptsSwish) {
  const struct {
    const char* text;
    Activation want;
  } cases[] = {{"ReLU", A::kReLU},  {"LEAKY_RELU", A::kLeakyReLU}, {"Gelu_Tanh", A::kGELUTanh},
               {"swish", A::kSiLU}, {"Swish", A::kSiLU},           {"SWISH", A::kSiLU},
               {"SiLU", A::kSiLU},  {"HardSwish", A::kHardSwish},  {"ReLU6", A::kReLU6},
               {"TANH", A::kTanh}};
  for (const auto& c : cases) {
    const Result<Activation> parsed = parse_activation(c.text);
    ASSERT_TRUE(parsed.is_ok()) << c.text << ": " << parsed.status().message();
    EXPECT_EQ(parsed.value(), c.want) << c.text;
  }
}

TEST(ParseActivation, UnknownNameListsValidNamesAndSuggestsTheClosest) {
  const struct {
    const char* text;
    const char* closest;
  } cases[] = {{"rleu", "relu"},         {"gelu_tan", "gelu_tanh"}, {"leakyrelu", "leaky_relu"},
               {"Sigmod", "sigmoid"},    {"hardswsh", "hardswish"}, {"relu66", "relu6"},
               {"softpluss", "softplus"}};
  for (const auto& c : cases) {
    const Result<Activation> parsed = parse_activation(c.text);
    ASSERT_FALSE(parsed.is_ok()) << c.text;
    const Status status = parsed.status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    const std::string& message = status.message();
    EXPECT_TRUE(contains(message, c.text)) << message;
    EXPECT_TRUE(contains(message, std::string("did you mean '") + c.closest + "'")) << message;
    for (const ActivationInfo& info : activation_table()) {
      EXPECT_TRUE(contains(message, info.name)) << message << " does not list " << info.name;
    }
  }
  EXPECT_FALSE(parse_activation("").is_ok());
  EXPECT_FALSE(parse_activation("relu ").is_ok());
}

TEST(Validate, RejectsNonFiniteParametersAndNamesThem) {
  for (const ActivationInfo& info : activation_table()) {
    for (int p = 0; p < info.param_count; ++p) {
      for (const float bad : {kNaN, kInf, -kInf}) {
        ActivationSpec spec = default_spec(info.id);
        spec.params[p] = bad;
        const Status status = validate(spec);
        ASSERT_FALSE(status.is_ok()) << info.name << " accepted " << bad;
        EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
        EXPECT_TRUE(contains(status.message(), info.params[p].name)) << status.message();
      }
    }
  }
}

TEST(Validate, RejectsOutOfRangeParametersAndNamesThem) {
  const struct {
    Activation kind;
    int param;
    float value;
  } bad[] = {{A::kLeakyReLU, 0, -0.01f}, {A::kELU, 0, 0.0f},      {A::kELU, 0, -1.0f},
             {A::kCELU, 0, 0.0f},        {A::kCELU, 0, -2.0f},    {A::kSoftplus, 0, 0.0f},
             {A::kSoftplus, 0, -1.0f},   {A::kSoftplus, 1, 0.0f}, {A::kSoftplus, 1, -5.0f}};
  for (const auto& b : bad) {
    ActivationSpec spec = default_spec(b.kind);
    spec.params[b.param] = b.value;
    const Status status = validate(spec);
    ASSERT_FALSE(status.is_ok()) << describe(spec);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(status.message(), activation_info(b.kind).params[b.param].name))
        << status.message();
  }
}

TEST(Validate, AcceptsTheEdgesOfEachRange) {
  EXPECT_TRUE(validate({A::kLeakyReLU, {0.0f, 0.0f}}).is_ok());
  EXPECT_TRUE(validate({A::kPReLU, {-0.5f, 0.0f}}).is_ok());  // PReLU only requires finite
  EXPECT_TRUE(validate({A::kELU, {1e-6f, 0.0f}}).is_ok());
  EXPECT_TRUE(validate({A::kSoftplus, {0.5f, 1e-3f}}).is_ok());
}

TEST(Validate, RejectsAnActivationIdOutOfRange) {
  const Status status = validate({static_cast<Activation>(kActivationCount), {}});
  EXPECT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
}

TEST(Describe, NamesTheParameters) {
  EXPECT_EQ(describe(default_spec(A::kReLU)), "relu");
  EXPECT_EQ(describe({A::kLeakyReLU, {0.2f, 0.0f}}), "leaky_relu(negative_slope=0.2)");
  EXPECT_EQ(describe({A::kSoftplus, {2.0f, 10.0f}}), "softplus(beta=2, threshold=10)");
}

}  // namespace
}  // namespace relulab
