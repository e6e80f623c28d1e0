// The shared accuracy sweep; see accuracy_sweep.hpp for the points and the metric.
#include "accuracy_sweep.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "relulab/activation_reference.hpp"
#include "ulp.hpp"

namespace relulab::test {
namespace {

using A = Activation;

// Appends the floats with bit patterns first, first + stride, ... (count of them), and their
// negatives.
void add_bit_patterns(std::vector<float>& out, std::uint32_t first, std::uint32_t stride,
                      std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t bits = first + static_cast<std::uint32_t>(i) * stride;
    float v;
    std::memcpy(&v, &bits, sizeof v);
    out.push_back(v);
    out.push_back(-v);
  }
}

std::uint32_t bits_of(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// The reference at one point, prepared so that comparing a kernel result costs a few flops
// (double keeps 29 bits more than float: far below the ULPs measured). unit > 0: the error is
// |fast - value| / unit; unit < 0: |ref| < 1e-30, the same with -unit, and an absolute error
// <= 1e-37 also passes; unit == 0: value is NaN or +-inf and the kernel must return exactly that.
// 16 bytes, so that a chunk of them stays in cache across the implementations.
struct Expected {
  double value;
  float unit;
};

constexpr double kTinyValue = 1e-30;

Expected expect(long double ref, double floor) {
  if (std::isnan(ref) || std::isinf(static_cast<float>(ref))) {
    return {static_cast<double>(static_cast<float>(ref)), 0.0f};
  }
  const double value = static_cast<double>(ref);
  const auto unit = static_cast<float>(std::fmax(float_ulp(value), floor));  // a power of 2
  return {value, std::fabs(value) < kTinyValue ? -unit : unit};
}

void compare(std::span<const float> x, std::span<const float> fast, std::span<const Expected> want,
             double bound, Stats& stats) {
#pragma omp parallel
  {
    Stats local;
#pragma omp for schedule(static) nowait
    for (std::size_t i = 0; i < x.size(); ++i) {
      const Expected& w = want[i];
      const float f = fast[i];
      const double abs_error = std::fabs(static_cast<double>(f) - w.value);
      if (w.unit > 0) {
        local.ulp.update(abs_error / w.unit, x[i], f, w.value);
      } else if (w.unit < 0) {
        if (!(abs_error <= -bound * w.unit)) local.tiny.update(abs_error, x[i], f, w.value);
      } else {
        const bool ok = std::isnan(w.value) ? std::isnan(f) : f == w.value;
        if (!ok) local.special.update(1.0, x[i], f, w.value);
      }
    }
#pragma omp critical
    stats.merge(local);
  }
}

std::string describe_worst(const Worst& w) {
  std::ostringstream s;
  s << std::setprecision(9) << "input " << w.x << " (" << std::hexfloat << w.x << std::defaultfloat
    << "), fast = " << w.fast << ", reference = " << std::setprecision(17) << w.ref;
  return s.str();
}

}  // namespace

// The transcendental ones are the 4 ULP. The piecewise-linear ones follow from their float
// operations: each inexact operand (a rounded sum, the constant (1/6)f whose relative error is
// 2^-25) adds its relative error, and a relative 2^-24 is < 1 ULP; the final rounding adds 0.5.
// So: slope * x 0.5; (x + 3) (1/6)f 2; x ((x + 3) (1/6)f) 3; (2x + 3) (1/6)f 2; y (1 - y) 1.5
// (1 - y is exact for y >= 1/2); (1 - y)(1 + y) 2.5.
const std::vector<Bounds>& bounds_table() {
  static const std::vector<Bounds> table = {
      // spec                          forward backward from_output scales
      {{A::kReLU, {}}, 0, 0, 0, 0, 0},
      {{A::kLeakyReLU, {0.01f, 0}}, 0.5, 0, 0, 0, 0},
      {{A::kLeakyReLU, {0.2f, 0}}, 0.5, 0, 0, 0, 0},
      {{A::kPReLU, {0.25f, 0}}, 0, 0, -1, 0, 0},
      {{A::kPReLU, {0.1f, 0}}, 0.5, 0, -1, 0, 0},
      {{A::kReLU6, {}}, 0, 0, 0, 0, 0},
      {{A::kELU, {1.0f, 0}}, 4, 4, 4, 0, 0},
      {{A::kELU, {0.5f, 0}}, 4, 4, 4, 0, 0},
      {{A::kSELU, {}}, 4, 4, 4, 0, 2},
      {{A::kCELU, {1.0f, 0}}, 4, 4, 4, 0, 0},
      {{A::kCELU, {2.0f, 0}}, 4, 4, 4, 0, 0},
      {{A::kGELU, {}}, 4, 4, -1, 1, 0},
      {{A::kGELUTanh, {}}, 4, 4, -1, 1, 0},
      {{A::kSiLU, {}}, 4, 4, -1, 1, 0},
      {{A::kMish, {}}, 4, 4, -1, 1, 0},
      {{A::kSoftplus, {1.0f, 20.0f}}, 4, 4, -1, 0, 0},
      {{A::kSoftplus, {2.0f, 10.0f}}, 4, 4, -1, 0, 0},
      {{A::kHardSigmoid, {}}, 2, 0.5, -1, 0, 0},
      {{A::kHardSwish, {}}, 3, 2, -1, 0, 0},
      {{A::kSigmoid, {}}, 4, 4, 1.5, 0, 0},
      {{A::kTanh, {}}, 4, 4, 2.5, 0, 0},
  };
  return table;
}

const Bounds* find_bounds(const ActivationSpec& spec) {
  for (const Bounds& b : bounds_table()) {
    if (b.spec.kind == spec.kind && b.spec.params == spec.params) return &b;
  }
  return nullptr;
}

std::vector<float> sweep_points(std::size_t reduce) {
  std::vector<float> x;
  const std::size_t grid = 4'000'000 / reduce;
  for (std::size_t i = 0; i < grid; ++i) {
    x.push_back(static_cast<float>(-100.0 + 200.0 * static_cast<double>(i) / (grid - 1)));
  }
  std::mt19937_64 rng(20240611);
  std::uniform_real_distribution<double> uniform(-100.0, 100.0);
  for (std::size_t i = 0; i < 2'000'000 / reduce; ++i) {
    x.push_back(static_cast<float>(uniform(rng)));
  }
  // Every (1024 * reduce)-th float of [0, 128], both signs: all binades near 0.
  const std::uint32_t stride = 1024 * static_cast<std::uint32_t>(reduce);
  add_bit_patterns(x, 0, stride, bits_of(128.0f) / stride);
  // Beyond 128 up to FLT_MAX.
  const std::uint32_t wide = 4 * stride;
  add_bit_patterns(x, bits_of(128.0f), wide, (bits_of(FLT_MAX) - bits_of(128.0f)) / wide + 1);
  // Consecutive floats around each kink or threshold (softplus: beta x = threshold at 20 and 5).
  const std::size_t side = (std::size_t{1} << 17) / reduce;
  for (const float kink : {-3.0f, -1.5f, 0.0f, 3.0f, 5.0f, 6.0f, 20.0f}) {
    float up = kink, down = kink;
    for (std::size_t i = 0; i < side; ++i) {
      x.push_back(up = std::nextafter(up, INFINITY));
      x.push_back(down = std::nextafter(down, -INFINITY));
    }
    x.push_back(kink);
  }
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float nan_payload;
  const std::uint32_t payload_bits = 0xffc01234u;  // negative quiet NaN with a payload
  std::memcpy(&nan_payload, &payload_bits, sizeof nan_payload);
  for (const float v :
       {0.0f, -0.0f, FLT_TRUE_MIN, -FLT_TRUE_MIN, FLT_MIN, -FLT_MIN, FLT_MIN - FLT_TRUE_MIN,
        FLT_MAX, -FLT_MAX, inf, -inf, nan, nan_payload, 1e4f, -1e4f, 1e30f, -1e30f}) {
    x.push_back(v);
  }
  return x;
}

void Worst::update(double e, float at, float got, double want) {
  if (e > error || std::isnan(e)) *this = {std::isnan(e) ? INFINITY : e, at, got, want};
}

void Stats::merge(const Stats& o) {
  ulp.update(o.ulp.error, o.ulp.x, o.ulp.fast, o.ulp.ref);
  tiny.update(o.tiny.error, o.tiny.x, o.tiny.fast, o.tiny.ref);
  special.update(o.special.error, o.special.x, o.special.fast, o.special.ref);
}

void run_cpu_kernel(Kernel k, const ActivationSpec& spec, std::span<const float> in,
                    std::span<const float> dy, std::span<float> out) {
  if (k == Kernel::kForward) activation_forward(spec, in, out);
  if (k == Kernel::kBackward) activation_backward(spec, in, dy, out);
  if (k == Kernel::kFromOutput) activation_backward_from_output(spec, in, dy, out);
}

SpecStats sweep(const ActivationSpec& spec, const Bounds& bounds, std::span<const float> points,
                std::span<const Implementation> implementations) {
  SpecStats stats(implementations.size());
  const bool from_output = activation_info(spec.kind).backward_from_output;
  const double backward_floor = std::ldexp(bounds.backward_scale, -24);
  const double from_output_floor = std::ldexp(bounds.from_output_scale, -24);
  // Chunks small enough that the expected values stay in cache while every implementation is
  // compared.
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  std::vector<Expected> want_f(kChunk), want_d(kChunk), want_o(kChunk);
  std::vector<float> y_ref(kChunk), ones(kChunk, 1.0f), fast(kChunk);
  for (std::size_t begin = 0; begin < points.size(); begin += kChunk) {
    const std::size_t n = std::min(kChunk, points.size() - begin);
    const std::span<const float> x = points.subspan(begin, n);
    const std::span<float> y(y_ref.data(), n), out(fast.data(), n);
    const std::span<const float> dy(ones.data(), n);
#pragma omp parallel for schedule(dynamic, 4096)
    for (std::size_t i = 0; i < n; ++i) {
      const long double f = reference_forward(spec, x[i]);
      want_f[i] = expect(f, 0.0);
      want_d[i] = expect(reference_derivative(spec, x[i]), backward_floor);
      y[i] = static_cast<float>(f);
      if (from_output) {
        want_o[i] = expect(reference_derivative_from_output(spec, y[i]), from_output_floor);
      }
    }
    for (std::size_t m = 0; m < implementations.size(); ++m) {
      const Implementation& impl = implementations[m];
      impl.run(Kernel::kForward, spec, x, dy, out);
      compare(x, out, std::span(want_f).first(n), bounds.forward, stats[m][0]);
      impl.run(Kernel::kBackward, spec, x, dy, out);
      compare(x, out, std::span(want_d).first(n), bounds.backward, stats[m][1]);
      if (from_output) {
        impl.run(Kernel::kFromOutput, spec, y, dy, out);
        compare(y, out, std::span(want_o).first(n), bounds.from_output, stats[m][2]);
      }
    }
  }
  return stats;
}

void expect_within_bounds(const ActivationSpec& spec, const Bounds& bounds,
                          std::span<const Implementation> implementations, const SpecStats& stats) {
  const double bound[3] = {bounds.forward, bounds.backward, bounds.from_output};
  for (int k = 0; k < 3; ++k) {
    if (k == 2 && !activation_info(spec.kind).backward_from_output) continue;
    std::cout << std::left << std::setw(34) << describe(spec) << std::setw(22) << kKernelNames[k]
              << std::right << " bound " << std::setw(4) << bound[k];
    for (std::size_t m = 0; m < implementations.size(); ++m) {
      const Stats& s = stats[m][k];
      std::cout << "  " << implementations[m].name << ' ' << std::fixed << std::setprecision(3)
                << s.ulp.error << std::defaultfloat;
      const std::string where =
          describe(spec) + ' ' + kKernelNames[k] + " on " + implementations[m].name + ": ";
      EXPECT_LE(s.ulp.error, bound[k]) << where << describe_worst(s.ulp);
      EXPECT_LE(s.tiny.error, kTinyAbsoluteError) << where << describe_worst(s.tiny);
      EXPECT_EQ(s.special.error, 0.0)
          << where << "NaN or infinity not matched at " << describe_worst(s.special);
    }
    std::cout << '\n';
  }
}

}  // namespace relulab::test
