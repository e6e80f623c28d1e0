#include "relulab/nn/lr_schedule.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "relulab/nn/optimizer.hpp"

namespace relulab::nn {
namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("lr schedule: " + what);
}

void require_lr(float lr) {
  const Status s = validate_learning_rate(lr);
  if (!s) throw std::invalid_argument("lr schedule: " + s.message());
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find(separator, begin);
    parts.push_back(text.substr(begin, end == std::string_view::npos ? end : end - begin));
    if (end == std::string_view::npos) return parts;
    begin = end + 1;
  }
}

// The whole of `text` as a number, or nothing.
template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

LrSchedule LrSchedule::constant(float lr) {
  require_lr(lr);
  return LrSchedule(Kind::kConstant, lr);
}

LrSchedule LrSchedule::step(float lr, std::int64_t step_size_steps, float gamma) {
  require_lr(lr);
  require(step_size_steps >= 1,
          "step size must be >= 1 step, got " + std::to_string(step_size_steps));
  require(gamma >= 0 && std::isfinite(gamma),
          "gamma must be >= 0 and finite, got " + fmt::format("{}", gamma));
  LrSchedule s(Kind::kStep, lr);
  s.period_ = step_size_steps;
  s.gamma_ = gamma;
  return s;
}

LrSchedule LrSchedule::cosine(float lr, std::int64_t total_steps, float eta_min) {
  require_lr(lr);
  require(total_steps >= 1, "cosine total steps must be >= 1, got " + std::to_string(total_steps));
  require(eta_min >= 0 && std::isfinite(eta_min),
          "eta_min must be >= 0 and finite, got " + fmt::format("{}", eta_min));
  LrSchedule s(Kind::kCosine, lr);
  s.period_ = total_steps;
  s.eta_min_ = eta_min;
  return s;
}

LrSchedule LrSchedule::with_warmup(LrSchedule schedule, std::int64_t warmup_steps) {
  require(warmup_steps >= 0, "warmup must be >= 0 steps, got " + std::to_string(warmup_steps));
  schedule.warmup_steps_ = warmup_steps;
  return schedule;
}

float LrSchedule::lr_at(std::int64_t step) const {
  step = std::max<std::int64_t>(step, 0);
  const std::int64_t w = warmup_steps_;
  if (step < w) {
    // Linear warmup to the inner schedule's first value: lr/W at step 0, lr at step W - 1.
    LrSchedule inner = *this;
    inner.warmup_steps_ = 0;
    return static_cast<float>(static_cast<double>(inner.lr_at(0)) * static_cast<double>(step + 1) /
                              static_cast<double>(w));
  }
  const std::int64_t t = step - w;
  switch (kind_) {
    case Kind::kConstant:
      return lr_;
    case Kind::kStep:
      return static_cast<float>(
          lr_ * std::pow(static_cast<double>(gamma_), static_cast<double>(t / period_)));
    case Kind::kCosine: {
      const double progress =
          static_cast<double>(std::min(t, period_)) / static_cast<double>(period_);
      return static_cast<float>(eta_min_ + (static_cast<double>(lr_) - eta_min_) *
                                               (1.0 + std::cos(std::numbers::pi * progress)) / 2.0);
    }
  }
  return lr_;
}

std::string LrSchedule::describe() const {
  std::string text;
  switch (kind_) {
    case Kind::kConstant:
      text = "constant(lr=" + fmt::format("{}", lr_) + ")";
      break;
    case Kind::kStep:
      text = "step(lr=" + fmt::format("{}", lr_) + ", x" + fmt::format("{}", gamma_) + " every " +
             std::to_string(period_) + " steps)";
      break;
    case Kind::kCosine:
      text = "cosine(lr=" + fmt::format("{}", lr_) + ", total_steps=" + std::to_string(period_) +
             ", eta_min=" + fmt::format("{}", eta_min_) + ")";
      break;
  }
  if (warmup_steps_ > 0) text += ", warmup " + std::to_string(warmup_steps_) + " steps";
  return text;
}

Result<LrSchedule> parse_lr_schedule(std::string_view text, float base_lr,
                                     std::int64_t steps_per_epoch, std::int64_t total_steps) {
  const std::string quoted = "lr schedule '" + std::string(text) + "': ";
  const auto error = [&](const std::string& what) {
    return Status::invalid_argument(quoted + what);
  };
  if (const Status s = validate_learning_rate(base_lr); !s) return error(s.message());
  if (steps_per_epoch < 1 || total_steps < 1) {
    return error("needs steps per epoch and total steps >= 1, got " +
                 std::to_string(steps_per_epoch) + " and " + std::to_string(total_steps));
  }
  const std::vector<std::string_view> parts = split(text, ':');
  const std::string_view name = parts[0];
  if (name != "constant" && name != "step" && name != "cosine") {
    return error("unknown schedule '" + std::string(name) +
                 "'; valid: constant, step:EPOCHS[:GAMMA], cosine[:eta_min=X], each with an "
                 "optional :warmup=STEPS");
  }
  std::vector<std::string_view> numbers;
  std::int64_t warmup = 0;
  float eta_min = 0;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      numbers.push_back(part);
      continue;
    }
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = part.substr(eq + 1);
    if (key == "warmup") {
      const auto w = parse_number<std::int64_t>(value);
      if (!w || *w < 0 || *w >= total_steps) {
        return error("warmup '" + std::string(value) + "' is not a step count in [0, " +
                     std::to_string(total_steps) + ")");
      }
      warmup = *w;
    } else if (key == "eta_min" && name == "cosine") {
      const auto e = parse_number<float>(value);
      if (!e || !(*e >= 0) || !std::isfinite(*e)) {
        return error("eta_min '" + std::string(value) + "' is not a finite number >= 0");
      }
      eta_min = *e;
    } else {
      return error("unknown option '" + std::string(part) + "' for " + std::string(name) +
                   (name == "cosine" ? " (options: warmup=, eta_min=)" : " (option: warmup=)"));
    }
  }
  const std::size_t max_numbers = name == "step" ? 2 : 0;
  if (numbers.size() > max_numbers) {
    return error("unexpected '" + std::string(numbers[max_numbers]) + "'");
  }
  LrSchedule schedule = LrSchedule::constant(base_lr);
  const std::int64_t after_warmup = total_steps - warmup;
  if (name == "step") {
    if (numbers.empty()) return error("step needs an epoch count: step:EPOCHS[:GAMMA]");
    const auto epochs = parse_number<std::int64_t>(numbers[0]);
    if (!epochs || *epochs < 1 ||
        *epochs > std::numeric_limits<std::int64_t>::max() / steps_per_epoch) {
      return error("step size '" + std::string(numbers[0]) +
                   "' is not a whole number of epochs >= 1");
    }
    float gamma = 0.1f;
    if (numbers.size() == 2) {
      const auto g = parse_number<float>(numbers[1]);
      if (!g || !(*g >= 0) || !std::isfinite(*g)) {
        return error("gamma '" + std::string(numbers[1]) + "' is not a finite number >= 0");
      }
      gamma = *g;
    }
    schedule = LrSchedule::step(base_lr, *epochs * steps_per_epoch, gamma);
  } else if (name == "cosine") {
    schedule = LrSchedule::cosine(base_lr, after_warmup, eta_min);
  }
  return LrSchedule::with_warmup(schedule, warmup);
}

}  // namespace relulab::nn
