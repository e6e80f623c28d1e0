#include "relulab/data/csv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "relulab/data/file_bytes.hpp"

namespace relulab::data {
namespace {

// A field as messages show it: quoted, cut after 40 characters, other bytes than printable ASCII
// as '?', so that a binary file gives a readable message.
std::string show(std::string_view field) {
  constexpr std::size_t kShown = 40;
  std::string s = "'";
  for (const char c : field.substr(0, kShown)) s += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s + (field.size() > kShown ? "...'" : "'");
}

bool is_blank(char c, char delimiter) {
  return (c == ' ' || c == '\t') && c != delimiter;
}

std::string_view trim(std::string_view s, char delimiter) {
  while (!s.empty() && is_blank(s.front(), delimiter)) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back(), delimiter)) s.remove_suffix(1);
  return s;
}

void split(std::string_view line, char delimiter, std::vector<std::string_view>& fields) {
  fields.clear();
  for (;;) {
    const std::size_t at = line.find(delimiter);
    fields.push_back(trim(line.substr(0, at), delimiter));
    if (at == std::string_view::npos) return;
    line.remove_prefix(at + 1);
  }
}

enum class Parsed { kNumber, kNotNumber, kOutOfRange };

// A decimal or scientific number as std::from_chars reads it (also "nan" and "inf"), with an
// optional leading '+'; the whole field must be the number.
Parsed parse_number(std::string_view field, double& value) {
  if (field.size() > 1 && field[0] == '+' && field[1] != '-' && field[1] != '+') {
    field.remove_prefix(1);
  }
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (ec == std::errc::result_out_of_range && ptr == end) return Parsed::kOutOfRange;
  return ec == std::errc() && ptr == end ? Parsed::kNumber : Parsed::kNotNumber;
}

Status check_options(const CsvOptions& options) {
  if (options.num_classes < 0 || options.num_classes > kMaxCsvClasses) {
    return Status::invalid_argument(
        fmt::format("CSV: expected num_classes in 0..{} (0 = the largest label + 1), found {}",
                    kMaxCsvClasses, options.num_classes));
  }
  if (options.label_column < -1) {
    return Status::invalid_argument(fmt::format(
        "CSV: expected a label column >= 0, or -1 for the last, found {}", options.label_column));
  }
  if (std::strchr("0123456789.+-\r\n", options.delimiter) != nullptr || options.delimiter == 0) {
    return Status::invalid_argument(
        fmt::format("CSV: the delimiter must not be part of a number or a line end, found {}",
                    show(std::string_view(&options.delimiter, 1))));
  }
  return Status::ok();
}

// Where a field is, for messages: "'file': line 7, column 3".
struct Where {
  std::string_view name;
  std::size_t line, column;
};

std::string at(const Where& w) {
  return fmt::format("{}: line {}, column {}", w.name, w.line, w.column);
}

Result<std::int32_t> parse_label(std::string_view field, int num_classes, const Where& where) {
  double v = 0;
  const Parsed parsed = parse_number(field, v);
  if (parsed != Parsed::kNumber || !std::isfinite(v) || v < 0 || v != std::floor(v)) {
    return Status::corrupt_data(
        fmt::format("{}: expected a non-negative integer label, found {}", at(where), show(field)));
  }
  const int limit = num_classes > 0 ? num_classes : kMaxCsvClasses;
  if (v >= limit) {
    return Status::corrupt_data(
        fmt::format("{}: expected a label in 0..{}{}, found {}", at(where), limit - 1,
                    num_classes > 0 ? "" : " (the most classes accepted)", show(field)));
  }
  return static_cast<std::int32_t>(v);
}

Result<float> parse_feature(std::string_view field, const Where& where) {
  double v = 0;
  const Parsed parsed = parse_number(field, v);
  if (parsed == Parsed::kNotNumber) {
    return Status::corrupt_data(
        fmt::format("{}: expected a number, found {}", at(where), show(field)));
  }
  if (parsed == Parsed::kOutOfRange || !std::isfinite(v) ||
      std::fabs(v) > std::numeric_limits<float>::max()) {
    return Status::numerical_error(
        fmt::format("{}: expected a finite float feature, found {}", at(where), show(field)));
  }
  return static_cast<float>(v);
}

