// libFuzzer target for the IDX reader. Input: a 4-byte little-endian length L, then L bytes of the
// images file and the rest as the labels file; each part is gunzipped when it starts with the gzip
// magic, as read_idx does with files.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "reader_fuzzing.hpp"
#include "relulab/data/file_bytes.hpp"
#include "relulab/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace relulab::data;
  if (size < 4) return 0;
  const std::span<const std::uint8_t> input(data, size);
  const std::size_t declared = std::size_t{data[0]} | std::size_t{data[1]} << 8 |
                               std::size_t{data[2]} << 16 | std::size_t{data[3]} << 24;
  const std::size_t split = std::min(declared, size - 4);
  const auto images = decode_bytes(input.subspan(4, split), "images", fuzz::kMaxBytes);
  const auto labels = decode_bytes(input.subspan(4 + split), "labels", fuzz::kMaxBytes);
  if (!images.is_ok() || !labels.is_ok()) return 0;
  const auto dataset = read_idx_bytes(images.value(), "images", labels.value(), "labels");
  if (dataset.is_ok()) fuzz::check_dataset(dataset.value(), true);
  return 0;
}
