// The binary versions of CIFAR-10 and CIFAR-100: a file is a sequence of fixed-size records, each
// label byte(s) then 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32 x 32 row-major).
//   CIFAR-10:  1 label byte (0..9)                           + 3072 = 3073 bytes per record
//   CIFAR-100: coarse label (0..19), fine label (0..99) byte + 3072 = 3074 bytes per record
//
// The file size must be a whole, nonzero multiple of the record size (else the error names the
// offset of the partial record), and every label byte is range-checked, both of CIFAR-100's. Every
// error is a corrupt_data Status naming the file, the byte offset, and what was expected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "relulab/data/dataset.hpp"
#include "relulab/status.hpp"

namespace relulab::data {

enum class CifarLabels {
  kCifar10,         // 10 classes
  kCifar100Fine,    // 100 classes, the second label byte
  kCifar100Coarse,  // 20 superclasses, the first label byte
};

// CIFAR-10 batch files (e.g. data_batch_1.bin .. data_batch_5.bin), concatenated in the order
// given: features [N, 3, 32, 32] = pixel / 255. Files may be raw or gzip. invalid_argument when
// `batch_files` is empty.
Result<Dataset> read_cifar10(std::span<const std::filesystem::path> batch_files);

// A CIFAR-100 file (train.bin or test.bin), fine (100) or coarse (20) labels.
Result<Dataset> read_cifar100(const std::filesystem::path& file, bool fine_labels = true);

// The same from bytes already in memory (gunzipped); `name` stands for the file in messages.
Result<Dataset> read_cifar_bytes(std::span<const std::uint8_t> bytes, std::string_view name,
                                 CifarLabels labels);

}  // namespace relulab::data
