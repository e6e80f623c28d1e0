// libFuzzer target for the CIFAR readers. Input: one byte choosing the format (modulo 3: CIFAR-10,
// CIFAR-100 fine, CIFAR-100 coarse labels), then the file, gunzipped when it starts with the gzip
// magic, as read_cifar10 and read_cifar100 do with files.
#include <cstddef>
#include <cstdint>
#include <span>

#include "reader_fuzzing.hpp"
#include "relulab/data/cifar.hpp"
#include "relulab/data/file_bytes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace relulab::data;
  if (size < 1) return 0;
  constexpr CifarLabels kFormats[3] = {CifarLabels::kCifar10, CifarLabels::kCifar100Fine,
                                       CifarLabels::kCifar100Coarse};
  const CifarLabels format = kFormats[data[0] % 3];
  const auto bytes = decode_bytes(std::span(data + 1, size - 1), "batch", fuzz::kMaxBytes);
  if (!bytes.is_ok()) return 0;
  const auto dataset = read_cifar_bytes(bytes.value(), "batch", format);
  if (dataset.is_ok()) fuzz::check_dataset(dataset.value(), true);
  return 0;
}
