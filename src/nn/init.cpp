#include "relulab/nn/init.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "relulab/spelling.hpp"

namespace relulab::nn {
namespace {

struct SchemeName {
  std::string_view name;
  InitScheme scheme;
};

// Canonical names first (describe() uses the first match), then aliases.
constexpr SchemeName kSchemeNames[] = {
    {"he_normal", InitScheme::kHeNormal},
    {"he_uniform", InitScheme::kHeUniform},
    {"xavier_normal", InitScheme::kXavierNormal},
    {"xavier_uniform", InitScheme::kXavierUniform},
    {"lecun_normal", InitScheme::kLeCunNormal},
    {"orthogonal", InitScheme::kOrthogonal},
    {"constant", InitScheme::kConstant},
    {"normal", InitScheme::kNormal},
    {"torch_default", InitScheme::kTorchDefault},
    {"kaiming_normal", InitScheme::kHeNormal},
    {"kaiming_uniform", InitScheme::kHeUniform},
    {"glorot_normal", InitScheme::kXavierNormal},
    {"glorot_uniform", InitScheme::kXavierUniform},
};

bool is_he(InitScheme s) {
  return s == InitScheme::kHeNormal || s == InitScheme::kHeUniform;
}
bool takes_value(InitScheme s) {
  return s == InitScheme::kConstant || s == InitScheme::kNormal;
}
bool takes_gain(InitScheme s) {
  return s == InitScheme::kXavierNormal || s == InitScheme::kXavierUniform ||
         s == InitScheme::kOrthogonal;
}

std::string_view canonical_name(InitScheme scheme) {
  for (const SchemeName& s : kSchemeNames) {
    if (s.scheme == scheme) return s.name;
  }
  return "?";
}

Status unknown_scheme(std::string_view text, std::string_view key) {
  std::string valid;
  std::string_view closest;
  std::size_t best = std::numeric_limits<std::size_t>::max();
  for (const SchemeName& s : kSchemeNames) {
    valid += (valid.empty() ? "" : ", ") + std::string(s.name);
    const std::size_t d = edit_distance(key, s.name);
    if (d < best) best = d, closest = s.name;
  }
  return Status::invalid_argument(
      "unknown initialiser '" + std::string(text) + "'; did you mean '" + std::string(closest) +
      "'? Valid: " + valid + " (constant:V, normal:STD; he/kaiming take :fan_in or :fan_out)");
}

// Orthogonal init as torch.nn.init.orthogonal_: Q of A = QR for a standard normal A [rows, cols]
// (transposed first when rows < cols, so Q has orthonormal columns), times gain. Modified
// Gram-Schmidt in double on A's columns gives the QR with a positive diagonal of R directly, which
// is the sign correction torch applies to Householder's Q.
void fill_orthogonal(const Tensor& w, double gain, Rng& rng) {
  const auto rows = static_cast<std::size_t>(w.dim(0));
  const std::size_t cols = w.size() / rows;
  const bool tall = rows >= cols;
  const std::size_t m = tall ? rows : cols;  // vector length
  const std::size_t n = tall ? cols : rows;  // vector count
  std::vector<double> q(n * m);              // q[j * m + i]: element i of vector j
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      const double a = rng.normal();
      if (tall)
        q[c * m + r] = a;
      else
        q[r * m + c] = a;
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    double* v = &q[j * m];
    for (std::size_t k = 0; k < j; ++k) {
      const double* u = &q[k * m];
      double dot = 0;
      for (std::size_t i = 0; i < m; ++i) dot += u[i] * v[i];
      for (std::size_t i = 0; i < m; ++i) v[i] -= dot * u[i];
    }
    double norm = 0;
    for (std::size_t i = 0; i < m; ++i) norm += v[i] * v[i];
    const double scale = norm > 0 ? 1.0 / std::sqrt(norm) : 0.0;
    for (std::size_t i = 0; i < m; ++i) v[i] *= scale;
  }
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      w[r * cols + c] = static_cast<float>(gain * (tall ? q[c * m + r] : q[r * m + c]));
    }
  }
}

