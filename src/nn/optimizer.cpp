#include "relulab/nn/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

Status out_of_range(const char* option, float value, const char* expected) {
  return Status::invalid_argument(std::string(option) + " must be " + expected + ", got " +
                                  fmt::format("{}", value));
}

// Calls body(j) for every j in [0, n), split across threads once n is large enough to pay for it.
// Every body here is elementwise, so the result is the same bits for any split.
template <class Body>
void for_each_element(std::size_t n, const Body& body) {
  const auto count = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static) num_threads(thread_count()) if (n >= kParallelThreshold)
  for (std::int64_t j = 0; j < count; ++j) body(static_cast<std::size_t>(j));
}

void require(const Status& status) {
  if (!status) throw std::invalid_argument(status.message());
}

// Weight decay touches only weights (see the header for why this differs from PyTorch).
float decay_for(const Parameter& p, float weight_decay) {
  return p.role == ParamRole::kWeight ? weight_decay : 0.0f;
}

// The step count as two floats that are exact integers: {count mod 2^24, floor(count / 2^24)}.
constexpr std::int64_t kStepSplit = std::int64_t{1} << 24;

class Sgd final : public Optimizer {
 public:
  Sgd(std::vector<Parameter*> params, const SgdOptions& options)
      : Optimizer(std::move(params)), options_(options) {
    require(validate(options));
    if (options_.momentum != 0) momentum_slot_ = add_slot("momentum_buffer");
  }

  // torch.optim.SGD, per element, with d the gradient, mu the momentum, tau the dampening:
  //   d = g + weight_decay * w
  //   b = d at the first step, else mu * b + (1 - tau) * d      (only when mu != 0)
  //   d = nesterov ? d + mu * b : b                             (only when mu != 0)
  //   w = w - lr * d
  void step(float lr) override {
    require(validate_learning_rate(lr));
    const bool first = steps_ == 0;
    ++steps_;
    const float mu = options_.momentum;
    const float take = 1.0f - options_.dampening;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Parameter& p = *params_[i];
      float* w = p.value.data();
      const float* g = p.grad.data();
      const float decay = decay_for(p, options_.weight_decay);
      if (mu == 0) {
        for_each_element(p.value.size(),
                         [=](std::size_t j) { w[j] -= lr * (g[j] + decay * w[j]); });
        continue;
      }
      float* b = slot(momentum_slot_, i).data();
      const bool nesterov = options_.nesterov;
      for_each_element(p.value.size(), [=](std::size_t j) {
        const float d = g[j] + decay * w[j];
        b[j] = first ? d : mu * b[j] + take * d;
        w[j] -= lr * (nesterov ? d + mu * b[j] : b[j]);
      });
    }
  }

  std::string describe() const override {
    return "sgd(momentum=" + fmt::format("{}", options_.momentum) +
           ", dampening=" + fmt::format("{}", options_.dampening) +
           ", nesterov=" + (options_.nesterov ? "true" : "false") +
           ", weight_decay=" + fmt::format("{}", options_.weight_decay) + ")";
  }

 private:
  SgdOptions options_;
  std::size_t momentum_slot_ = 0;
};

class Adam final : public Optimizer {
 public:
  Adam(std::vector<Parameter*> params, const AdamOptions& options)
      : Optimizer(std::move(params)), options_(options) {
    require(validate(options));
    exp_avg_slot_ = add_slot("exp_avg");
    exp_avg_sq_slot_ = add_slot("exp_avg_sq");
  }

