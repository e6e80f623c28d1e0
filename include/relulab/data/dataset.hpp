// A labelled data set in memory, and what training does with one: normalisation, a validation
// split, a deterministic order per epoch, and gathering a batch.
//
// Every Dataset returned by a function here or by a reader owns its features (copying the struct
// shares them, as copying a Tensor does). Randomness comes from relulab::Rng and a seed only, so
// the same seed gives the same split and the same epoch orders on every machine.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relulab/status.hpp"
#include "relulab/tensor.hpp"

namespace relulab::data {

struct Dataset {
  Tensor features;                   // [N, C, H, W] images in [0, 1], or [N, F] rows of a CSV file
  std::vector<std::int32_t> labels;  // N labels in [0, num_classes)
  int num_classes = 0;
  std::string source;  // where the examples came from, for messages and reports

  std::int64_t size() const noexcept { return features.rank() == 0 ? 0 : features.dim(0); }
};

// Pixel bytes to floats in [0, 1]: out[i] = pixels[i] / 255. Sizes must match
// (std::invalid_argument otherwise).
void scale_pixels(std::span<const std::uint8_t> pixels, std::span<float> out);

// Per-channel statistics along dimension 1 (the C of [N, C, H, W], each feature of [N, F]).
struct Normalization {
  std::vector<float> mean, stddev;
};

// Mean and population standard deviation of each channel over all examples and positions, summed
// in double in a fixed order (the same result for any thread count). A constant channel gets
// stddev 1, so normalising it gives 0 instead of dividing by zero.
Normalization fit_normalization(const Dataset& data);
// In place: x <- (x - mean[c]) / stddev[c]. Every Dataset sharing these features sees the change.
// Throws std::invalid_argument when the channel counts differ.
void apply_normalization(Dataset& data, const Normalization& norm);

// A copy of examples [begin, begin + count). Throws std::out_of_range outside [0, size()].
Dataset subset(const Dataset& data, std::int64_t begin, std::int64_t count);

// (train, validation): round(size() * fraction) examples drawn without replacement by a
// Fisher-Yates shuffle from Rng(seed) go to validation, the rest to train; each part keeps the
// original relative order. Throws std::invalid_argument unless 0 <= fraction < 1.
std::pair<Dataset, Dataset> split_validation(const Dataset& data, double fraction,
                                             std::uint64_t seed);

// The order in which epoch `epoch` visits examples 0..n-1: identity when !shuffle, else a
// Fisher-Yates shuffle drawn from Rng::derived(seed, epoch). It depends on (seed, epoch) only, not
// on earlier epochs, so a run resumed at any epoch sees the same orders. Throws
// std::invalid_argument when n < 0.
std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch,
                                      bool shuffle);

// x <- features[indices] shaped [B, ...] and y <- labels[indices], B = indices.size(). x keeps its
// storage when it already has that shape (one buffer reused across batches), else gets a new one.
// Throws std::out_of_range on an index outside [0, size()).
void gather_batch(const Dataset& data, std::span<const std::int64_t> indices, Tensor& x,
                  std::vector<std::int32_t>& y);

struct TrainTest {
  Dataset train, test;
};

// A data set by name or path:
//   "fashion-mnist"          Debian's dataset-fashion-mnist, /usr/share/datasets/fashion-mnist
//   "mnist"                  the MNIST files in /usr/share/datasets/mnist,
//                            /usr/local/share/datasets/mnist or ~/.local/share/datasets/mnist
//                            (Debian ships no MNIST package)
//   "mnist:DIR", "fashion-mnist:DIR", or a bare DIR
//                            a directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
//                            t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each raw or .gz)
//   "cifar10:DIR"            data_batch_1.bin .. data_batch_5.bin and test_batch.bin
//   "cifar100:DIR"           train.bin and test.bin, fine labels
//   "TRAIN.csv,TEST.csv"     two CSV files, label in column 0, header auto-detected
// Errors: invalid_argument for an unknown form (listing these), io_error for a missing file,
// and the readers' errors.
Result<TrainTest> load_dataset(std::string_view name_or_path);

}  // namespace relulab::data
