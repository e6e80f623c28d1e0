// Gradient flow: per-layer weight, gradient and input-gradient norms, and update ratios.
#include "relulab/diag/gradient_flow.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "diag/observer_scope.hpp"
#include "relulab/nn/loss.hpp"

namespace relulab::diag {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ||a||_2 in double, elements in order.
double l2_norm(std::span<const float> a) {
  double s = 0;
  for (const float v : a) s += static_cast<double>(v) * static_cast<double>(v);
  return std::sqrt(s);
}

// ||a - b||_2 in double, elements in order.
double l2_distance(std::span<const float> a, std::span<const float> b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    s += d * d;
  }
  return std::sqrt(s);
}

// Every weight parameter of every layer, with the layer's index.
std::vector<std::pair<std::size_t, nn::Parameter*>> weights(nn::Sequential& net) {
  std::vector<std::pair<std::size_t, nn::Parameter*>> all;
  for (std::size_t i = 0; i < net.size(); ++i) {
    for (nn::Parameter* p : net.layer(i).parameters()) {
      if (p->role == nn::ParamRole::kWeight) all.emplace_back(i, p);
    }
  }
  return all;
}

// Samples of the current weights and gradients; input_norms per layer index (may be empty).
LayerGradientSample sample_of(std::int64_t step, std::size_t layer, const nn::Parameter& p,
                              const std::vector<double>& input_norms) {
  LayerGradientSample s;
  s.step = step;
  s.layer_index = layer;
  s.parameter = p.name;
  s.weight_norm = l2_norm(p.value.span());
  s.grad_norm = l2_norm(p.grad.span());
  s.input_grad_norm = layer < input_norms.size() ? input_norms[layer] : kNaN;
  s.update_ratio = kNaN;
  return s;
}

}  // namespace

void InputGradientNorms::reset(std::size_t layers) {
  norms_.assign(layers, kNaN);
}

void InputGradientNorms::after_backward(std::size_t index, const nn::Layer&, const Tensor& dx,
                                        const Tensor&) {
  if (index < norms_.size()) norms_[index] = dx.empty() ? kNaN : l2_norm(dx.span());
}

GradientFlowMonitor::GradientFlowMonitor(GradientFlowOptions options) : options_(options) {
  if (options_.every < 1) {
    throw std::invalid_argument(
        fmt::format("gradient flow: 'every' must be >= 1 step, got {}", options_.every));
  }
}

GradientFlowMonitor::~GradientFlowMonitor() {
  detach();
}

bool GradientFlowMonitor::sampled(std::int64_t step) const noexcept {
  return step >= 1 && (step - 1) % options_.every == 0;
}

void GradientFlowMonitor::attach(nn::Model& model, std::int64_t next_step) {
  detach();
  if (!sampled(next_step)) return;
  watched_ = &model.net;
  previous_ = model.net.observer();
  watched_step_ = next_step;
  watcher_.reset(model.net.size());
  model.net.set_observer(&watcher_);
}

void GradientFlowMonitor::detach() {
  // Only when still installed: someone may have replaced the observer since.
  if (watched_ != nullptr && watched_->observer() == &watcher_) watched_->set_observer(previous_);
  watched_ = nullptr;
  previous_ = nullptr;
}

void GradientFlowMonitor::after_backward(std::int64_t step, nn::Model& model) {
  const bool watched = watched_ == &model.net && watched_step_ == step;
  detach();
  pending_.clear();
  if (!sampled(step)) return;
  const std::vector<double> none;
  const std::vector<double>& input_norms = watched ? watcher_.norms() : none;
  pending_step_ = step;
  for (const auto& [layer, p] : weights(model.net)) {
    pending_.push_back({sample_of(step, layer, *p, input_norms), p, p->value.clone()});
  }
}

void GradientFlowMonitor::after_update(std::int64_t step, nn::Model& model) {
  if (pending_step_ == step) {
    for (Pending& p : pending_) {
      const Tensor& before = p.before;
      p.sample.update_ratio =
          l2_distance(p.parameter->value.span(), before.span()) / p.sample.weight_norm;
      samples_.push_back(std::move(p.sample));
    }
  }
  pending_.clear();
  pending_step_ = 0;
  attach(model, step + 1);
}

std::vector<LayerGradientSample> gradient_norms_once(nn::Model& model, const Tensor& x,
                                                     std::span<const std::int32_t> y) {
  // What a training-mode forward and backward change, to put back afterwards.
  std::vector<Tensor> grads, buffers;
  for (nn::Parameter* p : model.net.parameters()) {
    grads.push_back(p->grad.clone());
    p->grad.zero();
  }
  for (nn::Buffer* b : model.net.buffers()) buffers.push_back(b->value.clone());
  const auto restore = [&] {
    model.net.release();
    std::size_t i = 0;
    for (nn::Parameter* p : model.net.parameters()) {
      std::copy_n(grads[i].data(), grads[i].size(), p->grad.data());
      ++i;
    }
    i = 0;
    for (nn::Buffer* b : model.net.buffers()) {
      std::copy_n(buffers[i].data(), buffers[i].size(), b->value.data());
      ++i;
    }
  };

  InputGradientNorms watcher;
  watcher.reset(model.net.size());
  std::vector<LayerGradientSample> samples;
  try {
    const ObserverScope scope(model.net, &watcher);
    const Tensor logits = model.net.forward(x, nn::Pass{nn::Mode::kTrain, 0});
    const nn::LossResult loss = nn::softmax_cross_entropy(logits, y);
    (void)model.net.backward(loss.grad);
    for (const auto& [layer, p] : weights(model.net)) {
      samples.push_back(sample_of(0, layer, *p, watcher.norms()));
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();
  return samples;
}

}  // namespace relulab::diag
