// Accuracy against the long-double reference (points, bounds and metric: accuracy_sweep.hpp) of
//   - the SIMD kernels on every target that is compiled in and that this CPU runs: AVX3, AVX2,
//     SSE4, SSSE3 and the fallback, which is EMU128, or SCALAR where Highway marks EMU128 broken
//     (GCC < 12.3, GCC bug 106322);
//   - "cuda-math": the per-element functions of the CUDA kernels (the reference formulas in
//     double, rounded once to float: formula::*_in_double) compiled for the host, so that the math
//     of src/cuda/ is checked on every machine; the CUDA test checks the device build of it.
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "accuracy_sweep.hpp"
#include "activation/formulas.hpp"
#include "activation_specs.hpp"
#include "hwy/targets.h"
#include "relulab/activation.hpp"

namespace relulab {
namespace {

using test::Implementation;
using test::Kernel;

#ifdef RELULAB_SANITIZE_BUILD
// ASan + UBSan run several times slower: 1/4 of the points (~2.6e6, ~15 s), same regions.
constexpr std::size_t kReduce = 4;
#else
constexpr std::size_t kReduce = 1;
#endif

void run_cuda_math_on_host(Kernel k, const ActivationSpec& spec, std::span<const float> in,
                           std::span<const float> dy, std::span<float> out) {
  const float a = spec.params[0], b = spec.params[1];
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (k == Kernel::kForward) out[i] = formula::forward_in_double(spec.kind, in[i], a, b);
    if (k == Kernel::kBackward) out[i] = formula::backward_in_double(spec.kind, in[i], dy[i], a, b);
    if (k == Kernel::kFromOutput) {
      out[i] = formula::backward_from_output_in_double(spec.kind, in[i], dy[i], a);
    }
  }
}

std::vector<Implementation> implementations() {
  std::vector<Implementation> list;
  for (const std::int64_t target : hwy::SupportedAndGeneratedTargets()) {
    list.push_back({hwy::TargetName(target),
                    [target](Kernel k, const ActivationSpec& spec, std::span<const float> in,
                             std::span<const float> dy, std::span<float> out) {
                      hwy::SetSupportedTargetsForTest(target);
                      test::run_cpu_kernel(k, spec, in, dy, out);
                      hwy::SetSupportedTargetsForTest(0);
                    }});
  }
  list.push_back({"cuda-math", run_cuda_math_on_host});
  return list;
}

TEST(ActivationAccuracy, BoundsTableCoversEverySpecUnderTest) {
  for (const ActivationSpec& spec : test::specs_under_test()) {
    const test::Bounds* b = test::find_bounds(spec);
    ASSERT_NE(b, nullptr) << describe(spec) << " has no stated bound";
    EXPECT_EQ(b->from_output >= 0, activation_info(spec.kind).backward_from_output)
        << describe(spec) << ": from_output bound disagrees with the table";
  }
}

TEST(ActivationAccuracy, EveryKernelWithinItsBoundOnEveryTarget) {
  const std::vector<Implementation> impls = implementations();
  ASSERT_GE(impls.size(), 2u);
  const std::vector<float> points = test::sweep_points(kReduce);
  ASSERT_GE(points.size(), 10'000'000u / kReduce);
  std::cout << points.size() << " points per activation; implementations:";
  for (const Implementation& impl : impls) std::cout << ' ' << impl.name;
  std::cout << "\nmax error (ULP, see the metric in accuracy_sweep.hpp)\n";
  for (const ActivationSpec& spec : test::specs_under_test()) {
    const test::Bounds* bounds = test::find_bounds(spec);
    ASSERT_NE(bounds, nullptr) << describe(spec);
    test::expect_within_bounds(spec, *bounds, impls,
                               test::sweep(spec, *bounds, points, impls, kReduce));
  }
}

// The sweep above relies on SetSupportedTargetsForTest steering the library's dispatch.
TEST(ActivationAccuracy, TargetMockSteersDispatch) {
  for (const std::int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    EXPECT_EQ(simd_target_name(), hwy::TargetName(target));
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace
}  // namespace relulab
