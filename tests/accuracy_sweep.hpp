// The accuracy sweep shared by the CPU kernel test (every SIMD target, and the CUDA kernels' math
// evaluated on the host) and the CUDA kernel test: the points, the stated ULP bounds, and the
// comparison of an implementation's results with the long-double reference.
//
// Points (sweep_points, ~1.05e7): a uniform grid and uniform random points on [-100, 100], every
// 1024th float of [-128, 128] (all binades down to the denormals), the 2^17 floats on each side of
// the kinks and thresholds -3, -1.5, 0, 3, 5, 6 and 20, every 4096th float beyond +-128 up to
// +-FLT_MAX, and the specials +-0, denormals, +-FLT_MIN, +-FLT_MAX, +-inf and NaNs; then, per
// activation, every float of the lower tail where its results underflow (underflow_points).
//
// Metric, per point, with ref the reference value (long double here; the exhaustive run of
// bench/accuracy_exhaustive uses the same formulas in double, checked against this one):
//   NaN ref: the kernel must return NaN; ref beyond the float range: the kernel must return the
//   infinity it rounds to; a NaN input (where the select activations' backward gives a number):
//   the kernel must return exactly the reference's value; otherwise err = |fast - ref| / unit, unit
//   = max(ulp(ref), 2^-24 m), must be within the stated bound B. ulp() counts float steps down to
//   the subnormal step 2^-149, with no absolute floor: an exact output below FLT_MIN is measured in
//   subnormal steps (reported apart from the normal outputs). m = 0 (plain ULPs) except where f' is
//   a sum of terms that cancel near its root: there m is the sum of the terms' absolute values
//   (reference_derivative_magnitude: gelu, gelu_tanh, silu and mish backward, selu's
//   backward_from_output), because a float result can be no better than the rounding of those
//   terms; where the terms do not cancel, 2^-24 m <= ulp(ref) and the unit is the plain ULP.
//   Zeros: a result of +-0 must carry the sign of ref (of the exact value where it is a nonzero
//   number that underflows, and the formula's signed zero where it is exactly 0).
// Derivatives are measured with dy = 1 (dy scales dx exactly up to one rounding; the gradient
// test covers general dy). backward_from_output is measured at y = the reference output rounded
// to float, against reference_derivative_from_output(y).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
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
};
const std::vector<Bounds>& bounds_table();
const Bounds* find_bounds(const ActivationSpec& spec);

// The points above; reduce > 1 keeps 1/reduce of each region (for the sanitizer build).
std::vector<float> sweep_points(std::size_t reduce);
// Every float (every reduce-th) of the lower tail where spec's outputs or derivatives are
// subnormal or near FLT_MIN, and so where an exp or a scale factor underflows first: gelu
// [-14.8, -12.9], gelu_tanh [-11, -10], silu and mish [-110, -87]; empty for the others.
std::vector<float> underflow_points(const ActivationSpec& spec, std::size_t reduce);

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
  Worst ulp;        // exact output a normal float (|ref| >= FLT_MIN): error in the metric's units
  Worst subnormal;  // exact output below FLT_MIN: error in subnormal steps (2^-149)
  Worst sign;       // error = 1 where a zero result has the wrong sign
  Worst special;    // error = 1 where a NaN or infinity was not matched
  std::uint64_t above_bound = 0;  // points (normal or subnormal) whose error exceeds the bound
  std::uint64_t above_four = 0;   // ... exceeds 4 (ULPs or subnormal steps)
  std::uint64_t sign_count = 0;
  std::uint64_t special_count = 0;
  void merge(const Stats& o);
};

// One reference value, prepared so that comparing a kernel result costs a few flops (double
// keeps 29 bits more than float: far below the ULPs measured). unit > 0: the error is
// |fast - value| / unit; unit == 0: value is NaN or +-inf and the kernel must return exactly that.
// 16 bytes, so that a chunk of them stays in cache across the implementations.
struct Expected {
  double value;
  float unit;
};
// ref with its f' magnitude (0: plain ULPs), as in the metric above.
Expected expect(double ref, double magnitude);
// Adds one kernel result to stats.
void classify(float x, float fast, const Expected& want, double bound, Stats& stats);

// stats[implementation][kernel] of one spec over all points.
using SpecStats = std::vector<std::array<Stats, 3>>;
// The points are `points` followed by underflow_points(spec, underflow_reduce).
SpecStats sweep(const ActivationSpec& spec, const Bounds& bounds, std::span<const float> points,
                std::span<const Implementation> implementations, std::size_t underflow_reduce = 1);

// Prints one line per kernel of `spec` with each implementation's worst error, and records a
// gtest failure for every bound exceeded, naming the implementation and the worst input.
void expect_within_bounds(const ActivationSpec& spec, const Bounds& bounds,
                          std::span<const Implementation> implementations, const SpecStats& stats);

}  // namespace relulab::test
