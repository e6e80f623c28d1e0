// The activation table: one entry per activation, definitions and defaults as in PyTorch.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "relulab/activation.hpp"
#include "relulab/spelling.hpp"

namespace relulab {
namespace {

using A = Activation;
constexpr ParamInfo kNoParam{};

// Order must follow the enum; a static_assert below checks it.
constexpr std::array<ActivationInfo, kActivationCount> kTable{{
    {A::kReLU,
     "relu",
     "torch.nn.ReLU",
     "max(0, x)",
     "x > 0 ? 1 : 0",
     {kNoParam, kNoParam},
     0,
     true,
     true,
     true},
    {A::kLeakyReLU,
     "leaky_relu",
     "torch.nn.LeakyReLU",
     "x > 0 ? x : negative_slope * x",
     "x > 0 ? 1 : negative_slope",
     {ParamInfo{"negative_slope", 0.01f, ">= 0"}, kNoParam},
     1,
     true,
     true,
     false},
    {A::kPReLU,
     "prelu",
     "torch.nn.PReLU",
     "x > 0 ? x : a * x (a learnable, per channel)",
     "x > 0 ? 1 : a;  d/da = x > 0 ? 0 : x",
     {ParamInfo{"init", 0.25f, "finite"}, kNoParam},
     1,
     false,
     true,
     false},
    {A::kReLU6,
     "relu6",
     "torch.nn.ReLU6",
     "min(max(0, x), 6)",
     "0 < x < 6 ? 1 : 0",
     {kNoParam, kNoParam},
     0,
     true,
     true,
     true},
    {A::kELU,
     "elu",
     "torch.nn.ELU",
     "x > 0 ? x : alpha * (exp(x) - 1)",
     "x > 0 ? 1 : alpha * exp(x)  (= y + alpha)",
     {ParamInfo{"alpha", 1.0f, "> 0"}, kNoParam},
     1,
     true,
     false,
     false},
    {A::kSELU,
     "selu",
     "torch.nn.SELU",
     "scale * (x > 0 ? x : alpha * (exp(x) - 1)), scale = 1.0507009873554804934, alpha = "
     "1.6732632423543772848",
     "scale * (x > 0 ? 1 : alpha * exp(x))  (= y + scale * alpha)",
     {kNoParam, kNoParam},
     0,
     true,
     false,
     false},
    {A::kCELU,
     "celu",
     "torch.nn.CELU",
     "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
     "x > 0 ? 1 : exp(x / alpha)  (= y / alpha + 1)",
     {ParamInfo{"alpha", 1.0f, "> 0"}, kNoParam},
     1,
     true,
     false,
     false},
    {A::kGELU,
     "gelu",
     "torch.nn.GELU(approximate='none')",
     "x * Phi(x), Phi(x) = (1 + erf(x / sqrt(2))) / 2",
     "Phi(x) + x * exp(-x^2 / 2) / sqrt(2 pi)",
     {kNoParam, kNoParam},
     0,
     false,
     false,
     false},
    {A::kGELUTanh,
     "gelu_tanh",
     "torch.nn.GELU(approximate='tanh')",
     "x / 2 * (1 + tanh(u)), u = sqrt(2 / pi) * (x + 0.044715 x^3)",
     "(1 + tanh(u)) / 2 + x / 2 * (1 - tanh(u)^2) * sqrt(2 / pi) * (1 + 3 * 0.044715 x^2)",
     {kNoParam, kNoParam},
     0,
     false,
     false,
     false},
    {A::kSiLU,
     "silu",
     "torch.nn.SiLU",
     "x * sigmoid(x)",
     "s * (1 + x * (1 - s)), s = sigmoid(x)",
     {kNoParam, kNoParam},
     0,
     false,
     false,
     false},
    {A::kMish,
     "mish",
     "torch.nn.Mish",
     "x * tanh(softplus(x))",
     "t + x * sigmoid(x) * (1 - t^2), t = tanh(softplus(x))",
     {kNoParam, kNoParam},
     0,
     false,
     false,
     false},
    {A::kSoftplus,
     "softplus",
     "torch.nn.Softplus",
     "beta * x > threshold ? x : log(1 + exp(beta * x)) / beta",
     "beta * x > threshold ? 1 : sigmoid(beta * x)",
     {ParamInfo{"beta", 1.0f, "> 0"}, ParamInfo{"threshold", 20.0f, "> 0"}},
     2,
     false,
     false,
     false},
    {A::kHardSigmoid,
     "hardsigmoid",
     "torch.nn.Hardsigmoid",
     "min(max(x + 3, 0), 6) / 6",
     "-3 < x < 3 ? 1/6 : 0",
     {kNoParam, kNoParam},
     0,
     false,
     true,
     false},
    {A::kHardSwish,
     "hardswish",
     "torch.nn.Hardswish",
     "x * min(max(x + 3, 0), 6) / 6",
     "x < -3 ? 0 : x <= 3 ? (2x + 3) / 6 : 1",
     {kNoParam, kNoParam},
     0,
     false,
     true,
     false},
    {A::kSigmoid,
     "sigmoid",
     "torch.nn.Sigmoid",
     "1 / (1 + exp(-x))",
     "y * (1 - y)",
     {kNoParam, kNoParam},
     0,
     true,
     false,
     false},
    {A::kTanh,
     "tanh",
     "torch.nn.Tanh",
     "tanh(x)",
     "1 - y^2",
     {kNoParam, kNoParam},
     0,
     true,
     false,
     false},
}};

constexpr bool table_follows_enum() {
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<std::size_t>(kTable[i].id) != i) return false;
  }
  return true;
}
static_assert(table_follows_enum(), "kTable must list activations in enum order");

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string format_float(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return buf;
}

}  // namespace

