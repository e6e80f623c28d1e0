// Single-precision matrix product on row-major matrices, through OpenBLAS (cblas_sgemm), which
// runs on the same OpenMP threads as the kernels (relulab links the OpenMP build of OpenBLAS).
//
//   C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C[m, n],  op(M) = M or M^T.
//
// Inside an OpenMP parallel region it runs on the calling thread alone: one GEMM per thread.
//
// lda, ldb, ldc are the row strides of A, B and C as stored. Sizes are not checked: callers (the
// layers) check shapes before they get here.
#pragma once

#include <cstddef>

namespace relulab {

enum class Transpose { kNo, kYes };

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc);

}  // namespace relulab
