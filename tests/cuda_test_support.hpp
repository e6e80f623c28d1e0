// What the CUDA tests share: the GPU requirement, inputs with the special values mixed in, and
// running one kernel on device copies of host vectors.
#pragma once

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "accuracy_sweep.hpp"
#include "relulab/activation.hpp"
#include "relulab/cuda/activation.hpp"

namespace relulab::test {

// Skips the test, with CUDA's reason, where no GPU can be used; fails instead when the
// environment sets RELULAB_REQUIRE_GPU=1 (as the GPU check does), so that a machine whose driver
// is too old for the runtime cannot pass by skipping.
#define RELULAB_REQUIRE_GPU()                                                            \
  do {                                                                                   \
    const relulab::cuda::DeviceQuery gpu_query_ = relulab::cuda::query_devices();        \
    if (gpu_query_.count > 0) break;                                                     \
    const char* require = std::getenv("RELULAB_REQUIRE_GPU");                            \
    if (require != nullptr && std::string(require) == "1") {                             \
      FAIL() << "RELULAB_REQUIRE_GPU=1 but CUDA cannot be used: " << gpu_query_.problem; \
    }                                                                                    \
    GTEST_SKIP() << "no usable CUDA device (" << gpu_query_.problem                      \
                 << "): the CUDA kernels are built but not run here";                    \
  } while (false)

// Random values in [-8, 8] with NaN, +-inf, +-0, a denormal and huge values mixed in.
inline std::vector<float> mixed_inputs(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-8.0f, 8.0f);
  std::vector<float> x(n);
  for (float& v : x) v = uniform(rng);
  const float specials[] = {0.0f, -0.0f, 1e-40f, -INFINITY, INFINITY, NAN,
                            3.0f, -3.0f, 6.0f,   1e4f,      -1e4f,    1e30f};
  for (std::size_t i = 0; i < n; i += 11) x[i] = specials[(i / 11) % std::size(specials)];
  return x;
}

inline bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Runs one kernel on the device: in (x, or y for kFromOutput) and dy uploaded, out downloaded.
inline std::vector<float> run_on_device(Kernel k, const ActivationSpec& spec,
                                        std::span<const float> in, std::span<const float> dy) {
  cuda::DeviceArray<float> d_in(in.size()), d_dy(in.size()), d_out(in.size());
  d_in.upload(in);
  d_dy.upload(dy);
  if (k == Kernel::kForward) cuda::activation_forward(spec, d_in.span(), d_out.span());
  if (k == Kernel::kBackward) {
    cuda::activation_backward(spec, d_in.span(), d_dy.span(), d_out.span());
  }
  if (k == Kernel::kFromOutput) {
    cuda::activation_backward_from_output(spec, d_in.span(), d_dy.span(), d_out.span());
  }
  std::vector<float> out(in.size());
  d_out.download(out);
  return out;
}

}  // namespace relulab::test