void fill_normal(const Tensor& t, double stddev, Rng& rng) {
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(stddev * rng.normal());
}

void fill_uniform(const Tensor& t, double bound, Rng& rng) {
  const auto b = static_cast<float>(bound);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = rng.uniform(-b, b);
}

double checked_fan(const Parameter& p, std::int64_t fan, const char* which) {
  if (fan <= 0) {
    throw std::invalid_argument("initialize: parameter '" + p.name + "' has " + which + " " +
                                std::to_string(fan) + ", the initialiser needs it > 0");
  }
  return static_cast<double>(fan);
}

void initialize_weight(const Parameter& p, const InitSpec& spec, Rng& rng) {
  const double gain = takes_gain(spec.scheme) ? spec.gain : calculate_gain(p.feeds);
  const auto fan = [&] {
    return spec.mode == FanMode::kFanIn ? checked_fan(p, p.fan_in, "fan_in")
                                        : checked_fan(p, p.fan_out, "fan_out");
  };
  const auto fan_sum = [&] {
    return checked_fan(p, p.fan_in, "fan_in") + checked_fan(p, p.fan_out, "fan_out");
  };
  switch (spec.scheme) {
    case InitScheme::kHeNormal:
      return fill_normal(p.value, gain / std::sqrt(fan()), rng);
    case InitScheme::kHeUniform:
      return fill_uniform(p.value, gain * std::sqrt(3.0 / fan()), rng);
    case InitScheme::kXavierNormal:
      return fill_normal(p.value, gain * std::sqrt(2.0 / fan_sum()), rng);
    case InitScheme::kXavierUniform:
      return fill_uniform(p.value, gain * std::sqrt(6.0 / fan_sum()), rng);
    case InitScheme::kLeCunNormal:
      return fill_normal(p.value, 1.0 / std::sqrt(checked_fan(p, p.fan_in, "fan_in")), rng);
    case InitScheme::kOrthogonal:
      if (!p.value.empty()) fill_orthogonal(p.value, gain, rng);
      return;
    case InitScheme::kConstant:
      return p.value.fill(spec.value);
    case InitScheme::kNormal:
      return fill_normal(p.value, spec.value, rng);
    case InitScheme::kTorchDefault:
      return fill_uniform(p.value, 1.0 / std::sqrt(checked_fan(p, p.fan_in, "fan_in")), rng);
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ":gain=G": a finite G > 0, or an activation's name for calculate_gain of its default spec.
Result<float> parse_gain(std::string_view argument, const std::string& quoted) {
  const std::string_view text = argument.substr(5);  // after "gain="
  float gain = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, gain);
  if (ec == std::errc() && ptr == end) {
    if (std::isfinite(gain) && gain > 0) return gain;
  } else if (const Result<Activation> a = parse_activation(text)) {
    return calculate_gain(default_spec(a.value()));
  }
  return Status::invalid_argument(quoted +
                                  "expected :gain=G with a finite G > 0 or an "
                                  "activation name (gain=relu, gain=tanh)");
}

}  // namespace

float calculate_gain(const std::optional<ActivationSpec>& feeds) {
  if (!feeds) return 1.0f;
  const float slope = feeds->params[0];
  switch (feeds->kind) {
    case Activation::kSigmoid:
    case Activation::kHardSigmoid:
      return 1.0f;
    case Activation::kTanh:
      return 5.0f / 3.0f;
    case Activation::kLeakyReLU:
    case Activation::kPReLU:
      return static_cast<float>(std::sqrt(2.0 / (1.0 + static_cast<double>(slope) * slope)));
    case Activation::kSELU:
      return 0.75f;
    case Activation::kReLU:
    case Activation::kReLU6:
    case Activation::kELU:
    case Activation::kCELU:
    case Activation::kGELU:
    case Activation::kGELUTanh:
    case Activation::kSiLU:
    case Activation::kMish:
    case Activation::kSoftplus:
    case Activation::kHardSwish:
      return static_cast<float>(std::sqrt(2.0));
  }
  return 1.0f;
}

