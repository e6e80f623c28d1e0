// What the reader fuzz targets share: the cap on gunzipped bytes, and what every Dataset a reader
// returns must satisfy. A target checks each success and aborts on a violation, so that libFuzzer
// reports wrong results as findings, not only crashes.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

#include "relulab/data/dataset.hpp"

namespace relulab::data::fuzz {

// Small enough that a gzip bomb is stopped in milliseconds.
inline constexpr std::size_t kMaxBytes = std::size_t{1} << 22;

[[noreturn]] inline void violated(const char* what) {
  std::fprintf(stderr, "dataset invariant violated: %s\n", what);
  std::abort();
}

// Labels in [0, num_classes), one per example; finite features, in [0, 1] for images.
inline void check_dataset(const Dataset& data, bool images) {
  if (data.num_classes < 1) violated("num_classes < 1");
  if (static_cast<std::int64_t>(data.labels.size()) != data.size()) violated("label count");
  if (data.size() < 1) violated("no examples");
  for (const std::int32_t label : data.labels) {
    if (label < 0 || label >= data.num_classes) violated("label out of range");
  }
  for (const float x : data.features.span()) {
    if (!std::isfinite(x)) violated("feature not finite");
    if (images && (x < 0.0f || x > 1.0f)) violated("pixel outside [0, 1]");
  }
}

}  // namespace relulab::data::fuzz
