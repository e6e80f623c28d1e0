// Runs a test body on every SIMD target that is compiled in and that this CPU supports.
#pragma once

#include <cstdint>

#include <gtest/gtest.h>

#include "hwy/targets.h"

namespace relulab::test {

// Calls body() once per target (AVX3, AVX2, SSE4, ..., the scalar fallback) with the kernels'
// runtime dispatch steered to it, then restores normal dispatch. Failures name the target.
template <class Body>
void for_each_simd_target(const Body& body) {
  for (const std::int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace relulab::test
