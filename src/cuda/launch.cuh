// What every CUDA kernel launch shares: the block size, the grid of a grid-stride loop, and the
// test for the 16-byte vector path.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "cuda/check.hpp"

namespace relulab::cuda {

inline constexpr int kBlock = 256;

// Blocks for a grid-stride loop of `kernel` over `items` work items (one per thread per step):
// as many as fit on the device at once (blocks of kBlock threads per SM, from the kernel's
// registers, times the SMs), so that one wave covers the GPU, and no more than the work needs.
// Each thread then loops over items i, i + gridDim.x * kBlock, ...
template <class Kernel>
unsigned grid_for(Kernel kernel, std::size_t items) {
  int device = 0, sms = 0, per_sm = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device),
        "cudaDeviceGetAttribute");
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kBlock, 0),
        "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  const std::size_t needed = (items + kBlock - 1) / kBlock;
  const std::size_t resident = static_cast<std::size_t>(sms) * static_cast<std::size_t>(per_sm);
  return static_cast<unsigned>(std::max<std::size_t>(1, std::min(needed, resident)));
}

// kernel<<<grid_for(kernel, items), kBlock, 0, stream>>>(args...).
template <class... Params, class... Args>
void launch(void (*kernel)(Params...), std::size_t items, cudaStream_t stream, Args... args) {
  kernel<<<grid_for(kernel, items), kBlock, 0, stream>>>(args...);
}

inline bool aligned(const void* p, std::size_t bytes) {
  return reinterpret_cast<std::uintptr_t>(p) % bytes == 0;
}

// Index of this thread in a grid-stride loop, and the stride.
__device__ inline std::size_t grid_index() {
  return static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::size_t grid_stride() {
  return static_cast<std::size_t>(gridDim.x) * blockDim.x;
}

// The argument checks: std::invalid_argument(what) unless ok, before any CUDA call.
inline void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

// Raises the launch's error, if any (a bad configuration, no device), as CudaError.
inline void check_launch(const char* what) {
  check(cudaGetLastError(), what);
}

}  // namespace relulab::cuda