std::span<const ActivationInfo> activation_table() noexcept {
  return kTable;
}

const ActivationInfo& activation_info(Activation a) noexcept {
  return kTable[static_cast<std::size_t>(a)];
}

Result<Activation> parse_activation(std::string_view name) {
  const std::string key = lower(name);
  if (key == "swish") return Activation::kSiLU;
  for (const ActivationInfo& info : kTable) {
    if (key == info.name) return info.id;
  }
  std::string valid;
  std::string_view closest;
  std::size_t best = std::numeric_limits<std::size_t>::max();
  for (const ActivationInfo& info : kTable) {
    if (!valid.empty()) valid += ", ";
    valid += info.name;
    const std::size_t d = edit_distance(key, info.name);
    if (d < best) best = d, closest = info.name;
  }
  return Status::invalid_argument("unknown activation '" + std::string(name) + "'; did you mean '" +
                                  std::string(closest) + "'? Valid names: " + valid);
}

ActivationSpec default_spec(Activation a) noexcept {
  const ActivationInfo& info = activation_info(a);
  ActivationSpec spec{a, {}};
  for (int i = 0; i < info.param_count; ++i) spec.params[i] = info.params[i].default_value;
  return spec;
}

Status validate(const ActivationSpec& spec) {
  if (static_cast<std::size_t>(spec.kind) >= kActivationCount) {
    return Status::invalid_argument("activation id " + std::to_string(static_cast<int>(spec.kind)) +
                                    " is out of range");
  }
  const ActivationInfo& info = activation_info(spec.kind);
  for (int i = 0; i < info.param_count; ++i) {
    const ParamInfo& p = info.params[i];
    const float v = spec.params[i];
    const bool ok =
        std::isfinite(v) && (p.constraint == "finite" || (p.constraint == ">= 0" && v >= 0.0f) ||
                             (p.constraint == "> 0" && v > 0.0f));
    if (!ok) {
      return Status::invalid_argument(
          std::string(info.name) + " parameter " + std::string(p.name) + " = " + format_float(v) +
          " is invalid: it must be finite and " + std::string(p.constraint));
    }
  }
  return Status::ok();
}

std::string describe(const ActivationSpec& spec) {
  const ActivationInfo& info = activation_info(spec.kind);
  std::string out(info.name);
  if (info.param_count == 0) return out;
  out += '(';
  for (int i = 0; i < info.param_count; ++i) {
    if (i > 0) out += ", ";
    out += std::string(info.params[i].name) + '=' + format_float(spec.params[i]);
  }
  return out + ')';
}

}  // namespace relulab
