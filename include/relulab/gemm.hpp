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

// OpenBLAS 0.3.21 (Debian 12) does not recognise AMD Zen 4 and later and runs its Haswell (AVX2)
// kernels there; its SkylakeX (AVX-512) kernels run the same GEMMs about 1.7x faster on those
// CPUs. The kernel set is chosen when libopenblas loads, from OPENBLAS_CORETYPE, so only a fresh
// process can change it: programs call this first thing in main() and, when it returns true,
// re-execute themselves with OPENBLAS_CORETYPE=SkylakeX set (it returns false once set).
bool gemm_wants_avx512_coretype() noexcept;
// When gemm_wants_avx512_coretype(): sets OPENBLAS_CORETYPE=SkylakeX and re-executes
// /proc/self/exe with argv (does not return on success); otherwise, or if exec fails, returns.
void reexec_for_avx512_gemm(char** argv) noexcept;

}  // namespace relulab
