// Every float32 input, every activation of the accuracy table (tests/accuracy_sweep.cpp), every
// pass: the dispatched SIMD kernels and the CUDA kernels' math ("cuda-math", formula::*_in_double
// evaluated on the host) against the reference, with the metric of tests/accuracy_sweep.hpp (ULPs
// down to the subnormal step 2^-149, no absolute floor; the f' magnitude unit only where f' is a
// sum of cancelling terms; signed zeros; NaN and infinities).
//
// The reference is formulas.hpp in double, not long double: the same stable forms (expm1, erfc,
// log1p, the logistic in exp(-|x|)), whose relative error (a few 1e-16) is ~1e-8 float ULPs, and
// whose range (down to 4.9e-324) holds every intermediate of a float input, so nothing underflows
// that the float result needs. x87 long double costs 6-10x as much per point. The run checks that
// claim: on every 4099th float, the double reference and the long-double one (the tests' ground
// truth) must agree within 0.001 units of the metric, or the run fails.
//
// Usage: accuracy_exhaustive [--stride S] [--only NAME]...
//   --stride S  every S-th bit pattern (default 1: all 2^32); --only: activations by name.
// Prints a Markdown table (one row per activation and pass) and exits 1 where a bound is broken
// (a row's "> bound" count or a sign or NaN/inf mismatch is not 0), 2 on a usage error.
#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "accuracy_sweep.hpp"
#include "activation/formulas.hpp"
#include "relulab/activation.hpp"
#include "relulab/activation_reference.hpp"
#include "relulab/threads.hpp"
#include "ulp.hpp"

