#include "relulab/data/dataset.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "relulab/data/cifar.hpp"
#include "relulab/data/csv.hpp"
#include "relulab/data/idx.hpp"
#include "relulab/random.hpp"
#include "relulab/threads.hpp"

namespace relulab::data {
namespace {

// Elements per example: the product of the feature dimensions after the first.
std::size_t example_size(const Tensor& features) {
  return features.dim(0) == 0
             ? shape_size(Shape(features.shape().begin() + 1, features.shape().end()))
             : features.size() / static_cast<std::size_t>(features.dim(0));
}

// Fisher-Yates: for i = n-1 .. 1, swap order[i] with order[j], j uniform in [0, i].
void shuffle(std::vector<std::int64_t>& order, Rng& rng) {
  for (std::size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[rng.below(i)]);
  }
}

Dataset gather(const Dataset& data, std::span<const std::int64_t> indices, std::string source) {
  Dataset out;
  gather_batch(data, indices, out.features, out.labels);
  out.num_classes = data.num_classes;
  out.source = std::move(source);
  return out;
}

}  // namespace

void scale_pixels(std::span<const std::uint8_t> pixels, std::span<float> out) {
  if (pixels.size() != out.size()) {
    throw std::invalid_argument(
        fmt::format("scale_pixels: {} pixels for {} outputs", pixels.size(), out.size()));
  }
  const auto n = static_cast<std::int64_t>(pixels.size());
#pragma omp parallel for schedule(static) \
    num_threads(thread_count()) if (n >= static_cast <std::int64_t>(kParallelThreshold))
  for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(pixels[i]) / 255.0f;
}

// Two passes per channel c over its m = N * H * W values, in double, in index order:
//   mean = sum x / m,  stddev = sqrt(sum (x - mean)^2 / m).
Normalization fit_normalization(const Dataset& data) {
  const Tensor& x = data.features;
  const std::int64_t n = x.dim(0);
  const std::int64_t channels = x.rank() >= 2 ? x.dim(1) : 1;
  const std::int64_t inner = n == 0 ? 0 : static_cast<std::int64_t>(x.size()) / (n * channels);
  std::vector<double> sum(static_cast<std::size_t>(channels), 0.0);
  std::vector<double> squares(static_cast<std::size_t>(channels), 0.0);
  auto for_each = [&](auto&& visit) {
    const float* p = x.data();
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t c = 0; c < channels; ++c) {
        for (std::int64_t k = 0; k < inner; ++k) visit(static_cast<std::size_t>(c), *p++);
      }
    }
  };
  for_each([&](std::size_t c, float v) { sum[c] += v; });
  const double count = static_cast<double>(n * inner);
  Normalization norm;
  for (const double s : sum) norm.mean.push_back(count > 0 ? static_cast<float>(s / count) : 0.0f);
  for_each([&](std::size_t c, float v) {
    const double d = v - static_cast<double>(norm.mean[c]);
    squares[c] += d * d;
  });
  for (const double s : squares) {
    const double stddev = count > 0 ? std::sqrt(s / count) : 0.0;
    norm.stddev.push_back(stddev > 0 ? static_cast<float>(stddev) : 1.0f);
  }
  return norm;
}

void apply_normalization(Dataset& data, const Normalization& norm) {
  const Tensor& x = data.features;
  const std::int64_t n = x.dim(0);
  const std::int64_t channels = x.rank() >= 2 ? x.dim(1) : 1;
  if (norm.mean.size() != static_cast<std::size_t>(channels) ||
      norm.stddev.size() != static_cast<std::size_t>(channels)) {
    throw std::invalid_argument(fmt::format(
        "apply_normalization: features {} have {} channels, the normalisation {} means and {} "
        "standard deviations",
        to_string(x.shape()), channels, norm.mean.size(), norm.stddev.size()));
  }
  const std::int64_t inner = n == 0 ? 0 : static_cast<std::int64_t>(x.size()) / (n * channels);
  const std::int64_t blocks = n * channels;
#pragma omp parallel for schedule(static) \
    num_threads(thread_count()) if (static_cast <std::size_t>(x.size()) >= kParallelThreshold)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const auto c = static_cast<std::size_t>(b % channels);
    float* p = x.data() + b * inner;
    for (std::int64_t k = 0; k < inner; ++k) p[k] = (p[k] - norm.mean[c]) / norm.stddev[c];
  }
}

Dataset subset(const Dataset& data, std::int64_t begin, std::int64_t count) {
  if (begin < 0 || count < 0 || begin > data.size() - count) {
    throw std::out_of_range(fmt::format("subset: examples [{}, {}) of a data set of {}", begin,
                                        begin + count, data.size()));
  }
  std::vector<std::int64_t> indices(static_cast<std::size_t>(count));
  std::iota(indices.begin(), indices.end(), begin);
  return gather(data, indices, data.source);
}

