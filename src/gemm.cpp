#include "relulab/gemm.hpp"

#include <cblas.h>

#include <unistd.h>

#include <omp.h>
#include <cstdlib>
#include <string_view>

#include "relulab/threads.hpp"

namespace relulab {

bool gemm_wants_avx512_coretype() noexcept {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return false;
  const std::string_view core = openblas_get_corename();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return avx512 && (core == "Haswell" || core == "Zen");
}

void reexec_for_avx512_gemm(char** argv) noexcept {
  if (!gemm_wants_avx512_coretype()) return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  execv("/proc/self/exe", argv);
  // exec failed: carry on with the kernels already loaded.
}

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  // OpenBLAS keeps its own thread setting; follow relulab's so that one knob governs both. Inside
  // an active OpenMP parallel region (a layer that splits its batch over threads) the OpenMP build
  // of OpenBLAS runs on the calling thread alone, and setting its global count there would race.
  if (!omp_in_parallel()) openblas_set_num_threads(thread_count());
  cblas_sgemm(CblasRowMajor, trans_a == Transpose::kYes ? CblasTrans : CblasNoTrans,
              trans_b == Transpose::kYes ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda),
              b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace relulab
