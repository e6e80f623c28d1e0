// Activation diagnostics over a probe set: per-unit activity and per-layer output statistics,
// gathered by a Sequential observer during evaluation-mode forward passes.
#include "relulab/diag/activation_probe.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "diag/observer_scope.hpp"
#include "relulab/activation.hpp"
#include "relulab/diag/histogram.hpp"
#include "relulab/nn/activation_layer.hpp"
#include "relulab/nn/conv2d.hpp"
#include "relulab/nn/linear.hpp"
#include "relulab/nn/residual_block.hpp"
#include "relulab/nn/sequential.hpp"
#include "relulab/random.hpp"
#include "relulab/threads.hpp"

namespace relulab::diag {
namespace {

// |f'(x)| below this counts as saturated.
constexpr float kSaturatedDerivative = 0.01f;

// The activation whose output `layer` returns, or nullopt when its output is not one.
std::optional<ActivationSpec> output_activation(const nn::Layer& layer) {
  if (const auto* l = dynamic_cast<const nn::Linear*>(&layer)) return l->activation();
  if (const auto* c = dynamic_cast<const nn::Conv2d*>(&layer)) return c->activation();
  if (const auto* a = dynamic_cast<const nn::ActivationLayer*>(&layer)) return a->spec();
  if (const auto* r = dynamic_cast<const nn::ResidualBlock*>(&layer)) return r->activation();
  return std::nullopt;
}

// How f'(x) follows from y = f(x) for the saturating functions; kNone for the others.
enum class Saturation { kNone, kFromOutput, kHardSigmoid };

Saturation saturation_rule(const ActivationSpec& spec) {
  switch (spec.kind) {
    case Activation::kSigmoid:
    case Activation::kTanh:
      return Saturation::kFromOutput;  // the table's backward_from_output: y (1 - y), 1 - y^2
    case Activation::kHardSigmoid:
      return Saturation::kHardSigmoid;  // f' = 1/6 for 0 < y < 1, else 0
    default:
      return Saturation::kNone;
  }
}

template <class T>
T total(const std::vector<T>& per_unit) {
  return std::accumulate(per_unit.begin(), per_unit.end(), T{0});
}

// Smallest and largest finite value of y; nullopt when there is none. Exact in any order.
std::optional<std::pair<float, float>> finite_range(const Tensor& y) {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -lo;
  const float* p = y.data();
  const auto n = static_cast<std::int64_t>(y.size());
  const int threads = y.size() >= kParallelThreshold ? thread_count() : 1;
  // clang-format off
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi) num_threads(threads)
  // clang-format on
  for (std::int64_t i = 0; i < n; ++i) {
    if (std::isfinite(p[i])) {
      lo = std::min(lo, p[i]);
      hi = std::max(hi, p[i]);
    }
  }
  if (lo > hi) return std::nullopt;
  return std::pair{lo, hi};
}

// Everything measured for one watched layer, accumulated batch by batch.
class LayerAccumulator {
 public:
  LayerAccumulator(std::size_t index, const nn::Layer& layer, const ActivationSpec& spec, int bins)
      : index_(index),
        layer_(layer.describe()),
        spec_(spec),
        saturation_(saturation_rule(spec)),
        histogram_(bins) {}

  void add_batch(const Tensor& y) {
    if (y.rank() < 2 || y.dim(0) == 0) {
      throw std::invalid_argument(
          fmt::format("probe_activations: layer {} ({}) returned {}, need [N, units, ...], N >= 1",
                      index_, layer_, to_string(y.shape())));
    }
    const std::int64_t n = y.dim(0);
    const std::int64_t units = y.dim(1);
    const auto inner = static_cast<std::int64_t>(y.size()) / std::max<std::int64_t>(n * units, 1);
    if (examples_ == 0) allocate(units);
    if (units != static_cast<std::int64_t>(active_.size())) {
      throw std::invalid_argument(
          fmt::format("probe_activations: layer {} ({}) returned {} units after {}", index_, layer_,
                      units, active_.size()));
    }
    if (const auto range = finite_range(y)) {
      if (!histogram_.started()) shift_ = 0.5 * (double{range->first} + double{range->second});
      histogram_.cover(range->first, range->second);
    }
    const Tensor slope =
        saturation_ == Saturation::kFromOutput ? derivative_from_output(y) : Tensor();
    accumulate(y, slope, n, units, inner);
    examples_ += n;
    outputs_ += static_cast<std::int64_t>(y.size());
  }

