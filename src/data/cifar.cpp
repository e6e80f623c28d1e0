#include "relulab/data/cifar.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "relulab/data/file_bytes.hpp"
#include "relulab/threads.hpp"

namespace relulab::data {
namespace {

constexpr std::size_t kPixelBytes = 3 * 32 * 32;

// A record's label bytes: how many, which one is the label kept, and the range of each.
struct RecordFormat {
  std::size_t label_bytes;
  std::size_t kept_label;
  int classes[2];
  const char* label_names[2];

  std::size_t record_bytes() const { return label_bytes + kPixelBytes; }
};

RecordFormat record_format(CifarLabels labels) {
  switch (labels) {
    case CifarLabels::kCifar10:
      return {1, 0, {10, 0}, {"CIFAR-10 label", ""}};
    case CifarLabels::kCifar100Fine:
      return {2, 1, {20, 100}, {"CIFAR-100 coarse label", "CIFAR-100 fine label"}};
    case CifarLabels::kCifar100Coarse:
      return {2, 0, {20, 100}, {"CIFAR-100 coarse label", "CIFAR-100 fine label"}};
  }
  return {1, 0, {10, 0}, {"CIFAR-10 label", ""}};
}

// The number of records in `bytes`, after checking that the size is a whole, nonzero number of
// records and that every label byte is in range.
Result<std::int64_t> count_records(std::span<const std::uint8_t> bytes, std::string_view name,
                                   const RecordFormat& format) {
  const std::size_t record = format.record_bytes();
  const std::string layout = fmt::format("{} label byte{} + {} pixel bytes", format.label_bytes,
                                         format.label_bytes == 1 ? "" : "s", kPixelBytes);
  if (bytes.empty()) {
    return Status::corrupt_data(
        fmt::format("{}: byte 0: expected records of {} bytes ({}), found an empty file", name,
                    record, layout));
  }
  if (const std::size_t partial = bytes.size() % record; partial != 0) {
    return Status::corrupt_data(fmt::format(
        "{}: byte {}: partial record: expected {} bytes ({}), found {} (the file is {} bytes, not "
        "a multiple of {})",
        name, bytes.size() - partial, record, layout, partial, bytes.size(), record));
  }
  const std::size_t records = bytes.size() / record;
  for (std::size_t r = 0; r < records; ++r) {
    for (std::size_t b = 0; b < format.label_bytes; ++b) {
      const std::size_t offset = r * record + b;
      if (bytes[offset] >= format.classes[b]) {
        return Status::corrupt_data(
            fmt::format("{}: byte {}: record {}: expected a {} in 0..{}, found {}", name, offset, r,
                        format.label_names[b], format.classes[b] - 1, bytes[offset]));
      }
    }
  }
  return static_cast<std::int64_t>(records);
}

// Checked records to floats and labels: `features` has room for every record's 3072 values.
void decode_records(std::span<const std::uint8_t> bytes, const RecordFormat& format,
                    float* features, std::int32_t* labels) {
  const auto record = static_cast<std::int64_t>(format.record_bytes());
  const auto records = static_cast<std::int64_t>(bytes.size()) / record;
#pragma omp parallel for schedule(static)                                                \
    num_threads(thread_count()) if (records * static_cast <std::int64_t>(kPixelBytes) >= \
                                    static_cast <std::int64_t>(kParallelThreshold))
  for (std::int64_t r = 0; r < records; ++r) {
    const std::uint8_t* rec = bytes.data() + r * record;
    labels[r] = rec[format.kept_label];
    scale_pixels(std::span(rec + format.label_bytes, kPixelBytes),
                 std::span(features + r * static_cast<std::int64_t>(kPixelBytes), kPixelBytes));
  }
}

Dataset allocate(std::int64_t records, const RecordFormat& format) {
  Dataset data;
  data.features = Tensor::uninitialized({records, 3, 32, 32});
  data.labels.resize(static_cast<std::size_t>(records));
  data.num_classes = format.classes[format.kept_label];
  return data;
}

}  // namespace

Result<Dataset> read_cifar_bytes(std::span<const std::uint8_t> bytes, std::string_view name,
                                 CifarLabels labels) {
  const RecordFormat format = record_format(labels);
  const Result<std::int64_t> records = count_records(bytes, name, format);
  if (!records) return records.status();
  Dataset data = allocate(records.value(), format);
  decode_records(bytes, format, data.features.data(), data.labels.data());
  data.source = std::string(name);
  return data;
}

Result<Dataset> read_cifar10(std::span<const std::filesystem::path> batch_files) {
  if (batch_files.empty()) {
    return Status::invalid_argument("CIFAR-10: expected at least one batch file, found none");
  }
  // Every file is read and checked before the features are allocated once for all of them.
  const RecordFormat format = record_format(CifarLabels::kCifar10);
  std::vector<std::vector<std::uint8_t>> contents;
  std::int64_t total = 0;
  std::string source;
  for (const std::filesystem::path& path : batch_files) {
    bool gz = false;
    Result<std::vector<std::uint8_t>> bytes = read_file_bytes(path, kMaxDataFileBytes, &gz);
    if (!bytes) return bytes.status();
    const Result<std::int64_t> records =
        count_records(bytes.value(), describe_contents(path, gz), format);
    if (!records) return records.status();
    total += records.value();
    contents.push_back(std::move(bytes).value());
    source += (source.empty() ? "" : ", ") + path.string();
  }
  Dataset data = allocate(total, format);
  std::int64_t row = 0;
  for (const std::vector<std::uint8_t>& bytes : contents) {
    decode_records(bytes, format, data.features.data() + row * kPixelBytes,
                   data.labels.data() + row);
    row += static_cast<std::int64_t>(bytes.size() / format.record_bytes());
  }
  data.source = std::move(source);
  return data;
}

Result<Dataset> read_cifar100(const std::filesystem::path& file, bool fine_labels) {
  bool gz = false;
  const Result<std::vector<std::uint8_t>> bytes = read_file_bytes(file, kMaxDataFileBytes, &gz);
  if (!bytes) return bytes.status();
  Result<Dataset> data =
      read_cifar_bytes(bytes.value(), describe_contents(file, gz),
                       fine_labels ? CifarLabels::kCifar100Fine : CifarLabels::kCifar100Coarse);
  if (data) data.value().source = file.string();
  return data;
}

}  // namespace relulab::data
