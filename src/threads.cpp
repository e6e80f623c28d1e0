#include "relulab/threads.hpp"

#include <omp.h>

namespace relulab {

int thread_count() noexcept {
  return omp_get_max_threads();
}

void set_thread_count(int n) noexcept {
  omp_set_num_threads(n < 1 ? 1 : n);
}

}  // namespace relulab
