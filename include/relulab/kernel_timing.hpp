// Timing of the activation kernels against a plain copy of the same bytes, for `relulab bench`
// and the cost section of `relulab study` (the Google Benchmark suite in bench/ is the full
// version, with the peers).
//
// A timing is the median over repetitions of a repetition's mean seconds per call; a repetition
// calls the kernel until it has covered `elements_per_rep` elements. Buffers are 64-byte aligned
// tensors, inputs uniform in [-8, 8] (both sides of every kink and saturation region).
#pragma once

#include <cstddef>

#include "relulab/activation.hpp"

namespace relulab {

struct TimingPlan {
  std::size_t elements_per_rep = std::size_t{1} << 23;
  int reps = 7;
};

struct KernelTiming {
  std::size_t n = 0;
  double copy_seconds = 0;      // memcpy of n floats, split over threads like the kernels
  double forward_seconds = 0;   // activation_forward
  double backward_seconds = 0;  // activation_backward (from x and dy)
};

// Bytes moved per element: forward reads x and writes y, backward reads x and dy, writes dx.
inline constexpr double kForwardBytes = 8.0;
inline constexpr double kBackwardBytes = 12.0;
inline constexpr double kCopyBytes = 8.0;

// Median seconds of a copy of n floats.
double time_copy(std::size_t n, const TimingPlan& plan);
// Forward and backward of `spec` on n floats, with copy_seconds from time_copy(n).
KernelTiming time_activation(const ActivationSpec& spec, std::size_t n, const TimingPlan& plan,
                             double copy_seconds);

}  // namespace relulab