Result<InitSpec> parse_init(std::string_view text) {
  const std::string key = lower(text);
  const std::size_t colon = key.find(':');
  const std::string name = key.substr(0, colon);
  const std::string argument = colon == std::string::npos ? "" : key.substr(colon + 1);
  const SchemeName* found = nullptr;
  for (const SchemeName& s : kSchemeNames) {
    if (name == s.name) found = &s;
  }
  if (found == nullptr) return unknown_scheme(text, name);
  InitSpec spec{found->scheme, FanMode::kFanIn, 0};
  const std::string quoted = "initialiser '" + std::string(text) + "': ";
  if (takes_value(spec.scheme)) {
    float value = 0;
    const char* end = argument.data() + argument.size();
    const auto [ptr, ec] = std::from_chars(argument.data(), end, value);
    const bool is_normal = spec.scheme == InitScheme::kNormal;
    if (ec != std::errc() || ptr != end || !std::isfinite(value) || (is_normal && !(value > 0))) {
      return Status::invalid_argument(quoted + (is_normal ? "expected normal:STD with STD > 0"
                                                          : "expected constant:V with a finite V"));
    }
    spec.value = value;
  } else if (is_he(spec.scheme) && (argument == "fan_in" || argument == "fan_out")) {
    spec.mode = argument == "fan_in" ? FanMode::kFanIn : FanMode::kFanOut;
  } else if (takes_gain(spec.scheme) && argument.starts_with("gain=")) {
    auto gain = parse_gain(argument, quoted);
    if (!gain) return gain.status();
    spec.gain = gain.value();
  } else if (colon != std::string::npos) {
    return Status::invalid_argument(quoted + "unexpected ':" + argument + "'" +
                                    (is_he(spec.scheme)        ? " (expected :fan_in or :fan_out)"
                                     : takes_gain(spec.scheme) ? " (expected :gain=G)"
                                                               : " (takes no argument)"));
  }
  return spec;
}

std::string describe(const InitSpec& spec) {
  std::string text(canonical_name(spec.scheme));
  if (takes_value(spec.scheme)) {
    text += fmt::format(":{}", spec.value);  // shortest text that reads back to the same float
  } else if (is_he(spec.scheme) && spec.mode == FanMode::kFanOut) {
    text += ":fan_out";
  } else if (takes_gain(spec.scheme) && spec.gain != 1.0f) {
    text += fmt::format(":gain={}", spec.gain);
  }
  return text;
}

void initialize(std::span<Parameter* const> params, const InitSpec& weights, float bias_value,
                Rng& rng) {
  const Parameter* last_weight = nullptr;
  for (Parameter* p : params) {
    switch (p->role) {
      case ParamRole::kWeight:
        initialize_weight(*p, weights, rng);
        last_weight = p;
        break;
      case ParamRole::kBias:
        if (weights.scheme != InitScheme::kTorchDefault) {
          p->value.fill(bias_value);
        } else if (last_weight == nullptr) {
          throw std::invalid_argument("initialize: torch_default bias '" + p->name +
                                      "' has no weight before it to take fan_in from");
        } else {
          const double fan_in = checked_fan(*last_weight, last_weight->fan_in, "fan_in");
          fill_uniform(p->value, 1.0 / std::sqrt(fan_in), rng);
        }
        break;
      case ParamRole::kScale:
        p->value.fill(1.0f);
        break;
      case ParamRole::kShift:
        p->value.fill(0.0f);
        break;
      case ParamRole::kSlope:
        p->value.fill(0.25f);
        break;
    }
  }
}

}  // namespace relulab::nn
