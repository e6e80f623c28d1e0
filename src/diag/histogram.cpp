// GrowingHistogram: equal bins whose width doubles when the data outgrows them.
#include "relulab/diag/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace relulab::diag {
namespace {

// The first range is [min, max] widened by this relative slack so that max falls inside the last
// bin; a single value gets a width of this much of its magnitude (or of 1 for zero).
constexpr double kSlack = 0x1p-20;

}  // namespace

GrowingHistogram::GrowingHistogram(int bins) {
  if (bins < 1) {
    throw std::invalid_argument("histogram: bins must be >= 1, got " + std::to_string(bins));
  }
  counts_.assign(static_cast<std::size_t>(bins), 0);
}

void GrowingHistogram::cover(double min, double max) {
  if (!std::isfinite(min) || !std::isfinite(max) || min > max) return;
  const auto n = static_cast<double>(counts_.size());
  if (!started_) {
    started_ = true;
    lo_ = min;
    width_ = max > min ? (max - min) / n * (1 + kSlack) : std::max(std::abs(min), 1.0) * kSlack;
  }
  while (min < lo_ || max >= lo_ + n * width_) {
    std::vector<std::int64_t> merged(counts_.size(), 0);
    const bool left = min < lo_;
    for (std::size_t k = 0; k < counts_.size(); ++k) {
      merged[left ? (counts_.size() + k) / 2 : k / 2] += counts_[k];
    }
    if (left) lo_ -= n * width_;
    width_ *= 2;
    counts_ = std::move(merged);
  }
  inverse_width_ = 1 / width_;
}

void GrowingHistogram::add(std::span<const std::int64_t> counts) {
  if (counts.size() != counts_.size()) {
    throw std::invalid_argument("histogram: add() got " + std::to_string(counts.size()) +
                                " counts for " + std::to_string(counts_.size()) + " bins");
  }
  for (std::size_t k = 0; k < counts_.size(); ++k) counts_[k] += counts[k];
}

}  // namespace relulab::diag