std::pair<Dataset, Dataset> split_validation(const Dataset& data, double fraction,
                                             std::uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    throw std::invalid_argument(
        fmt::format("split_validation: expected a fraction in [0, 1), found {}", fraction));
  }
  const std::int64_t n = data.size();
  const auto validation =
      static_cast<std::ptrdiff_t>(std::llround(static_cast<double>(n) * fraction));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  shuffle(order, rng);
  std::sort(order.begin(), order.begin() + validation);
  std::sort(order.begin() + validation, order.end());
  const std::span<const std::int64_t> all(order);
  return {gather(data, all.subspan(static_cast<std::size_t>(validation)),
                 data.source + " (train split)"),
          gather(data, all.first(static_cast<std::size_t>(validation)),
                 data.source + " (validation split)")};
}

std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch,
                                      bool shuffled) {
  if (n < 0) throw std::invalid_argument(fmt::format("epoch_order: n = {} < 0", n));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (shuffled) {
    Rng rng = Rng::derived(seed, static_cast<std::uint64_t>(epoch));
    shuffle(order, rng);
  }
  return order;
}

void gather_batch(const Dataset& data, std::span<const std::int64_t> indices, Tensor& x,
                  std::vector<std::int32_t>& y) {
  const std::int64_t n = data.size();
  for (const std::int64_t i : indices) {
    if (i < 0 || i >= n) {
      throw std::out_of_range(fmt::format("gather_batch: example {} of a data set of {}", i, n));
    }
  }
  Shape shape = data.features.shape();
  shape[0] = static_cast<std::int64_t>(indices.size());
  if (x.shape() != shape) x = Tensor::uninitialized(shape);
  const std::size_t row = example_size(data.features);
  y.resize(indices.size());
  const auto batch = static_cast<std::int64_t>(indices.size());
#pragma omp parallel for schedule(static) \
    num_threads(thread_count()) if (x.size() >= kParallelThreshold)
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto i = static_cast<std::size_t>(indices[static_cast<std::size_t>(b)]);
    std::memcpy(x.data() + static_cast<std::size_t>(b) * row, data.features.data() + i * row,
                row * sizeof(float));
    y[static_cast<std::size_t>(b)] = data.labels[i];
  }
}

}  // namespace relulab::data

// load_dataset: names and directories to the readers above.
namespace relulab::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";
constexpr const char* kIdxFiles =
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
    "t10k-labels-idx1-ubyte, each raw or .gz";
constexpr const char* kAcceptedForms =
    "fashion-mnist (Debian's dataset-fashion-mnist), mnist, mnist:DIR, fashion-mnist:DIR, "
    "cifar10:DIR (cifar-10-batches-bin), cifar100:DIR (cifar-100-binary), a directory holding "
    "the four IDX files, or TRAIN.csv,TEST.csv";

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// `stem` or `stem`.gz in dir, also as "train-images.idx3-ubyte" (a dot for the second dash), the
// spelling of some mirrors.
std::optional<fs::path> find_idx_file(const fs::path& dir, std::string stem) {
  std::string dotted = stem;
  dotted[dotted.find("-idx")] = '.';
  for (const std::string& name : {stem, stem + ".gz", dotted, dotted + ".gz"}) {
    if (is_file(dir / name)) return dir / name;
  }
  return std::nullopt;
}

bool has_idx_files(const fs::path& dir) {
  return find_idx_file(dir, "train-images-idx3-ubyte").has_value();
}

Result<TrainTest> load_idx_directory(const fs::path& dir, std::string_view what) {
  const char* stems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  fs::path files[4];
  for (int i = 0; i < 4; ++i) {
    const std::optional<fs::path> file = find_idx_file(dir, stems[i]);
    if (!file) {
      return Status::io_error(fmt::format("{}: '{}': no {} there: expected {}", what, dir.string(),
                                          stems[i], kIdxFiles));
    }
    files[i] = *file;
  }
  Result<Dataset> train = read_idx(files[0], files[1]);
  if (!train) return train.status();
  Result<Dataset> test = read_idx(files[2], files[3]);
  if (!test) return test.status();
  return TrainTest{std::move(train).value(), std::move(test).value()};
}

// Every path must be a file, else an io_error naming the first missing one.
Status expect_files(std::span<const fs::path> files, std::string_view what) {
  for (const fs::path& file : files) {
    if (!is_file(file)) {
      return Status::io_error(
          fmt::format("{}: expected the file '{}', found none", what, file.string()));
    }
  }
  return Status::ok();
}

Result<TrainTest> load_cifar10_directory(const fs::path& dir) {
  std::vector<fs::path> train_files;
  for (int i = 1; i <= 5; ++i) train_files.push_back(dir / fmt::format("data_batch_{}.bin", i));
  const fs::path test_file = dir / "test_batch.bin";
  if (Status s = expect_files(train_files, "cifar10"); !s) return s;
  if (Status s = expect_files({&test_file, 1}, "cifar10"); !s) return s;
  Result<Dataset> train = read_cifar10(train_files);
  if (!train) return train.status();
  Result<Dataset> test = read_cifar10({&test_file, 1});
  if (!test) return test.status();
  return TrainTest{std::move(train).value(), std::move(test).value()};
}

