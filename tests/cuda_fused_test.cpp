// The fused CUDA kernels: bias + activation on rows and NCHW (equal to the forward of the float
// sum, on the float4 and 4-byte paths, NaN from the sum kept), and ReLU with a 1-bit mask (bits,
// outputs and gradients equal to the CPU kernel's, aligned and misaligned, the last byte's unused
// bits 0, nothing written past the span). Tests report SKIPPED with CUDA's reason without a GPU.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "accuracy_sweep.hpp"
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

bool same_or_both_nan(float a, float b) {
  return same_bits(a, b) || (std::isnan(a) && std::isnan(b));
}

// Bias + activation equals the forward of the float sum, on the float4 paths (cols, hw multiples
// of 4), the 4-byte ones, and for 2^22 + 12 floats (several grid-stride steps per thread).
TEST(CudaFused, BiasRowsAndNchwEqualForwardOfTheSum) {
  RELULAB_REQUIRE_GPU();
  struct Shape {
    std::size_t batch, channels, inner;  // inner 1: rows [batch, channels]
  };
  for (const ActivationSpec& spec :
       {default_spec(Activation::kSiLU), default_spec(Activation::kTanh)}) {
    for (const Shape shape : {Shape{3, 7, 1}, Shape{3, 64, 1}, Shape{3, 7, 5}, Shape{3, 64, 16},
                              Shape{2, 8, 1}, Shape{4099, 1024, 1}, Shape{4, 3, 349526}}) {
      const std::size_t n = shape.batch * shape.channels * shape.inner;
      std::vector<float> x = mixed_inputs(n, 11), bias = mixed_inputs(shape.channels, 12);
      std::vector<float> sum(n);
      for (std::size_t i = 0; i < n; ++i) sum[i] = x[i] + bias[i / shape.inner % shape.channels];
      const std::vector<float> want = run_on_device(Kernel::kForward, spec, sum, sum);
      DeviceArray<float> d_x(n), d_bias(shape.channels), d_y(n);
      d_x.upload(x);
      d_bias.upload(bias);
      if (shape.inner == 1) {
        cuda::bias_activation_forward_rows(spec, shape.batch, shape.channels, d_x.span(),
                                           d_bias.span(), d_y.span());
      } else {
        cuda::bias_activation_forward_nchw(spec, shape.batch, shape.channels, shape.inner,
                                           d_x.span(), d_bias.span(), d_y.span());
      }
      std::vector<float> got(n);
      d_y.download(got);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_TRUE(same_or_both_nan(got[i], want[i]))
            << describe(spec) << " [" << shape.batch << ", " << shape.channels << ", "
            << shape.inner << "] at " << i;
      }
    }
  }
}

// The mask's bits and y equal the CPU kernel's, and backward passes dy exactly where they are
// set, for sizes around the 128-float chunks and 32-bit words and one of several grid-stride
// steps; with the floats and the mask aligned or not. The last byte's unused bits are 0, and
// nothing past the span or the mask is written.
TEST(CudaReluMask, BitsAndResultsEqualTheCpuKernel) {
  RELULAB_REQUIRE_GPU();
  constexpr float kSentinel = 12345.0f;
  constexpr std::uint8_t kMaskSentinel = 0xa5;
  for (const std::size_t n :
       {std::size_t{1}, std::size_t{31}, std::size_t{127}, std::size_t{128}, std::size_t{300},
        std::size_t{4096 + 77}, (std::size_t{1} << 22) + 13}) {
    for (const std::size_t offset : {std::size_t{0}, std::size_t{1}}) {
      const std::size_t bytes = relu_mask_bytes(n);
      const std::vector<float> x = mixed_inputs(n, 13), dy = mixed_inputs(n, 14);
      std::vector<float> y_cpu(n), dx_cpu(n);
      std::vector<std::uint8_t> mask_cpu(bytes);
      relu_forward_mask(x, y_cpu, mask_cpu);
      relu_backward_mask(mask_cpu, dy, dx_cpu);

      const std::size_t len = n + 2;  // [offset, offset + n) and a sentinel after it
      DeviceArray<float> d_x(len), d_y(len), d_dy(len), d_dx(len);
      DeviceArray<std::uint8_t> d_mask(bytes + 2);  // mask at [offset, offset + bytes)
      std::vector<float> staged(len, kSentinel);
      std::copy(x.begin(), x.end(), staged.begin() + static_cast<std::ptrdiff_t>(offset));
      d_x.upload(staged);
      std::copy(dy.begin(), dy.end(), staged.begin() + static_cast<std::ptrdiff_t>(offset));
      d_dy.upload(staged);
      const std::vector<float> sentinels(len, kSentinel);
      d_y.upload(sentinels);
      d_dx.upload(sentinels);
      d_mask.upload(std::vector<std::uint8_t>(bytes + 2, kMaskSentinel));
      const auto mask = d_mask.span().subspan(offset, bytes);
      cuda::relu_forward_mask(d_x.span().subspan(offset, n), d_y.span().subspan(offset, n), mask);
      cuda::relu_backward_mask(mask, d_dy.span().subspan(offset, n),
                               d_dx.span().subspan(offset, n));
      std::vector<float> y(len), dx(len);
      std::vector<std::uint8_t> got_mask(bytes + 2);
      d_y.download(y);
      d_dx.download(dx);
      d_mask.download(got_mask);
      const std::string where = "n " + std::to_string(n) + " offset " + std::to_string(offset);
      for (std::size_t i = 0; i < n; ++i) {
        const bool bit = (got_mask[offset + i / 8] >> (i % 8)) & 1u;
        const bool cpu_bit = (mask_cpu[i / 8] >> (i % 8)) & 1u;
        ASSERT_EQ(bit, cpu_bit) << where << " at " << i;
        ASSERT_TRUE(same_bits(y[offset + i], y_cpu[i])) << where << " at " << i;
        ASSERT_TRUE(same_bits(dx[offset + i], dx_cpu[i])) << where << " at " << i;
      }
      if (n % 8 != 0) {
        EXPECT_EQ(got_mask[offset + bytes - 1] >> (n % 8), 0) << where << ": unused bits";
      }
      for (std::size_t i = 0; i < len; ++i) {
        if (i >= offset && i < offset + n) continue;
        ASSERT_TRUE(same_bits(y[i], kSentinel)) << where << ": y written at " << i;
        ASSERT_TRUE(same_bits(dx[i], kSentinel)) << where << ": dx written at " << i;
      }
      for (std::size_t b = 0; b < bytes + 2; ++b) {
        if (b >= offset && b < offset + bytes) continue;
        ASSERT_EQ(got_mask[b], kMaskSentinel) << where << ": mask written at byte " << b;
      }
    }
  }
}

}  // namespace
}  // namespace relulab