  // torch.optim.Adam (decoupled = false) and torch.optim.AdamW (decoupled = true), per element,
  // at step t = 1, 2, ...:
  //   AdamW: w = w * (1 - lr * weight_decay);   Adam: g = g + weight_decay * w
  //   m = beta1 * m + (1 - beta1) * g
  //   v = beta2 * v + (1 - beta2) * g^2
  //   w = w - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
  // The per-step scalars are computed in double and rounded once, as PyTorch computes them in
  // Python floats.
  void step(float lr) override {
    require(validate_learning_rate(lr));
    ++steps_;
    const double t = static_cast<double>(steps_);
    const double b1 = options_.beta1;
    const double b2 = options_.beta2;
    const auto keep1 = static_cast<float>(b1);
    const auto take1 = static_cast<float>(1.0 - b1);
    const auto keep2 = static_cast<float>(b2);
    const auto take2 = static_cast<float>(1.0 - b2);
    const auto step_size = static_cast<float>(lr / (1.0 - std::pow(b1, t)));
    const auto bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(b2, t)));
    const float eps = options_.eps;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Parameter& p = *params_[i];
      float* w = p.value.data();
      const float* g = p.grad.data();
      float* m = slot(exp_avg_slot_, i).data();
      float* v = slot(exp_avg_sq_slot_, i).data();
      const double wd = decay_for(p, options_.weight_decay);
      const float l2 = options_.decoupled ? 0.0f : static_cast<float>(wd);
      const auto shrink = static_cast<float>(options_.decoupled ? 1.0 - lr * wd : 1.0);
      for_each_element(p.value.size(), [=](std::size_t j) {
        const float wj = w[j] * shrink;
        const float d = g[j] + l2 * wj;
        m[j] = keep1 * m[j] + take1 * d;
        v[j] = keep2 * v[j] + take2 * d * d;
        const float denom = std::sqrt(v[j]) / bias_correction2_sqrt + eps;
        w[j] = wj - step_size * (m[j] / denom);
      });
    }
  }

  std::string describe() const override {
    return std::string(options_.decoupled ? "adamw" : "adam") +
           "(beta1=" + fmt::format("{}", options_.beta1) +
           ", beta2=" + fmt::format("{}", options_.beta2) +
           ", eps=" + fmt::format("{}", options_.eps) +
           ", weight_decay=" + fmt::format("{}", options_.weight_decay) + ")";
  }

 private:
  AdamOptions options_;
  std::size_t exp_avg_slot_ = 0;
  std::size_t exp_avg_sq_slot_ = 0;
};

}  // namespace

Status validate_learning_rate(float lr) {
  if (!(lr >= 0) || !std::isfinite(lr)) return out_of_range("lr", lr, ">= 0 and finite");
  return Status::ok();
}

Status validate(const SgdOptions& o) {
  if (!(o.momentum >= 0 && o.momentum < 1))
    return out_of_range("momentum", o.momentum, "in [0, 1)");
  if (!(o.dampening >= 0 && o.dampening <= 1)) {
    return out_of_range("dampening", o.dampening, "in [0, 1]");
  }
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) {
    return out_of_range("weight_decay", o.weight_decay, ">= 0 and finite");
  }
  if (o.nesterov && (o.momentum == 0 || o.dampening != 0)) {
    return Status::invalid_argument("nesterov needs momentum > 0 and dampening 0, got momentum=" +
                                    fmt::format("{}", o.momentum) +
                                    ", dampening=" + fmt::format("{}", o.dampening));
  }
  return Status::ok();
}

Status validate(const AdamOptions& o) {
  if (!(o.beta1 >= 0 && o.beta1 < 1)) return out_of_range("beta1", o.beta1, "in [0, 1)");
  if (!(o.beta2 >= 0 && o.beta2 < 1)) return out_of_range("beta2", o.beta2, "in [0, 1)");
  if (!(o.eps > 0) || !std::isfinite(o.eps)) return out_of_range("eps", o.eps, "> 0 and finite");
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) {
    return out_of_range("weight_decay", o.weight_decay, ">= 0 and finite");
  }
  return Status::ok();
}