namespace relulab::bench {
namespace {

using test::Expected;
using test::Kernel;
using test::Stats;

constexpr std::uint64_t kPatterns = std::uint64_t{1} << 32;
// Per chunk, below kParallelThreshold: the kernels then run on the calling thread, and the
// threads of this program split the chunks.
constexpr std::size_t kChunk = std::size_t{1} << 15;

// stats[implementation][pass]: 0 = relulab, 1 = cuda-math.
using SpecStats = std::array<std::array<Stats, 3>, 2>;

float float_of(std::uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// The reference of one pass at one point, with its magnitude only where the plain ULP error of
// `fast` exceeds 1: the magnitude can only lower an error, so below 1 it cannot change a row
// whose maximum is above 1, and it is the costly part of the gated derivatives.
struct Reference {
  const ActivationSpec& spec;
  double a, b;
  Expected derivative(float x, float fast) const {
    const double ref = formula::derivative<double>(spec.kind, x, a, b);
    Expected want = test::expect(ref, 0.0);
    if (want.unit > 0 && std::fabs(fast - ref) > want.unit) {
      want = test::expect(ref, formula::derivative_magnitude<double>(spec.kind, x, a, b));
    }
    return want;
  }
  Expected from_output(float y) const {
    return test::expect(formula::derivative_from_output<double>(spec.kind, y, a),
                        formula::derivative_from_output_magnitude<double>(spec.kind, y));
  }
};

// The CUDA kernels' float result from the reference's double one (formula::*_in_double: one
// rounding of dy f' with dy = 1, and 0 where the gradient is a select and f' = 0).
float cuda_math_slope(Activation kind, double slope) {
  if (formula::gradient_is_select(kind) && slope == 0) return 0.0f;
  return static_cast<float>(slope);
}

void sweep_chunk(const ActivationSpec& spec, const test::Bounds& bounds, std::uint64_t first,
                 std::uint64_t stride, std::size_t n, SpecStats& stats) {
  const bool from_output = activation_info(spec.kind).backward_from_output;
  const Reference ref{spec, spec.params[0], spec.params[1]};
  std::vector<float> x(n), y(n), ones(n, 1.0f), f(n), dx(n), y_ref(n), dxo(n);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = float_of(static_cast<std::uint32_t>(first + i * stride));
  activation_forward(spec, x, f);
  activation_backward(spec, x, ones, dx);
  for (std::size_t i = 0; i < n; ++i) {
    const double fx = formula::forward<double>(spec.kind, x[i], ref.a, ref.b);
    y_ref[i] = static_cast<float>(fx);
    const Expected want_f = test::expect(fx, 0.0);
    test::classify(x[i], f[i], want_f, bounds.forward, stats[0][0]);
    test::classify(x[i], static_cast<float>(fx), want_f, bounds.forward, stats[1][0]);
    const Expected want_d = ref.derivative(x[i], dx[i]);
    test::classify(x[i], dx[i], want_d, bounds.backward, stats[0][1]);
    test::classify(x[i], cuda_math_slope(spec.kind, want_d.value), want_d, bounds.backward,
                   stats[1][1]);
  }
  if (!from_output) return;
  activation_backward_from_output(spec, y_ref, ones, dxo);
  for (std::size_t i = 0; i < n; ++i) {
    const Expected want = ref.from_output(y_ref[i]);
    test::classify(y_ref[i], dxo[i], want, bounds.from_output, stats[0][2]);
    test::classify(y_ref[i], cuda_math_slope(spec.kind, want.value), want, bounds.from_output,
                   stats[1][2]);
  }
}

SpecStats sweep_all(const ActivationSpec& spec, const test::Bounds& bounds, std::uint64_t stride,
                    int threads) {
  const std::uint64_t count = (kPatterns + stride - 1) / stride;
  const std::uint64_t chunks = (count + kChunk - 1) / kChunk;
  SpecStats total;
#pragma omp parallel num_threads(threads)
  {
    SpecStats local;
#pragma omp for schedule(dynamic, 16) nowait
    for (std::uint64_t c = 0; c < chunks; ++c) {
      const std::uint64_t begin = c * kChunk;
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, count - begin));
      sweep_chunk(spec, bounds, begin * stride, stride, n, local);
    }
#pragma omp critical
    for (int m = 0; m < 2; ++m) {
      for (int k = 0; k < 3; ++k) total[m][k].merge(local[m][k]);
    }
  }
  return total;
}

// The largest disagreement, in units of the metric, between the double reference and the long
// double one, on every 4099th float (finite results of both).
double reference_disagreement(const ActivationSpec& spec, int threads) {
  const double a = spec.params[0], b = spec.params[1];
  double worst = 0;
  const bool from_output = activation_info(spec.kind).backward_from_output;
#pragma omp parallel for schedule(dynamic, 4096) reduction(max : worst) num_threads(threads)
  for (std::uint64_t bits = 0; bits < kPatterns; bits += 4099) {
    const float x = float_of(static_cast<std::uint32_t>(bits));
    const long double f = reference_forward(spec, x);
    const auto gap = [&](double d, long double l, double magnitude) {
      const Expected want = test::expect(static_cast<double>(l), magnitude);
      if (want.unit == 0 || !std::isfinite(d)) return 0.0;
      return std::fabs(d - static_cast<double>(l)) / want.unit;
    };
    worst = std::max(worst, gap(formula::forward<double>(spec.kind, x, a, b), f, 0.0));
    worst = std::max(
        worst, gap(formula::derivative<double>(spec.kind, x, a, b), reference_derivative(spec, x),
                   static_cast<double>(reference_derivative_magnitude(spec, x))));
    if (from_output) {
      const float y = static_cast<float>(f);
      worst = std::max(
          worst, gap(formula::derivative_from_output<double>(spec.kind, y, a),
                     reference_derivative_from_output(spec, y),
                     static_cast<double>(reference_derivative_from_output_magnitude(spec, y))));
    }
  }
  return worst;
}

std::string number(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string where(const test::Worst& w) {
  if (w.error == 0) return "–";
  std::ostringstream s;
  s << std::setprecision(9) << w.x;
  return s.str();
}

// "count (at x: got for want)", or "0".
std::string mismatches(std::uint64_t count, const test::Worst& w) {
  if (count == 0) return "0";
  std::ostringstream s;
  s << count << " (x = " << std::setprecision(9) << w.x << ": " << w.fast << " for " << w.ref
    << ")";
  return s.str();
}

bool print_rows(const ActivationSpec& spec, const test::Bounds& bounds, const SpecStats& stats,
                double disagreement) {
  const double bound[3] = {bounds.forward, bounds.backward, bounds.from_output};
  const char* names[2] = {"relulab", "cuda-math"};
  bool ok = disagreement <= 1e-3;
  for (int k = 0; k < 3; ++k) {
    if (k == 2 && !activation_info(spec.kind).backward_from_output) continue;
    for (int m = 0; m < 2; ++m) {
      const Stats& s = stats[m][k];
      ok = ok && s.above_bound == 0 && s.sign_count == 0 && s.special_count == 0;
      std::cout << "| " << describe(spec) << " | " << test::kKernelNames[k] << " | " << names[m]
                << " | " << bound[k] << " | " << number(s.ulp.error, 2) << " | " << where(s.ulp)
                << " | " << number(s.subnormal.error, 2) << " | " << where(s.subnormal) << " | "
                << s.above_four << " | " << s.above_bound << " | "
                << mismatches(s.sign_count, s.sign) << " | "
                << mismatches(s.special_count, s.special) << " |\n";
    }
  }
  return ok;
}

int run(std::uint64_t stride, const std::vector<std::string>& only) {
  const int threads = omp_get_max_threads();
  set_thread_count(1);  // the kernels run per chunk on each of this program's threads
  const auto start = std::chrono::steady_clock::now();
  std::cout << "| activation | pass | implementation | bound | max error, normal output | at x | "
               "max error, subnormal output (steps of 2^-149) | at x | inputs above 4 | "
               "inputs above the bound | zeros of the wrong sign | NaN/inf mismatches |\n"
            << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n";
  bool ok = true;
  double disagreement = 0;
  for (const test::Bounds& bounds : test::bounds_table()) {
    const ActivationSpec& spec = bounds.spec;
    const std::string name(activation_info(spec.kind).name);
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    const double gap = reference_disagreement(spec, threads);
    disagreement = std::max(disagreement, gap);
    ok = print_rows(spec, bounds, sweep_all(spec, bounds, stride, threads), gap) && ok;
    std::cout.flush();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "\nInputs per activation: " << (kPatterns + stride - 1) / stride
            << (stride == 1 ? " (every float32 bit pattern)" : "") << "; SIMD target "
            << simd_target_name() << "; " << threads << " threads; " << number(seconds, 0)
            << " s. Largest disagreement of the double reference with the "
            << "long-double one (every 4099th float): " << std::setprecision(3) << disagreement
            << " units of the metric.\n";
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace relulab::bench

int main(int argc, char** argv) {
  std::uint64_t stride = 1;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--stride" && i + 1 < argc) {
      char* end = nullptr;
      const unsigned long long s = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0' || s < 1 || s > (1ull << 32)) {
        std::cerr << "accuracy_exhaustive: --stride takes an integer in [1, 2^32], got '" << argv[i]
                  << "'\n";
        return 2;
      }
      stride = s;
    } else if (arg == "--only" && i + 1 < argc) {
      const std::string name = argv[++i];
      if (!relulab::parse_activation(name).is_ok()) {
        std::cerr << "accuracy_exhaustive: unknown activation '" << name << "'\n";
        return 2;
      }
      only.push_back(name);
    } else {
      std::cerr << "accuracy_exhaustive: unknown argument '" << arg
                << "' (usage: accuracy_exhaustive [--stride S] [--only NAME]...)\n";
      return 2;
    }
  }
  return relulab::bench::run(stride, only);
}
