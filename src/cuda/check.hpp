// CUDA runtime errors as relulab::cuda::CudaError.
#pragma once

#include <cuda_runtime.h>

namespace relulab::cuda {

// Throws CudaError "<what>: <CUDA's message> (<error name>)" unless status is cudaSuccess.
void check(cudaError_t status, const char* what);

}  // namespace relulab::cuda