// One data row's label and features appended, or the first field's error.
Status append_row(std::span<const std::string_view> fields, std::size_t label, int num_classes,
                  Where where, std::vector<float>& features, std::vector<std::int32_t>& labels) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    where.column = i + 1;
    if (i == label) {
      const Result<std::int32_t> value = parse_label(fields[i], num_classes, where);
      if (!value) return value.status();
      labels.push_back(value.value());
    } else {
      const Result<float> value = parse_feature(fields[i], where);
      if (!value) return value.status();
      features.push_back(value.value());
    }
  }
  return Status::ok();
}

}  // namespace

Result<Dataset> read_csv_text(std::string_view text, std::string_view name,
                              const CsvOptions& options) {
  if (Status s = check_options(options); !s) return s;
  std::vector<std::string_view> fields;
  std::vector<float> features;
  std::vector<std::int32_t> labels;
  std::size_t width = 0;       // fields per row, from the first data row
  std::size_t width_line = 0;  // that row's line number
  std::size_t label = 0;       // 0-based label column
  bool first_line = true;
  for (std::size_t line_number = 1; !text.empty(); ++line_number) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    split(line, options.delimiter, fields);
    const std::size_t label_here = options.label_column < 0
                                       ? fields.size() - 1
                                       : static_cast<std::size_t>(options.label_column);

    if (first_line) {
      first_line = false;
      double unused = 0;
      const bool header =
          options.header.value_or(label_here < fields.size() &&
                                  parse_number(fields[label_here], unused) == Parsed::kNotNumber);
      if (header) continue;
    }
    if (width == 0) {
      if (label_here >= fields.size()) {
        return Status::invalid_argument(fmt::format(
            "{}: line {}: label column {} (0-based) does not exist: expected at least {} fields, "
            "found {}",
            name, line_number, label_here, label_here + 1, fields.size()));
      }
      if (fields.size() < 2) {
        return Status::corrupt_data(fmt::format(
            "{}: line {}: expected a label and at least one feature (2 fields or more), found 1 "
            "field (is the delimiter {}?)",
            name, line_number, show(std::string_view(&options.delimiter, 1))));
      }
      width = fields.size();
      width_line = line_number;
      label = label_here;
    } else if (fields.size() != width) {
      return Status::corrupt_data(
          fmt::format("{}: line {}: expected {} fields (as on line {}), found {}", name,
                      line_number, width, width_line, fields.size()));
    }

    const Where where{name, line_number, 0};
    if (Status s = append_row(fields, label, options.num_classes, where, features, labels); !s) {
      return s;
    }
  }
  if (labels.empty()) {
    return Status::corrupt_data(
        fmt::format("{}: expected at least one data row, found none", name));
  }

  Dataset data;
  const auto rows = static_cast<std::int64_t>(labels.size());
  data.features = Tensor::uninitialized({rows, static_cast<std::int64_t>(width - 1)});
  std::memcpy(data.features.data(), features.data(), features.size() * sizeof(float));
  data.num_classes = options.num_classes;
  if (data.num_classes == 0) {
    for (const std::int32_t l : labels) data.num_classes = std::max(data.num_classes, l + 1);
  }
  data.labels = std::move(labels);
  data.source = std::string(name);
  return data;
}

Result<Dataset> read_csv(const std::filesystem::path& file, const CsvOptions& options) {
  if (Status s = check_options(options); !s) return s;
  bool gz = false;
  const Result<std::vector<std::uint8_t>> bytes = read_file_bytes(file, kMaxDataFileBytes, &gz);
  if (!bytes) return bytes.status();
  const std::string_view text(reinterpret_cast<const char*>(bytes.value().data()),
                              bytes.value().size());
  Result<Dataset> data = read_csv_text(text, describe_contents(file, gz), options);
  if (data) data.value().source = file.string();
  return data;
}

}  // namespace relulab::data
