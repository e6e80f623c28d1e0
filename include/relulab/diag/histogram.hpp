// A histogram with a fixed number of equal bins whose range grows to fit the data, built in one
// pass over data that does not fit in memory (a layer's outputs over 10,000 examples).
//
// Bins are [lo + k w, lo + (k + 1) w), k < bins. The first cover() sets lo to the smallest value
// and w so that the largest one falls just inside the last bin. When a later value lies outside,
// the width doubles and neighbouring bins merge (growing to the right: new bin k/2 takes old bin
// k; to the left: lo moves down by bins * w and new bin (bins + k)/2 takes old bin k), until the
// value fits. Old bin edges stay bin edges, so every count stays exact. The price: the final
// range is the first span times a power of two, placed by the order in which the data widened it,
// so it can be a few times wider than the data and have empty bins at either end.
//
// Error behaviour: the constructor throws std::invalid_argument on bins < 1, add() when it gets a
// count per bin of another histogram; cover() ignores a non-finite bound (callers pass the finite
// minimum and maximum).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace relulab::diag {

class GrowingHistogram {
 public:
  explicit GrowingHistogram(int bins);

  // Widens the range until [min, max] lies in it; min <= max.
  void cover(double min, double max);
  // The bin of v in the current range: values below lo go to bin 0, at or above hi to the last
  // bin (only +-inf after a cover() of the finite values); -1 for NaN or before the first cover().
  int bin(float v) const noexcept {
    const double t = (static_cast<double>(v) - lo_) * inverse_width_;
    if (!(t >= 0)) return t < 0 ? 0 : -1;
    return t >= static_cast<double>(counts_.size()) ? static_cast<int>(counts_.size()) - 1
                                                    : static_cast<int>(t);
  }
  // Adds per-bin counts computed with bin() since the last cover().
  void add(std::span<const std::int64_t> counts);

  int bins() const noexcept { return static_cast<int>(counts_.size()); }
  bool started() const noexcept { return started_; }
  // 0 and 0 before the first cover().
  double lo() const noexcept { return lo_; }
  double hi() const noexcept { return lo_ + static_cast<double>(counts_.size()) * width_; }
  const std::vector<std::int64_t>& counts() const noexcept { return counts_; }

 private:
  std::vector<std::int64_t> counts_;
  bool started_ = false;
  double lo_ = 0;
  double width_ = 0;
  double inverse_width_ = std::numeric_limits<double>::quiet_NaN();  // bin() = -1 until started
};

}  // namespace relulab::diag
