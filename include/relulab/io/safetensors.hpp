// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), with a
// CRC-32 of the data so that a corrupt or truncated checkpoint is an error, not a silently
// different model.
//
// Layout: an 8-byte little-endian header length N, N bytes of a JSON object
//   {"<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<value>", ...}}
// padded with spaces, then the data section; offsets are bytes from the start of the data
// section, and the tensors tile it exactly (no overlap, no hole, nothing after the last one).
//
// Writing: F32 little-endian, the header padded to a multiple of 8 bytes (so every tensor is
// 8-byte aligned in the file), tensors in the order given, written through AtomicFile. The writer
// sets the metadata "relulab.format" = "1" and "relulab.crc32" = the zlib CRC-32 of the data
// section as 8 lowercase hex digits, replacing any values the caller passed under those keys.
//
// Reading: F32, and F16, BF16 and F64 converted to float (F64 rounds to nearest; values beyond the
// float range become +-inf). A file that carries "relulab.crc32" must match it; files from other
// tools (without it) are read without a check. Nothing in the file is trusted: every size is
// checked against the bytes actually present before anything is allocated, so memory grows only
// with the bytes actually read: the tensors take at most twice the data section (F16 and BF16
// widen to float), the parsed header a small multiple of its length (about 15x for a header of
// many tiny tensors), and time is linear in the file size.
//
// Error behaviour: io_error when the file cannot be opened, read or written (naming the path and
// strerror); corrupt_data when the contents contradict the format (naming the file, the byte offset
// or the tensor, and what was expected); invalid_argument for a bad tensor list given to the
// writer (duplicate names, the reserved name "__metadata__", text that is not UTF-8).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relulab/status.hpp"
#include "relulab/tensor.hpp"

namespace relulab::io {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // includes "relulab.crc32" when the file has it
};

// The largest header accepted, as in the reference implementation: real headers are kilobytes.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

Status write_safetensors(const std::filesystem::path& path,
                         const std::vector<std::pair<std::string, Tensor>>& tensors,
                         std::map<std::string, std::string> metadata = {});

Result<SafetensorsFile> read_safetensors(const std::filesystem::path& path);

// The same checks on bytes in memory; `name_for_errors` stands for the file name in messages.
Result<SafetensorsFile> parse_safetensors(std::span<const std::uint8_t> bytes,
                                          std::string_view name_for_errors);

}  // namespace relulab::io
