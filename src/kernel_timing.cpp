#include "relulab/kernel_timing.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <span>
#include <vector>

#include "relulab/random.hpp"
#include "relulab/tensor.hpp"
#include "relulab/threads.hpp"

namespace relulab {
namespace {

template <class Call>
double median_seconds(const TimingPlan& plan, std::size_t n, Call&& call) {
  const std::size_t calls = std::max<std::size_t>(1, plan.elements_per_rep / n);
  call();  // warm caches and the thread pool
  std::vector<double> seconds;
  for (int rep = 0; rep < plan.reps; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < calls; ++i) call();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    seconds.push_back(elapsed.count() / static_cast<double>(calls));
  }
  const auto mid = seconds.begin() + plan.reps / 2;
  std::nth_element(seconds.begin(), mid, seconds.end());
  return *mid;
}

// y = x, split across thread_count() threads above kParallelThreshold as the kernels are, so that
// the ratio kernel / copy compares like with like.
void threaded_copy(std::span<const float> x, std::span<float> y) {
  const std::size_t n = x.size();
  if (n < kParallelThreshold || thread_count() == 1) {
    std::memcpy(y.data(), x.data(), n * sizeof(float));
    return;
  }
#pragma omp parallel num_threads(thread_count())
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    const auto count = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t begin = n * t / count, end = n * (t + 1) / count;
    std::memcpy(y.data() + begin, x.data() + begin, (end - begin) * sizeof(float));
  }
}

Tensor uniform_tensor(std::size_t n, std::uint64_t seed) {
  Tensor t = Tensor::uninitialized({static_cast<std::int64_t>(n)});
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) t[i] = rng.uniform(-8.0f, 8.0f);
  return t;
}

}  // namespace

double time_copy(std::size_t n, const TimingPlan& plan) {
  const Tensor x = uniform_tensor(n, 1);
  const Tensor y = Tensor::uninitialized({static_cast<std::int64_t>(n)});
  return median_seconds(plan, n, [&] { threaded_copy(x.span(), y.span()); });
}

KernelTiming time_activation(const ActivationSpec& spec, std::size_t n, const TimingPlan& plan,
                             double copy_seconds) {
  const Tensor x = uniform_tensor(n, 1), dy = uniform_tensor(n, 2);
  const Tensor y = Tensor::uninitialized({static_cast<std::int64_t>(n)});
  const Tensor dx = Tensor::uninitialized({static_cast<std::int64_t>(n)});
  KernelTiming t;
  t.n = n;
  t.copy_seconds = copy_seconds;
  t.forward_seconds =
      median_seconds(plan, n, [&] { activation_forward(spec, x.span(), y.span()); });
  t.backward_seconds =
      median_seconds(plan, n, [&] { activation_backward(spec, x.span(), dy.span(), dx.span()); });
  return t;
}

}  // namespace relulab