  LayerActivationStats finish(double near_dead_threshold) const {
    LayerActivationStats s;
    s.layer_index = index_;
    s.layer = layer_;
    s.activation = describe(spec_);
    s.units = static_cast<std::int64_t>(active_.size());
    s.examples = examples_;
    const double units = static_cast<double>(std::max<std::int64_t>(s.units, 1));
    const double near = near_dead_threshold * static_cast<double>(examples_);
    std::int64_t dead = 0, near_dead = 0;
    for (const std::int64_t a : active_) {
      dead += a == 0;
      near_dead += a > 0 && static_cast<double>(a) < near;
    }
    s.dead_fraction = static_cast<double>(dead) / units;
    s.near_dead_fraction = static_cast<double>(near_dead) / units;
    // Totals add the units in order: the same bits for any thread count.
    const double outputs = static_cast<double>(std::max<std::int64_t>(outputs_, 1));
    s.zero_fraction = static_cast<double>(total(zeros_)) / outputs;
    // Sums of d = y - shift with shift near the middle of the data, so that the variance
    // E[d^2] - E[d]^2 does not cancel catastrophically.
    const double mean_d = total(sum_) / outputs;
    s.mean = shift_ + mean_d;
    s.stddev = std::sqrt(std::max(total(sum_squares_) / outputs - mean_d * mean_d, 0.0));
    s.saturated_fraction = saturation_ == Saturation::kNone
                               ? std::numeric_limits<double>::quiet_NaN()
                               : static_cast<double>(total(saturated_)) / outputs;
    s.histogram_lo = histogram_.lo();
    s.histogram_hi = histogram_.hi();
    s.histogram = histogram_.counts();
    return s;
  }

 private:
  void allocate(std::int64_t units) {
    const auto u = static_cast<std::size_t>(units);
    active_.assign(u, 0);
    zeros_.assign(u, 0);
    saturated_.assign(u, 0);
    sum_.assign(u, 0.0);
    sum_squares_.assign(u, 0.0);
  }

  // f'(x) at every output, from y and dy = 1.
  Tensor derivative_from_output(const Tensor& y) const {
    const Tensor slope = Tensor::filled(y.shape(), 1.0f);
    activation_backward_from_output(spec_, y.span(), slope.span(), slope.span());
    return slope;
  }

  bool saturated(float y, const float* slope, std::int64_t i) const {
    if (saturation_ == Saturation::kFromOutput) return std::abs(slope[i]) < kSaturatedDerivative;
    return !(y > 0.0f && y < 1.0f);  // hardsigmoid: f' = 0 outside the linear part
  }

  // Each thread owns a contiguous range of units and walks the examples in order, so every
  // unit's sums have one fixed order; histogram counts are integers, merged in any order.
  void accumulate(const Tensor& y, const Tensor& slope, std::int64_t n, std::int64_t units,
                  std::int64_t inner) {
    const int threads = y.size() >= kParallelThreshold ? thread_count() : 1;
    const auto bins = static_cast<std::size_t>(histogram_.bins());
    std::vector<std::int64_t> counts(static_cast<std::size_t>(threads) * bins, 0);
    const float* slopes = slope.empty() ? nullptr : slope.data();
#pragma omp parallel num_threads(threads)
    {
      const std::int64_t t = omp_get_thread_num();
      const std::int64_t count = omp_get_num_threads();
      const std::int64_t u0 = units * t / count, u1 = units * (t + 1) / count;
      std::int64_t* hist = counts.data() + static_cast<std::size_t>(t) * bins;
      for (std::int64_t e = 0; e < n; ++e) {
        const std::int64_t first = (e * units + u0) * inner, last = (e * units + u1) * inner;
        if (inner == 1) {
          add_row(y.data() + e * units, u0, u1);
        } else {
          for (std::int64_t u = u0; u < u1; ++u)
            add_block(y.data() + (e * units + u) * inner, inner, u);
        }
        for (std::int64_t i = first; i < last; ++i) {
          const int b = histogram_.bin(y[static_cast<std::size_t>(i)]);
          if (b >= 0) ++hist[b];
        }
        if (saturation_ == Saturation::kNone) continue;
        for (std::int64_t i = first; i < last; ++i) {
          saturated_[static_cast<std::size_t>(i / inner % units)] +=
              saturated(y[static_cast<std::size_t>(i)], slopes, i);
        }
      }
    }
    for (std::int64_t t = 1; t < threads; ++t) {
      for (std::size_t b = 0; b < bins; ++b) {
        counts[b] += counts[static_cast<std::size_t>(t) * bins + b];
      }
    }
    histogram_.add(std::span(counts).first(bins));
  }

  // Units [u0, u1) of one example of an [N, F] output, one value each: a loop over contiguous
  // per-unit arrays that the compiler vectorises.
  void add_row(const float* row, std::int64_t u0, std::int64_t u1) {
    std::int64_t* __restrict active = active_.data();
    std::int64_t* __restrict zeros = zeros_.data();
    double* __restrict sum = sum_.data();
    double* __restrict sum_squares = sum_squares_.data();
    const double shift = shift_;
    for (std::int64_t u = u0; u < u1; ++u) {
      const float v = row[u];
      const double d = static_cast<double>(v) - shift;
      active[u] += v != 0.0f;
      zeros[u] += v == 0.0f;
      sum[u] += d;
      sum_squares[u] += d * d;
    }
  }

