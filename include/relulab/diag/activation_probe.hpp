// Activation diagnostics: dead and near-dead units, sparsity, mean, spread, saturation and a
// histogram of every activation's output, measured on a fixed probe set in evaluation mode.
//
// Which layers: every layer of the model's Sequential whose output is an activation's output —
// Linear and Conv2d built with an activation, ActivationLayer, and ResidualBlock (it ends in its
// activation). A unit is a feature of an [N, F] output or a channel of an [N, C, H, W] one (in
// general: dimension 1). A unit is active on an example when any of its outputs for that example
// is non-zero (-0 counts as zero).
//
//   dead_fraction       units active on none of the probe examples
//   near_dead_fraction  units active on at least one but fewer than near_dead_threshold * N of
//                       them (disjoint from dead: dead + near-dead = active on < 1% by default)
//   zero_fraction       outputs exactly 0, over all N * units * (H * W) outputs (sparsity)
//   mean, stddev        over the same outputs (population standard deviation), in double
//   saturated_fraction  outputs where |f'(x)| < 0.01, for the saturating S-shaped functions
//                       (sigmoid, tanh, hardsigmoid), computed from the output y: sigmoid
//                       y (1 - y), tanh 1 - y^2 (activation_backward_from_output with dy = 1),
//                       hardsigmoid 0 where y is 0 or 1 and 1/6 between; NaN for the others
//   histogram           histogram_bins equal bins over [histogram_lo, histogram_hi); see below
//
// Why dead_fraction is reported for every activation, even those that are never exactly zero
// (leaky ReLU, ELU, GELU, tanh): the same measurement applied to every function is what makes the
// comparison a measurement. A ReLU unit whose pre-activation is negative on every example outputs
// exactly 0 and gets no gradient, so it cannot recover; an ELU or leaky-ReLU unit pushed equally
// far still outputs non-zero values and still passes a gradient. Their 0% is the measured result,
// not an assumption (GELU or SiLU units can even read as dead when f underflows to 0 on every
// example, which is then as dead as a ReLU unit).
//
// The histogram is built in one pass: its range starts at the first batch's [min, max] and, when a
// later value falls outside, the bin width doubles (neighbouring bins merge) until every finite
// value fits, so the counts are exact for the final bins (histogram.hpp). NaN is not counted;
// +-inf go to the end bins.
//
// Determinism: each unit's sums run over the examples in order on one thread, and the layer's
// totals add the units in order, so the results do not depend on the thread count.
//
// Error behaviour: probe_activations throws std::invalid_argument when validate() rejects the
// options, the probe set is empty, or a watched layer's output has rank < 2; the model's layers
// throw their own std::invalid_argument when the examples do not fit the model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "relulab/nn/model.hpp"
#include "relulab/status.hpp"
#include "relulab/tensor.hpp"

namespace relulab::diag {

struct ProbeOptions {
  // Size of the probe set that probe_set() draws from the training set.
  std::int64_t examples = 10000;
  // Examples per forward pass.
  std::int64_t batch = 1000;
  double near_dead_threshold = 0.01;
  int histogram_bins = 50;
};

struct LayerActivationStats {
  std::size_t layer_index = 0;  // index in the model's Sequential
  std::string layer;            // the layer's describe()
  std::string activation;       // describe(spec): "relu", "leaky_relu(negative_slope=0.2)"
  std::int64_t units = 0;
  std::int64_t examples = 0;  // probe examples seen
  double dead_fraction = 0;
  double near_dead_fraction = 0;
  double zero_fraction = 0;
  double mean = 0;
  double stddev = 0;
  double saturated_fraction = 0;  // NaN when the activation does not saturate
  double histogram_lo = 0;
  double histogram_hi = 0;
  std::vector<std::int64_t> histogram;  // histogram_bins counts
};

// invalid_argument naming the field when batch < 1, near_dead_threshold is outside [0, 1] or
// histogram_bins < 1 (examples is checked by probe_set).
Status validate(const ProbeOptions& options);

// The probe set's rows: `count` of [0, rows) drawn without replacement by Rng(seed) (the first
// steps of a Fisher-Yates shuffle), in increasing order; all of them when count >= rows. Throws
// std::invalid_argument when count < 1 or rows < 1.
std::vector<std::int64_t> probe_indices(std::int64_t rows, std::int64_t count,
                                        std::uint64_t seed = 0);
// Those rows of `features` (a copy); all of `features` (a handle, no copy) when count >= its row
// count. Throws as probe_indices.
Tensor probe_set(const Tensor& features, std::int64_t count, std::uint64_t seed = 0);

// Runs `examples` (already normalised as in training) through the model in evaluation mode, in
// batches of options.batch, and measures every activation output. The model's Sequential
// observer is borrowed for the duration and restored afterwards; nothing else in the model
// changes. Layers in model order.
std::vector<LayerActivationStats> probe_activations(nn::Model& model, const Tensor& examples,
                                                    const ProbeOptions& options);

}  // namespace relulab::diag
