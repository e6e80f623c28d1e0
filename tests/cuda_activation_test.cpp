// The CUDA elementwise kernels (relulab::cuda) against the long-double reference under the CPU
// kernels' ULP bounds (accuracy_sweep.hpp), and their calling conventions: NaN propagation and the
// backward's select-or-multiply rule, in-place calls, misaligned spans and tails (the 4-byte
// paths), sizes that take several grid-stride steps, memory outside the span left untouched, and
// streams. Tests that need a GPU report SKIPPED with CUDA's reason where there is none (and fail
// under RELULAB_REQUIRE_GPU=1); the argument checks and the no-device errors run everywhere.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <span>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "accuracy_sweep.hpp"
#include "activation/formulas.hpp"
#include "activation_specs.hpp"
#include "cuda_test_support.hpp"
#include "relulab/activation.hpp"
#include "relulab/cuda/activation.hpp"

namespace relulab {
namespace {

using cuda::DeviceArray;
using test::Kernel;
using test::mixed_inputs;
using test::run_on_device;
using test::same_bits;

TEST(CudaDevice, DescribesTheDeviceOrSaysWhyThereIsNone) {
  const cuda::DeviceQuery query = cuda::query_devices();
  EXPECT_EQ(cuda::device_count(), query.count);
  if (query.count == 0) {
    EXPECT_FALSE(query.problem.empty());
    EXPECT_THROW((void)cuda::device_description(), cuda::CudaError);
    EXPECT_THROW(DeviceArray<float>(16), cuda::CudaError);
  }
  RELULAB_REQUIRE_GPU();
  EXPECT_TRUE(query.problem.empty());
  const std::string description = cuda::device_description();
  std::cout << "CUDA device: " << description << '\n';
  EXPECT_NE(description.find("sm_"), std::string::npos);
}

// The checks that come before any CUDA call hold without a GPU (null device pointers: nothing is
// dereferenced).
TEST(CudaArguments, MismatchedSizesAndMissingFromOutputFormThrow) {
  const ActivationSpec relu{};
  float* none = nullptr;
  const std::span<float> four(none, 4), five(none, 5);
  EXPECT_THROW(cuda::activation_forward(relu, four, five), std::invalid_argument);
  EXPECT_THROW(cuda::activation_backward(relu, four, four, five), std::invalid_argument);
  EXPECT_THROW(cuda::activation_backward_from_output(relu, four, five, four),
               std::invalid_argument);
  EXPECT_THROW(
      cuda::activation_backward_from_output(default_spec(Activation::kGELU), four, four, four),
      std::invalid_argument);
  EXPECT_THROW(cuda::bias_activation_forward_rows(relu, 2, 2, four, four, four),
               std::invalid_argument);  // bias must have cols = 2 elements
  EXPECT_THROW(cuda::bias_activation_forward_nchw(relu, 1, 2, 2, four, five, four),
               std::invalid_argument);
  std::uint8_t* no_mask = nullptr;
  EXPECT_THROW(cuda::relu_forward_mask(four, four, std::span(no_mask, 2)), std::invalid_argument);
  EXPECT_THROW(cuda::relu_backward_mask(std::span(no_mask, 0), four, four), std::invalid_argument);
}

TEST(CudaAccuracy, EveryKernelWithinTheCpuBounds) {
  RELULAB_REQUIRE_GPU();
  const std::vector<test::Implementation> impls = {
      {"cuda", [](Kernel k, const ActivationSpec& spec, std::span<const float> in,
                  std::span<const float> dy, std::span<float> out) {
         const std::vector<float> got = run_on_device(k, spec, in, dy);
         std::copy(got.begin(), got.end(), out.begin());
       }}};
  const std::vector<float> points = test::sweep_points(1);
  std::cout << points.size() << " points per activation on " << cuda::device_description()
            << "\nmax error (ULP, see the metric in accuracy_sweep.hpp)\n";
  for (const ActivationSpec& spec : test::specs_under_test()) {
    const test::Bounds* bounds = test::find_bounds(spec);
    ASSERT_NE(bounds, nullptr) << describe(spec);
    test::expect_within_bounds(spec, *bounds, impls, test::sweep(spec, *bounds, points, impls));
  }
}

// dx = dy f'(x) for finite dy: within 1 ULP of dy times the device's own f'(x) (one rounding of
// the product, and f' itself within 0.5 ULP), and 0 where f' is 0.
TEST(CudaAccuracy, BackwardScalesByArbitraryDy) {
  RELULAB_REQUIRE_GPU();
  const std::size_t n = 4099;
  const std::vector<float> x = mixed_inputs(n, 3);
  std::vector<float> dy = mixed_inputs(n, 4), ones(n, 1.0f);
  for (const ActivationSpec& spec : test::specs_under_test()) {
    const std::vector<float> slope = run_on_device(Kernel::kBackward, spec, x, ones);
    const std::vector<float> dx = run_on_device(Kernel::kBackward, spec, x, dy);
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(dy[i])) continue;
      const double want = static_cast<double>(dy[i]) * slope[i];
      if (slope[i] == 0) {
        ASSERT_EQ(dx[i], 0.0f) << describe(spec) << " x = " << x[i] << " dy = " << dy[i];
      } else if (std::isfinite(want) && std::fabs(want) > 1e-30) {
        ASSERT_LE(std::fabs(dx[i] - want), 1.5 * std::fabs(want) * 0x1p-23)
            << describe(spec) << " x = " << x[i] << " dy = " << dy[i];
      }
    }
  }
}