  // One unit of one example with `inner` values (a channel's plane). Four partial sums in a fixed
  // order break the add latency chain and keep the result independent of threads.
  void add_block(const float* y, std::int64_t inner, std::int64_t unit) {
    double sum[4] = {}, sum_squares[4] = {};
    std::int64_t zeros = 0;
    for (std::int64_t i = 0; i < inner; ++i) {
      const float v = y[i];
      const double d = static_cast<double>(v) - shift_;
      zeros += v == 0.0f;
      sum[i % 4] += d;
      sum_squares[i % 4] += d * d;
    }
    const auto k = static_cast<std::size_t>(unit);
    active_[k] += zeros < inner;
    zeros_[k] += zeros;
    sum_[k] += (sum[0] + sum[1]) + (sum[2] + sum[3]);
    sum_squares_[k] += (sum_squares[0] + sum_squares[1]) + (sum_squares[2] + sum_squares[3]);
  }

  std::size_t index_;
  std::string layer_;
  ActivationSpec spec_;
  Saturation saturation_;
  std::int64_t examples_ = 0;
  std::int64_t outputs_ = 0;
  double shift_ = 0;
  // Per unit.
  std::vector<std::int64_t> active_;  // examples on which the unit had a non-zero output
  std::vector<std::int64_t> zeros_, saturated_;
  std::vector<double> sum_, sum_squares_;
  GrowingHistogram histogram_;
};

class ProbeObserver final : public nn::SequentialObserver {
 public:
  ProbeObserver(const nn::Sequential& net, const ProbeOptions& options) : slot_(net.size(), -1) {
    for (std::size_t i = 0; i < net.size(); ++i) {
      if (const auto spec = output_activation(net.layer(i))) {
        slot_[i] = static_cast<int>(layers_.size());
        layers_.emplace_back(i, net.layer(i), *spec, options.histogram_bins);
      }
    }
  }

  void after_forward(std::size_t index, const nn::Layer&, const Tensor& y) override {
    if (index < slot_.size() && slot_[index] >= 0) {
      layers_[static_cast<std::size_t>(slot_[index])].add_batch(y);
    }
  }

  std::vector<LayerActivationStats> finish(double near_dead_threshold) const {
    std::vector<LayerActivationStats> stats;
    for (const LayerAccumulator& l : layers_) stats.push_back(l.finish(near_dead_threshold));
    return stats;
  }

 private:
  std::vector<int> slot_;  // per layer: its accumulator, or -1 when not watched
  std::vector<LayerAccumulator> layers_;
};

}  // namespace

Status validate(const ProbeOptions& o) {
  if (o.batch < 1)
    return Status::invalid_argument(fmt::format("probe: batch must be >= 1, got {}", o.batch));
  if (!(o.near_dead_threshold >= 0 && o.near_dead_threshold <= 1)) {
    return Status::invalid_argument(
        fmt::format("probe: near_dead_threshold must be in [0, 1], got {}", o.near_dead_threshold));
  }
  if (o.histogram_bins < 1) {
    return Status::invalid_argument(
        fmt::format("probe: histogram_bins must be >= 1, got {}", o.histogram_bins));
  }
  return Status::ok();
}

std::vector<std::int64_t> probe_indices(std::int64_t rows, std::int64_t count, std::uint64_t seed) {
  if (count < 1)
    throw std::invalid_argument(fmt::format("probe set: count must be >= 1, got {}", count));
  if (rows < 1)
    throw std::invalid_argument(fmt::format("probe set: no rows to draw from ({})", rows));
  std::vector<std::int64_t> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  if (count >= rows) return order;
  // The first `count` steps of a Fisher-Yates shuffle pick a uniform sample without replacement.
  Rng rng(seed);
  for (std::int64_t i = 0; i < count; ++i) {
    const auto j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(rows - i)));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  order.resize(static_cast<std::size_t>(count));
  std::sort(order.begin(), order.end());
  return order;
}

Tensor probe_set(const Tensor& features, std::int64_t count, std::uint64_t seed) {
  const std::int64_t rows = features.rank() < 1 ? 0 : features.dim(0);
  const std::vector<std::int64_t> order = probe_indices(rows, count, seed);
  if (count >= rows) return features;
  Shape shape = features.shape();
  shape[0] = count;
  Tensor sample = Tensor::uninitialized(shape);
  const std::size_t row = features.size() / static_cast<std::size_t>(rows);
  for (std::size_t i = 0; i < order.size(); ++i) {
    std::copy_n(features.data() + static_cast<std::size_t>(order[i]) * row, row,
                sample.data() + i * row);
  }
  return sample;
}

std::vector<LayerActivationStats> probe_activations(nn::Model& model, const Tensor& examples,
                                                    const ProbeOptions& options) {
  if (const Status s = validate(options); !s.is_ok()) throw std::invalid_argument(s.message());
  if (examples.rank() < 1 || examples.dim(0) < 1) {
    throw std::invalid_argument("probe_activations: the probe set " + to_string(examples.shape()) +
                                " has no examples");
  }
  ProbeObserver observer(model.net, options);
  {
    const ObserverScope scope(model.net, &observer);
    const std::int64_t n = examples.dim(0);
    for (std::int64_t begin = 0; begin < n; begin += options.batch) {
      (void)model.net.forward(examples.rows(begin, std::min(options.batch, n - begin)), nn::Pass{});
    }
  }
  return observer.finish(options.near_dead_threshold);
}

}  // namespace relulab::diag
