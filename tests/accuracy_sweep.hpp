// The accuracy sweep shared by the CPU kernel test (every SIMD target, and the CUDA kernels' math
// evaluated on the host) and the CUDA kernel test: the points, the stated ULP bounds, and the
// comparison of an implementation's results with the long-double reference.
//
// Points (sweep_points, ~1.05e7): a uniform grid and uniform random points on [-100, 100], every
// 1024th float of [-128, 128] (all binades down to the denormals), the 2^17 floats on each side of
// the kinks and thresholds -3, -1.5, 0, 3, 5, 6 and 20, every 4096th float beyond +-128 up to
// +-FLT_MAX, and the specials +-0, denormals, +-FLT_MIN, +-FLT_MAX, +-inf and NaNs.
//
// Metric, per point, with ref the long-double reference value:
//   NaN ref: the kernel must return NaN; ref beyond the float range: the kernel must return the
//   infinity it rounds to; otherwise err = |fast - ref| / max(ulp(ref), 2^-24 * scale) must be
//   within the stated bound B, except that where |ref| < 1e-30 an absolute error <= 1e-37 is also
//   accepted (the printed max ULP covers |ref| >= 1e-30 only). scale = 0 (plain ULPs) except
//   where the result crosses zero inside a sum of terms of size ~scale, so that the float result
//   near the zero can be no better than the rounding of those terms: the derivatives of gelu,
//   gelu_tanh, silu and mish (f' = g(x) + x g'(x), |f'| <= ~1.2: scale 1), and selu's
//   backward_from_output (y + scale * alpha with the float constant 1.7581: scale 2).
// Derivatives are measured with dy = 1 (dy scales dx exactly up to one rounding; the gradient
// test covers general dy). backward_from_output is measured at y = the reference output rounded
// to float, against reference_derivative_from_output(y).
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "relulab/activation.hpp"

namespace relulab::test {

// The stated bounds, in the metric above; from_output is -1 where the table has no
// backward_from_output.
struct Bounds {
  ActivationSpec spec;
  double forward;
  double backward;
  double from_output;
  double backward_scale;     // 0, or the magnitude of the terms of f' (see the metric)
  double from_output_scale;  // the same for backward_from_output
};
const std::vector<Bounds>& bounds_table();
const Bounds* find_bounds(const ActivationSpec& spec);

// The points above; reduce > 1 keeps 1/reduce of each region (for the sanitizer build).
std::vector<float> sweep_points(std::size_t reduce);

enum class Kernel { kForward, kBackward, kFromOutput };
inline constexpr const char* kKernelNames[] = {"forward", "backward", "backward_from_output"};

// One implementation under test: run(kernel, spec, in, dy, out) computes `out` from `in` (x, or y
// for kFromOutput) and dy = 1.
struct Implementation {
  std::string name;
  std::function<void(Kernel, const ActivationSpec&, std::span<const float>, std::span<const float>,
                     std::span<float>)>
      run;
};

// relulab's CPU kernels (the dispatched SIMD target) in the signature of Implementation::run.
void run_cpu_kernel(Kernel k, const ActivationSpec& spec, std::span<const float> in,
                    std::span<const float> dy, std::span<float> out);

struct Worst {
  double error = 0;
  float x = 0;
  float fast = 0;
  double ref = 0;
  void update(double e, float at, float got, double want);
};
struct Stats {
  Worst ulp;      // points with |ref| >= 1e-30
  Worst tiny;     // absolute error where |ref| < 1e-30 and the ULP error is above the bound
  Worst special;  // error = 1 where a NaN or infinity was not matched
  void merge(const Stats& o);
};
inline constexpr double kTinyAbsoluteError = 1e-37;

// stats[implementation][kernel] of one spec over all points.
using SpecStats = std::vector<std::array<Stats, 3>>;
SpecStats sweep(const ActivationSpec& spec, const Bounds& bounds, std::span<const float> points,
                std::span<const Implementation> implementations);

// Prints one line per kernel of `spec` with each implementation's worst error, and records a
// gtest failure for every bound exceeded, naming the implementation and the worst input.
void expect_within_bounds(const ActivationSpec& spec, const Bounds& bounds,
                          std::span<const Implementation> implementations, const SpecStats& stats);

}  // namespace relulab::test
