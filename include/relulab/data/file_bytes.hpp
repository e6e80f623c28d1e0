// The bytes of a data file, gunzipped when the file is gzip: the one place where the readers touch
// the file system, so that every reader gets the same size limits and the same error messages.
//
// Nothing here trusts the file: a raw file's size is checked against the caller's limit before
// anything is allocated, and a gzip stream's output is capped at that limit while it inflates, so
// a gzip bomb costs at most max_bytes of memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relulab/status.hpp"

namespace relulab::data {

// The most bytes a reader accepts from one file once gunzipped: 4 GiB, more than any data set the
// engine holds in memory, and where a gzip bomb stops.
inline constexpr std::size_t kMaxDataFileBytes = std::size_t{4} << 30;

// True when `bytes` start with the gzip magic number 1f 8b.
bool is_gzip(std::span<const std::uint8_t> bytes) noexcept;

// Inflates a gzip stream (one member, or several concatenated as `gzip -d` accepts). `name` names
// the data in messages. Errors, all corrupt_data: a corrupt stream or data after a member that is
// not another member (naming the compressed byte offset and zlib's reason), a stream that ends
// early, or output past max_bytes. Never holds more than max_bytes of output.
Result<std::vector<std::uint8_t>> gunzip(std::span<const std::uint8_t> compressed,
                                         std::string_view name, std::size_t max_bytes);

// What read_file_bytes returns for a file holding `bytes`: gunzipped when they start with the gzip
// magic, else a copy; corrupt_data when the result would pass max_bytes. For readers that get their
// bytes from memory (the fuzz targets) rather than from a file.
Result<std::vector<std::uint8_t>> decode_bytes(std::span<const std::uint8_t> bytes,
                                               std::string_view name, std::size_t max_bytes);

// The whole contents of `path`, gunzipped when it starts with the gzip magic (the file is then read
// in chunks, never held compressed and gunzipped at once). *gunzipped, when given, says which.
// Errors: io_error when the file cannot be opened or read; corrupt_data for a raw file larger than
// max_bytes (checked before allocating) or a gzip error as in gunzip().
Result<std::vector<std::uint8_t>> read_file_bytes(const std::filesystem::path& path,
                                                  std::size_t max_bytes, bool* gunzipped = nullptr);

// How a reader's messages name a file's contents: "'path'", or "'path' (gunzipped)" so that a byte
// offset is not taken for one into the compressed file.
std::string describe_contents(const std::filesystem::path& path, bool gunzipped);

}  // namespace relulab::data