// A NaN dy: relu, relu6 and hardsigmoid select (dx = 0 where f'(x) = 0, as on the CPU and in
// PyTorch); every other activation multiplies, so dx is NaN everywhere.
TEST(CudaAccuracy, NaNDySelectsOrPropagatesAsOnTheCpu) {
  RELULAB_REQUIRE_GPU();
  const std::vector<float> x = {-7.0f, -3.0f, -1.0f, -0.0f, 0.0f, 0.5f, 3.0f, 6.0f, 9.0f};
  const std::vector<float> dy(x.size(), NAN), ones(x.size(), 1.0f);
  for (const ActivationSpec& spec : test::specs_under_test()) {
    const std::vector<float> slope = run_on_device(Kernel::kBackward, spec, x, ones);
    const std::vector<float> dx = run_on_device(Kernel::kBackward, spec, x, dy);
    std::vector<float> cpu(x.size());
    activation_backward(spec, x, dy, cpu);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const bool selected = formula::gradient_is_select(spec.kind) && slope[i] == 0;
      EXPECT_EQ(std::isnan(dx[i]), !selected) << describe(spec) << " x = " << x[i];
      EXPECT_EQ(std::isnan(dx[i]), std::isnan(cpu[i])) << describe(spec) << " x = " << x[i];
    }
  }
}

// NaN in: NaN out of the forward; out of the backward, what the CPU kernel gives (NaN, or the
// select's value for relu, leaky_relu, prelu, relu6, hardsigmoid: formula::select_slope_at_nan).
TEST(CudaEdge, NaNInGivesTheCpuAnswer) {
  RELULAB_REQUIRE_GPU();
  const std::vector<float> x = mixed_inputs(301, 5);
  const std::vector<float> dy(x.size(), 1.0f);
  std::vector<float> cpu(x.size());
  for (const ActivationSpec& spec : test::specs_under_test()) {
    for (const Kernel k : {Kernel::kForward, Kernel::kBackward, Kernel::kFromOutput}) {
      if (k == Kernel::kFromOutput && !activation_info(spec.kind).backward_from_output) continue;
      const std::vector<float> out = run_on_device(k, spec, x, dy);
      test::run_cpu_kernel(k, spec, x, dy, cpu);
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (k == Kernel::kForward) {
          ASSERT_EQ(std::isnan(out[i]), std::isnan(x[i])) << describe(spec) << " x = " << x[i];
        }
        if (!std::isnan(x[i])) continue;
        ASSERT_TRUE(std::isnan(cpu[i]) ? std::isnan(out[i]) : out[i] == cpu[i])
            << describe(spec) << ' ' << test::kKernelNames[static_cast<int>(k)]
            << " x = NaN: " << out[i] << " on the device, " << cpu[i] << " on the CPU";
      }
    }
  }
}

