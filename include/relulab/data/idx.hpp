// IDX files (the MNIST and Fashion-MNIST format): a big-endian magic number 0x000008RR (type 0x08 =
// unsigned byte, RR = rank), RR big-endian 32-bit dimension sizes, then the bytes in row-major
// order. Images have rank 3 [N, H, W], labels rank 1 [N].
//
// No size field is trusted: the dimension product is checked for overflow and must equal the bytes
// actually present (no truncated data, no trailing bytes), the two files must hold the same count,
// and every label must be below num_classes. Every error is a corrupt_data Status naming the file,
// the byte offset, and what was expected against what was found.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "relulab/data/dataset.hpp"
#include "relulab/status.hpp"

namespace relulab::data {

// Reads an images file and a labels file, each raw or gzip (read_file_bytes): features
// [N, 1, H, W] = pixel / 255, labels as stored. invalid_argument unless 1 <= num_classes <= 256.
Result<Dataset> read_idx(const std::filesystem::path& images, const std::filesystem::path& labels,
                         int num_classes = 10);

// The same from bytes already in memory (gunzipped); the names stand for the files in messages.
Result<Dataset> read_idx_bytes(std::span<const std::uint8_t> images, std::string_view images_name,
                               std::span<const std::uint8_t> labels, std::string_view labels_name,
                               int num_classes = 10);

}  // namespace relulab::data
