// libFuzzer target for the CSV reader. Input: one byte of options (bits 0-1 the delimiter , ; tab
// space; bits 2-3 header auto / yes / no / auto; bits 4-5 label column 0 / last / 1 / 0; bit 6
// num_classes 0 or 10), then the file, gunzipped when it starts with the gzip magic, as read_csv
// does with files.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "reader_fuzzing.hpp"
#include "relulab/data/csv.hpp"
#include "relulab/data/file_bytes.hpp"

namespace {

relulab::data::CsvOptions options_from(std::uint8_t bits) {
  constexpr char kDelimiters[4] = {',', ';', '\t', ' '};
  constexpr std::optional<bool> kHeaders[4] = {std::nullopt, true, false, std::nullopt};
  constexpr int kLabelColumns[4] = {0, -1, 1, 0};
  relulab::data::CsvOptions options;
  options.delimiter = kDelimiters[bits & 3];
  options.header = kHeaders[(bits >> 2) & 3];
  options.label_column = kLabelColumns[(bits >> 4) & 3];
  options.num_classes = (bits & 0x40) != 0 ? 10 : 0;
  return options;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace relulab::data;
  if (size < 1) return 0;
  const auto bytes = decode_bytes(std::span(data + 1, size - 1), "table.csv", fuzz::kMaxBytes);
  if (!bytes.is_ok()) return 0;
  const std::string_view text(reinterpret_cast<const char*>(bytes.value().data()),
                              bytes.value().size());
  const auto dataset = read_csv_text(text, "table.csv", options_from(data[0]));
  if (dataset.is_ok()) fuzz::check_dataset(dataset.value(), false);
  return 0;
}
