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
#include <utility>

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

void compare(std::span<const float> x, std::span<const float> fast, std::span<const Expected> want,
             double bound, Stats& stats) {
#pragma omp parallel
  {
    Stats local;
#pragma omp for schedule(static) nowait
    for (std::size_t i = 0; i < x.size(); ++i) classify(x[i], fast[i], want[i], bound, local);
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

Expected expect(double ref, double magnitude) {
  if (std::isnan(ref) || std::isinf(static_cast<float>(ref))) {
    return {static_cast<double>(static_cast<float>(ref)), 0.0f};
  }
  // A power of two, or 2^-24 m rounded to float (its relative rounding is below 2^-24).
  return {ref, static_cast<float>(std::fmax(float_ulp(ref), std::ldexp(magnitude, -24)))};
}

void classify(float x, float fast, const Expected& want, double bound, Stats& stats) {
  // NaN or infinite reference, or a NaN input (where a select gives an exact value): exact.
  if (want.unit == 0 || std::isnan(x)) {
    const bool ok = std::isnan(want.value) ? std::isnan(fast) : fast == want.value;
    if (!ok) stats.special.update(1.0, x, fast, want.value), ++stats.special_count;
    return;
  }
  const double error = std::fabs(static_cast<double>(fast) - want.value) / want.unit;
  Worst& worst = std::fabs(want.value) >= FLT_MIN ? stats.ulp : stats.subnormal;
  worst.update(error, x, fast, want.value);
  if (!(error <= bound)) ++stats.above_bound;
  if (!(error <= 4)) ++stats.above_four;
  if (fast == 0 && std::signbit(fast) != std::signbit(want.value)) {
    stats.sign.update(1.0, x, fast, want.value);
    ++stats.sign_count;
  }
}

// The transcendental ones are 4 ULP, except three passes of mish and gelu_tanh whose result is a
// product of five or six rounded factors (1 / (1 + e) or 1 / B entering squared in the
// derivatives) where nothing cancels: mish forward 4.6 ULP at x = -6.88, mish backward 5.8 and
// gelu_tanh backward 5.9 (x = -6.89 and -3.37), so bounds 5, 6 and 6. docs/accuracy.md gives the
// worst inputs of the exhaustive run and what removing them would cost. The piecewise-linear ones
// follow from their float operations: each inexact operand (a rounded sum, the constant (1/6)f
// whose relative error is 2^-25) adds its relative error, and a relative 2^-24 is < 1 ULP; the
// final rounding adds 0.5. So: slope * x 0.5 (also for slope 0.25, exact for normal results:
// subnormal ones round); (x + 3) (1/6)f 2; x ((x + 3) (1/6)f) 3; (2x + 3) (1/6)f 2; y (1 - y)
// 1.5 (1 - y is exact for y >= 1/2); (1 - y)(1 + y) 2.5.
const std::vector<Bounds>& bounds_table() {
  static const std::vector<Bounds> table = {
      // spec                          forward backward from_output
      {{A::kReLU, {}}, 0, 0, 0},
      {{A::kLeakyReLU, {0.01f, 0}}, 0.5, 0, 0},
      {{A::kLeakyReLU, {0.2f, 0}}, 0.5, 0, 0},
      {{A::kPReLU, {0.25f, 0}}, 0.5, 0, -1},
      {{A::kPReLU, {0.1f, 0}}, 0.5, 0, -1},
      {{A::kReLU6, {}}, 0, 0, 0},
      {{A::kELU, {1.0f, 0}}, 4, 4, 4},
      {{A::kELU, {0.5f, 0}}, 4, 4, 4},
      {{A::kSELU, {}}, 4, 4, 4},
      {{A::kCELU, {1.0f, 0}}, 4, 4, 4},
      {{A::kCELU, {2.0f, 0}}, 4, 4, 4},
      {{A::kGELU, {}}, 4, 4, -1},
      {{A::kGELUTanh, {}}, 4, 6, -1},
      {{A::kSiLU, {}}, 4, 4, -1},
      {{A::kMish, {}}, 5, 6, -1},
      {{A::kSoftplus, {1.0f, 20.0f}}, 4, 4, -1},
      {{A::kSoftplus, {2.0f, 10.0f}}, 4, 4, -1},
      {{A::kHardSigmoid, {}}, 2, 0.5, -1},
      {{A::kHardSwish, {}}, 3, 2, -1},
      {{A::kSigmoid, {}}, 4, 4, 1.5},
      {{A::kTanh, {}}, 4, 4, 2.5},
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
        FLT_MAX, -FLT_MAX, inf, -inf, nan, nan_payload, 1e4f, -1e4f, 1e30f, -1e30f,
        // selu's overflow: scale x rounds to FLT_MAX at the first, to inf at the second.
        3.23862215e38f, 3.23862235e38f}) {
    x.push_back(v);
  }
  return x;
}

std::vector<float> underflow_points(const ActivationSpec& spec, std::size_t reduce) {
  float lo = 0, hi = 0;
  switch (spec.kind) {
    case A::kGELU:
      lo = -14.8f, hi = -12.9f;
      break;
    case A::kGELUTanh:
      lo = -11.0f, hi = -10.0f;
      break;
    case A::kSiLU:
    case A::kMish:
      lo = -110.0f, hi = -87.0f;
      break;
    default:
      return {};
  }
  // Negative floats: bit patterns from bits(hi) up to bits(lo).
  std::vector<float> x;
  for (std::uint32_t b = bits_of(hi); b <= bits_of(lo); b += static_cast<std::uint32_t>(reduce)) {
    float v;
    std::memcpy(&v, &b, sizeof v);
    x.push_back(v);
  }
  return x;
}

void Worst::update(double e, float at, float got, double want) {
  if (e > error || std::isnan(e)) *this = {std::isnan(e) ? INFINITY : e, at, got, want};
}

void Stats::merge(const Stats& o) {
  for (auto [mine, theirs] : {std::pair{&ulp, &o.ulp}, std::pair{&subnormal, &o.subnormal},
                              std::pair{&sign, &o.sign}, std::pair{&special, &o.special}}) {
    mine->update(theirs->error, theirs->x, theirs->fast, theirs->ref);
  }
  above_bound += o.above_bound;
  above_four += o.above_four;
  sign_count += o.sign_count;
  special_count += o.special_count;
}

void run_cpu_kernel(Kernel k, const ActivationSpec& spec, std::span<const float> in,
                    std::span<const float> dy, std::span<float> out) {
  if (k == Kernel::kForward) activation_forward(spec, in, out);
  if (k == Kernel::kBackward) activation_backward(spec, in, dy, out);
  if (k == Kernel::kFromOutput) activation_backward_from_output(spec, in, dy, out);
}

SpecStats sweep(const ActivationSpec& spec, const Bounds& bounds, std::span<const float> common,
                std::span<const Implementation> implementations, std::size_t underflow_reduce) {
  SpecStats stats(implementations.size());
  std::vector<float> all;
  const std::vector<float> tail = underflow_points(spec, underflow_reduce);
  if (!tail.empty()) {
    all.assign(common.begin(), common.end());
    all.insert(all.end(), tail.begin(), tail.end());
  }
  const std::span<const float> points = tail.empty() ? common : std::span<const float>(all);
  const bool from_output = activation_info(spec.kind).backward_from_output;
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
      want_f[i] = expect(static_cast<double>(f), 0.0);
      want_d[i] = expect(static_cast<double>(reference_derivative(spec, x[i])),
                         static_cast<double>(reference_derivative_magnitude(spec, x[i])));
      y[i] = static_cast<float>(f);
      if (from_output) {
        want_o[i] =
            expect(static_cast<double>(reference_derivative_from_output(spec, y[i])),
                   static_cast<double>(reference_derivative_from_output_magnitude(spec, y[i])));
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
                << s.ulp.error << " (subnormal " << s.subnormal.error << ')' << std::defaultfloat;
      const std::string where =
          describe(spec) + ' ' + kKernelNames[k] + " on " + implementations[m].name + ": ";
      EXPECT_LE(s.ulp.error, bound[k]) << where << describe_worst(s.ulp);
      EXPECT_LE(s.subnormal.error, bound[k])
          << where << "subnormal output, in steps of 2^-149, at " << describe_worst(s.subnormal);
      EXPECT_EQ(s.sign_count, 0u) << where << s.sign_count << " zeros of the wrong sign, e.g. "
                                  << describe_worst(s.sign);
      EXPECT_EQ(s.special_count, 0u)
          << where << s.special_count << " NaN or infinity not matched, e.g. "
          << describe_worst(s.special);
    }
    std::cout << '\n';
  }
}

}  // namespace relulab::test