constexpr float kSentinel = 12345.0f;

// Every size 0..260 at offsets 0..3 floats (misaligned: the 4-byte path, and the float4 path
// with its tail), in place and out of place, gives the bits of the aligned out-of-place call and
// leaves every float outside the span as it was.
TEST(CudaEdge, OffsetsTailsAndInPlaceGiveTheAlignedResult) {
  RELULAB_REQUIRE_GPU();
  const std::size_t kMax = 260, kBuf = kMax + 8;
  const std::vector<float> x = mixed_inputs(kMax, 7);
  for (const ActivationSpec& spec :
       {default_spec(Activation::kGELU), default_spec(Activation::kReLU6)}) {
    const std::vector<float> want = run_on_device(Kernel::kForward, spec, x, x);
    DeviceArray<float> buf(kBuf), out(kBuf);
    std::vector<float> got(kBuf);
    for (std::size_t offset = 0; offset < 4; ++offset) {
      for (std::size_t n = 0; n <= kMax; n += n < 20 ? 1 : 37) {
        std::vector<float> staged(kBuf, kSentinel);
        std::copy_n(x.begin(), n, staged.begin() + static_cast<std::ptrdiff_t>(offset));
        buf.upload(staged);
        out.upload(std::vector<float>(kBuf, kSentinel));
        const std::span<float> in = buf.span().subspan(offset, n);
        cuda::activation_forward(spec, in, out.span().subspan(offset, n));
        for (const bool in_place : {false, true}) {
          if (in_place) cuda::activation_forward(spec, in, in);
          (in_place ? buf : out).download(got);
          for (std::size_t i = 0; i < kBuf; ++i) {
            const bool inside = i >= offset && i < offset + n;
            ASSERT_TRUE(same_bits(got[i], inside ? want[i - offset] : kSentinel))
                << describe(spec) << " n " << n << " offset " << offset << " at " << i
                << (in_place ? " in place" : "");
          }
        }
      }
    }
  }
}

// 2^22 + 77 floats take several grid-stride steps per thread; the result equals the same data
// done in calls of 4096 (one step each), for forward and backward, on a non-blocking stream.
TEST(CudaEdge, LargeSpansOnAStreamEqualSmallCalls) {
  RELULAB_REQUIRE_GPU();
  const std::size_t n = (std::size_t{1} << 22) + 77, kPiece = 4096;
  const std::vector<float> x = mixed_inputs(n, 9), dy = mixed_inputs(n, 10);
  DeviceArray<float> d_x(n), d_dy(n), d_big(n), d_small(n);
  d_x.upload(x);
  d_dy.upload(dy);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  std::vector<float> big(n), small(n);
  for (const ActivationSpec& spec :
       {default_spec(Activation::kMish), default_spec(Activation::kReLU)}) {
    for (const bool backward : {false, true}) {
      auto run = [&](std::span<float> out, std::size_t begin, std::size_t count, void* s) {
        const auto in = d_x.span().subspan(begin, count);
        if (backward) {
          cuda::activation_backward(spec, in, d_dy.span().subspan(begin, count),
                                    out.subspan(begin, count), s);
        } else {
          cuda::activation_forward(spec, in, out.subspan(begin, count), s);
        }
      };
      run(d_big.span(), 0, n, stream);
      for (std::size_t b = 0; b < n; b += kPiece)
        run(d_small.span(), b, std::min(kPiece, n - b), nullptr);
      cuda::synchronize(stream);
      cuda::synchronize();
      d_big.download(big);
      d_small.download(small);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_TRUE(same_bits(big[i], small[i]))
            << describe(spec) << (backward ? " backward" : " forward") << " at " << i;
      }
    }
  }
  ASSERT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

}  // namespace
}  // namespace relulab
