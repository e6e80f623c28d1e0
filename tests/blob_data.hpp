// A small in-memory data set for training tests: three classes in 12 dimensions, each a Gaussian
// blob around its own corner (features j with j % 3 == label shifted by 1.5): learnable in a few
// epochs, not trivially.
#pragma once

#include <cstdint>

#include "relulab/data/dataset.hpp"
#include "relulab/random.hpp"

namespace relulab::testing {

inline data::Dataset blobs(std::int64_t n, std::uint64_t seed) {
  Rng rng(seed);
  data::Dataset d;
  d.features = Tensor({n, 12});
  d.labels.resize(static_cast<std::size_t>(n));
  d.num_classes = 3;
  d.source = "blobs";
  for (std::int64_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::int32_t>(rng.below(3));
    d.labels[static_cast<std::size_t>(i)] = label;
    for (std::int64_t j = 0; j < 12; ++j) {
      const float center = (j % 3 == label) ? 1.5f : 0.0f;
      d.features[static_cast<std::size_t>(i * 12 + j)] = center + rng.normal();
    }
  }
  return d;
}

}  // namespace relulab::testing