Result<TrainTest> load_cifar100_directory(const fs::path& dir) {
  const fs::path files[2] = {dir / "train.bin", dir / "test.bin"};
  if (Status s = expect_files(files, "cifar100"); !s) return s;
  Result<Dataset> train = read_cifar100(files[0]);
  if (!train) return train.status();
  Result<Dataset> test = read_cifar100(files[1]);
  if (!test) return test.status();
  return TrainTest{std::move(train).value(), std::move(test).value()};
}

// Both files with the default options; both get the larger class count, since the test file may
// lack the highest class.
Result<TrainTest> load_csv_pair(const fs::path& train_file, const fs::path& test_file) {
  Result<Dataset> train = read_csv(train_file);
  if (!train) return train.status();
  Result<Dataset> test = read_csv(test_file);
  if (!test) return test.status();
  TrainTest data{std::move(train).value(), std::move(test).value()};
  if (data.train.features.dim(1) != data.test.features.dim(1)) {
    return Status::corrupt_data(
        fmt::format("'{}': expected {} features per row, as in '{}', found {}", test_file.string(),
                    data.train.features.dim(1), train_file.string(), data.test.features.dim(1)));
  }
  data.train.num_classes = data.test.num_classes =
      std::max(data.train.num_classes, data.test.num_classes);
  return data;
}

// Where MNIST may be, since Debian packages only Fashion-MNIST.
std::vector<fs::path> mnist_directories() {
  std::vector<fs::path> dirs = {"/usr/share/datasets/mnist", "/usr/local/share/datasets/mnist"};
  if (const char* home = std::getenv("HOME"))
    dirs.push_back(fs::path(home) / ".local/share/datasets/mnist");
  return dirs;
}

Result<TrainTest> load_directory(const fs::path& dir) {
  if (has_idx_files(dir)) return load_idx_directory(dir, "IDX data set");
  if (is_file(dir / "data_batch_1.bin")) return load_cifar10_directory(dir);
  if (is_file(dir / "train.bin")) return load_cifar100_directory(dir);
  return Status::io_error(fmt::format(
      "'{}': no data set there: expected the four IDX files ({}), CIFAR-10's data_batch_1.bin .. "
      "data_batch_5.bin and test_batch.bin, or CIFAR-100's train.bin and test.bin",
      dir.string(), kIdxFiles));
}

}  // namespace

Result<TrainTest> load_dataset(std::string_view spec) {
  if (spec == "fashion-mnist") {
    if (!fs::is_directory(kFashionMnistDirectory)) {
      return Status::io_error(fmt::format(
          "fashion-mnist: '{}' does not exist: install Debian's dataset-fashion-mnist, or pass "
          "fashion-mnist:DIR",
          kFashionMnistDirectory));
    }
    return load_idx_directory(kFashionMnistDirectory, "fashion-mnist");
  }
  if (spec == "mnist") {
    std::string looked;
    for (const fs::path& dir : mnist_directories()) {
      if (has_idx_files(dir)) return load_idx_directory(dir, "mnist");
      looked += fmt::format("{}'{}'", looked.empty() ? "" : ", ", dir.string());
    }
    return Status::invalid_argument(fmt::format(
        "mnist: Debian ships no MNIST package, and {} hold no MNIST files: pass mnist:DIR or a "
        "directory holding {}",
        looked, kIdxFiles));
  }
  if (spec == "cifar10" || spec == "cifar100") {
    return Status::invalid_argument(fmt::format(
        "{}: expected the directory of the binary version after a colon, e.g. {}:/path/to/{} "
        "(Debian ships no CIFAR package)",
        spec, spec, spec == "cifar10" ? "cifar-10-batches-bin" : "cifar-100-binary"));
  }
  if (const std::size_t colon = spec.find(':'); colon != std::string_view::npos) {
    const std::string_view kind = spec.substr(0, colon);
    const fs::path dir(spec.substr(colon + 1));
    if (dir.empty()) {
      return Status::invalid_argument(
          fmt::format("'{}': expected a directory after the colon, found none", spec));
    }
    if (kind == "mnist" || kind == "fashion-mnist") return load_idx_directory(dir, kind);
    if (kind == "cifar10") return load_cifar10_directory(dir);
    if (kind == "cifar100") return load_cifar100_directory(dir);
  }
  if (const std::size_t comma = spec.find(','); comma != std::string_view::npos) {
    return load_csv_pair(fs::path(spec.substr(0, comma)), fs::path(spec.substr(comma + 1)));
  }
  if (std::error_code ec; !spec.empty() && fs::is_directory(fs::path(spec), ec)) {
    return load_directory(fs::path(spec));
  }
  return Status::invalid_argument(
      fmt::format("unknown data set '{}': expected {}", spec, kAcceptedForms));
}

}  // namespace relulab::data
