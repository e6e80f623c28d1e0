// The one piece of global state besides the SIMD dispatch table: how many threads kernels use.
#pragma once

#include <cstddef>

namespace relulab {

// Threads used by the kernels (OpenMP); defaults to OpenMP's own default (OMP_NUM_THREADS).
int thread_count() noexcept;
// Sets the thread count for all later kernel calls; values < 1 are treated as 1.
void set_thread_count(int n) noexcept;

// Element count below which an elementwise kernel stays on one thread: splitting a span that
// fits in L1/L2 costs more in fork/join than it saves. Chosen from bench/activation_bench.
inline constexpr std::size_t kParallelThreshold = std::size_t{1} << 16;

}  // namespace relulab