Optimizer::Optimizer(std::vector<Parameter*> params) : params_(std::move(params)) {
  std::set<std::string> names;
  for (const Parameter* p : params_) {
    if (p == nullptr) throw std::invalid_argument("optimizer: null parameter");
    if (!names.insert(p->name).second) {
      throw std::invalid_argument("optimizer: parameter name '" + p->name + "' appears twice");
    }
    if (p->grad.shape() != p->value.shape()) {
      throw std::invalid_argument("optimizer: parameter '" + p->name + "' has value " +
                                  to_string(p->value.shape()) + " but grad " +
                                  to_string(p->grad.shape()));
    }
  }
}

void Optimizer::zero_grad() {
  for (Parameter* p : params_) p->grad.zero();
}

std::size_t Optimizer::add_slot(std::string name) {
  Slot s{std::move(name), {}};
  for (const Parameter* p : params_) s.tensors.emplace_back(p->value.shape());
  slots_.push_back(std::move(s));
  return slots_.size() - 1;
}

std::vector<Buffer> Optimizer::state() const {
  std::vector<Buffer> out;
  for (const Slot& s : slots_) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      out.push_back({s.name + "." + params_[i]->name, s.tensors[i].clone()});
    }
  }
  Tensor step({2});
  step[0] = static_cast<float>(steps_ % kStepSplit);
  step[1] = static_cast<float>(steps_ / kStepSplit);
  out.push_back({"step", step});
  return out;
}

Status Optimizer::load_state(const std::vector<Buffer>& saved) {
  std::map<std::string, const Tensor*> given;
  for (const Buffer& b : saved) {
    if (!given.emplace(b.name, &b.value).second) {
      return Status::invalid_argument("optimizer state: '" + b.name + "' appears twice");
    }
  }
  // Every expected entry, checked before anything is overwritten.
  const std::vector<Buffer> expected = state();
  for (const Buffer& e : expected) {
    const auto it = given.find(e.name);
    if (it == given.end()) {
      return Status::invalid_argument("optimizer state: missing '" + e.name + "' (" + describe() +
                                      ")");
    }
    if (it->second->shape() != e.value.shape()) {
      return Status::invalid_argument("optimizer state: '" + e.name + "' has shape " +
                                      to_string(it->second->shape()) + ", expected " +
                                      to_string(e.value.shape()));
    }
  }
  if (given.size() != expected.size()) {
    for (const auto& [name, tensor] : given) {
      bool known = false;
      for (const Buffer& e : expected) known = known || e.name == name;
      if (!known) {
        return Status::invalid_argument("optimizer state: unexpected '" + name + "' (" +
                                        describe() + ")");
      }
    }
  }
  const Tensor& step = *given.at("step");
  const float low = step[0];
  const float high = step[1];
  if (!(low >= 0 && low < static_cast<float>(kStepSplit) && low == std::floor(low)) ||
      !(high >= 0 && high < static_cast<float>(kStepSplit) && high == std::floor(high))) {
    return Status::corrupt_data("optimizer state: 'step' is {" + fmt::format("{}", low) + ", " +
                                fmt::format("{}", high) + "}, expected two integers in [0, 2^24)");
  }
  for (Slot& s : slots_) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Tensor& src = *given.at(s.name + "." + params_[i]->name);
      std::copy(src.data(), src.data() + src.size(), s.tensors[i].data());
    }
  }
  steps_ = static_cast<std::int64_t>(low) + static_cast<std::int64_t>(high) * kStepSplit;
  return Status::ok();
}

std::unique_ptr<Optimizer> make_sgd(std::vector<Parameter*> params, const SgdOptions& options) {
  return std::make_unique<Sgd>(std::move(params), options);
}

std::unique_ptr<Optimizer> make_adam(std::vector<Parameter*> params, const AdamOptions& options) {
  return std::make_unique<Adam>(std::move(params), options);
}

std::unique_ptr<Optimizer> make_adamw(std::vector<Parameter*> params, const AdamOptions& options) {
  AdamOptions decoupled = options;
  decoupled.decoupled = true;
  return std::make_unique<Adam>(std::move(params), decoupled);
}

}  // namespace relulab::nn
