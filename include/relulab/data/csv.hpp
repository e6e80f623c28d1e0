// CSV files of labelled rows: one integer label column and numeric feature columns, e.g. the
// Kaggle MNIST CSVs or UCI tables. Fields are split on a single delimiter (no quoting); spaces and
// tabs around a field are ignored unless they are the delimiter; empty lines are skipped; "\r\n"
// line ends are accepted.
//
// Every row must have as many fields as the first data row; features must be finite numbers;
// labels non-negative integers below num_classes. Errors name the file, the 1-based line and
// column, and what was expected against what was found: corrupt_data for a malformed row or label,
// numerical_error for a NaN or infinite feature, invalid_argument for bad options.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "relulab/data/dataset.hpp"
#include "relulab/status.hpp"

namespace relulab::data {

// Labels above this are refused (a typo, not a class), whatever num_classes says.
inline constexpr int kMaxCsvClasses = 1 << 16;

struct CsvOptions {
  // nullopt: the first non-empty line is a header when its label field is not a number.
  std::optional<bool> header;
  char delimiter = ',';
  int label_column = 0;  // 0-based; -1 = the last column
  int num_classes = 0;   // 0: the largest label + 1; else 1..kMaxCsvClasses
};

// Features [N, F] (F = fields - 1, at least 1), labels from the label column. The file may be raw
// or gzip.
Result<Dataset> read_csv(const std::filesystem::path& file, const CsvOptions& options = {});

// The same from text in memory; `name` stands for the file in messages.
Result<Dataset> read_csv_text(std::string_view text, std::string_view name,
                              const CsvOptions& options = {});

}  // namespace relulab::data
