// The in-memory operations on a Dataset: pixel scaling, normalisation (checked against statistics
// computed here in double), subsets, the validation split, epoch orders and batch gathering.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include "relulab/data/dataset.hpp"
#include "relulab/random.hpp"
#include "relulab/threads.hpp"

namespace relulab::data {
namespace {

// n examples of `shape` (after the first dimension); example i has label i and features
// i * 1000 + k for its k-th value, so every row is recognisable.
Dataset numbered(std::int64_t n, Shape shape) {
  shape.insert(shape.begin(), n);
  Dataset d;
  d.features = Tensor(shape);
  const std::size_t row = n == 0 ? 0 : d.features.size() / static_cast<std::size_t>(n);
  for (std::size_t i = 0; i < d.features.size(); ++i) {
    d.features[i] = static_cast<float>((i / row) * 1000 + i % row);
  }
  d.labels.resize(static_cast<std::size_t>(n));
  std::iota(d.labels.begin(), d.labels.end(), 0);
  d.num_classes = static_cast<int>(n);
  d.source = "numbered";
  return d;
}

TEST(ScalePixels, DividesBy255) {
  const std::vector<std::uint8_t> pixels = {0, 1, 128, 254, 255};
  std::vector<float> out(pixels.size());
  scale_pixels(pixels, out);
  for (std::size_t i = 0; i < pixels.size(); ++i)
    EXPECT_EQ(out[i], static_cast<float>(pixels[i]) / 255.0f);
  EXPECT_EQ(out.front(), 0.0f);
  EXPECT_EQ(out.back(), 1.0f);
  std::vector<float> wrong(3);
  EXPECT_THROW(scale_pixels(pixels, wrong), std::invalid_argument);
}

// Mean and population standard deviation of channel c of [N, C, ...], in double.
std::pair<double, double> channel_stats(const Tensor& x, std::int64_t c) {
  const std::int64_t n = x.dim(0), channels = x.dim(1);
  const std::size_t inner = x.size() / static_cast<std::size_t>(n * channels);
  double sum = 0, squares = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < inner; ++k)
      sum += x[static_cast<std::size_t>(i * channels + c) * inner + k];
  }
  const double count = static_cast<double>(static_cast<std::size_t>(n) * inner);
  const double mean = sum / count;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < inner; ++k) {
      const double d = x[static_cast<std::size_t>(i * channels + c) * inner + k] - mean;
      squares += d * d;
    }
  }
  return {mean, std::sqrt(squares / count)};
}

TEST(Normalization, PerChannelMeanZeroStdOne) {
  Dataset d;
  d.features = Tensor({50, 3, 4, 5});
  Rng rng(3);
  const float offset[3] = {0.2f, -7.0f, 100.0f}, scale[3] = {0.1f, 3.0f, 0.01f};
  for (std::size_t i = 0; i < d.features.size(); ++i) {
    const std::size_t c = (i / 20) % 3;
    d.features[i] = offset[c] + scale[c] * rng.normal();
  }
  const Normalization norm = fit_normalization(d);
  ASSERT_EQ(norm.mean.size(), 3u);
  for (std::int64_t c = 0; c < 3; ++c) {
    const auto [mean, stddev] = channel_stats(d.features, c);
    EXPECT_NEAR(norm.mean[c], mean, 1e-6 * (1 + std::fabs(mean)));
    EXPECT_NEAR(norm.stddev[c], stddev, 1e-6 * stddev);
  }
  apply_normalization(d, norm);
  for (std::int64_t c = 0; c < 3; ++c) {
    // The float inputs and the float mean carry a rounding error of about eps * |offset|, which
    // normalising divides by the scale: channel 2 (100 +- 0.01) can only be centred to ~1e-3.
    const double tolerance = 4 * 0x1p-23 * (1 + std::fabs(offset[c]) / scale[c]);
    const auto [mean, stddev] = channel_stats(d.features, c);
    EXPECT_NEAR(mean, 0.0, tolerance) << c;
    EXPECT_NEAR(stddev, 1.0, tolerance) << c;
  }
}

TEST(Normalization, FeaturesOfRowsAndConstantColumns) {
  // [N, F]: every feature is a channel; a constant feature gets stddev 1 and becomes 0.
  Dataset d;
  d.features = Tensor({4, 3});
  const float values[12] = {1, 5, 2, 3, 5, 4, 5, 5, 6, 7, 5, 8};
  std::copy(values, values + 12, d.features.data());
  const Normalization norm = fit_normalization(d);
  EXPECT_EQ(norm.mean, (std::vector<float>{4, 5, 5}));
  EXPECT_FLOAT_EQ(norm.stddev[0], std::sqrt(5.0f));  // deviations -3 -1 1 3: 20 / 4
  EXPECT_EQ(norm.stddev[1], 1.0f);
  apply_normalization(d, norm);
  EXPECT_FLOAT_EQ(d.features[0], -3.0f / std::sqrt(5.0f));
  EXPECT_EQ(d.features[1], 0.0f);
  EXPECT_THROW(apply_normalization(d, Normalization{{0, 0}, {1, 1}}), std::invalid_argument);
}

TEST(Subset, CopiesTheRows) {
  const Dataset d = numbered(6, {2, 2});
  const Dataset s = subset(d, 2, 3);
  EXPECT_EQ(s.features.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(s.labels, (std::vector<std::int32_t>{2, 3, 4}));
  EXPECT_EQ(s.features[0], 2000.0f);
  EXPECT_EQ(s.features[11], 4003.0f);
  EXPECT_FALSE(s.features.shares_storage_with(d.features.rows(2, 3)));
  EXPECT_EQ(subset(d, 6, 0).size(), 0);
  EXPECT_THROW(subset(d, 4, 3), std::out_of_range);
  EXPECT_THROW(subset(d, -1, 1), std::out_of_range);
}

TEST(SplitValidation, SizesDisjointDeterministic) {
  const Dataset d = numbered(100, {3});
  const auto [train, validation] = split_validation(d, 0.2, 42);
  EXPECT_EQ(train.size(), 80);
  EXPECT_EQ(validation.size(), 20);
  std::set<std::int32_t> all(train.labels.begin(), train.labels.end());
  all.insert(validation.labels.begin(), validation.labels.end());
  EXPECT_EQ(all.size(), 100u);  // disjoint, and together every example
  EXPECT_TRUE(std::is_sorted(train.labels.begin(), train.labels.end()));
  EXPECT_TRUE(std::is_sorted(validation.labels.begin(), validation.labels.end()));
  for (std::int64_t i = 0; i < validation.size(); ++i) {  // features travel with their labels
    EXPECT_EQ(validation.features[static_cast<std::size_t>(i) * 3 + 1],
              static_cast<float>(validation.labels[static_cast<std::size_t>(i)] * 1000 + 1));
  }
  EXPECT_EQ(validation.num_classes, 100);
  EXPECT_EQ(split_validation(d, 0.2, 42).second.labels, validation.labels);
  EXPECT_NE(split_validation(d, 0.2, 43).second.labels, validation.labels);
  EXPECT_EQ(split_validation(d, 0.0, 1).first.size(), 100);
  EXPECT_EQ(split_validation(d, 0.004, 1).second.size(), 0);  // round(0.4)
  EXPECT_EQ(split_validation(d, 0.005, 1).second.size(), 1);  // round(0.5) = 1
  EXPECT_THROW(split_validation(d, 1.0, 1), std::invalid_argument);
  EXPECT_THROW(split_validation(d, -0.1, 1), std::invalid_argument);
  EXPECT_THROW(split_validation(d, std::nan(""), 1), std::invalid_argument);
}

TEST(EpochOrder, PermutationDeterministicPerEpoch) {
  const std::int64_t n = 1000;
  const std::vector<std::int64_t> e0 = epoch_order(n, 7, 0, true);
  const std::vector<std::int64_t> e1 = epoch_order(n, 7, 1, true);
  std::vector<std::int64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> identity(n);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(e0, identity);
  EXPECT_NE(e0, e1);
  EXPECT_NE(epoch_order(n, 8, 0, true), e0);
  // Resuming at epoch 1 without having drawn epoch 0 gives the same order.
  EXPECT_EQ(epoch_order(n, 7, 1, true), e1);
  EXPECT_EQ(epoch_order(n, 7, 0, true), e0);
  EXPECT_EQ(epoch_order(n, 7, 3, false), identity);
  EXPECT_TRUE(epoch_order(0, 7, 0, true).empty());
  EXPECT_EQ(epoch_order(1, 7, 0, true), std::vector<std::int64_t>{0});
  EXPECT_THROW(epoch_order(-1, 7, 0, true), std::invalid_argument);

  // The documented algorithm, so that a checkpoint resumed by another build sees the same order:
  // Fisher-Yates from the top with Rng::derived(seed, epoch).below(i + 1).
  Rng rng = Rng::derived(7, 1);
  std::vector<std::int64_t> expected = identity;
  for (std::size_t i = expected.size() - 1; i > 0; --i)
    std::swap(expected[i], expected[rng.below(i + 1)]);
  EXPECT_EQ(e1, expected);
}

TEST(EpochOrder, ShufflesUniformly) {
  // Each of the 6 orders of 3 elements over 6000 seeds: about 1000 each (binomial sd ~ 29).
  std::vector<int> counts(6, 0);
  for (std::uint64_t seed = 0; seed < 6000; ++seed) {
    const std::vector<std::int64_t> o = epoch_order(3, seed, 0, true);
    std::vector<std::int64_t> perm = {0, 1, 2};
    int index = 0;
    while (perm != o && std::next_permutation(perm.begin(), perm.end())) ++index;
    ++counts[static_cast<std::size_t>(index)];
  }
  for (const int c : counts) EXPECT_NEAR(c, 1000, 150);
}

TEST(GatherBatch, CopiesRowsAndReusesBuffer) {
  const Dataset d = numbered(10, {2, 3});
  Tensor x;
  std::vector<std::int32_t> y;
  const std::vector<std::int64_t> indices = {7, 0, 7, 3};
  gather_batch(d, indices, x, y);
  EXPECT_EQ(x.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(y, (std::vector<std::int32_t>{7, 0, 7, 3}));
  for (std::size_t b = 0; b < indices.size(); ++b) {
    for (std::size_t k = 0; k < 6; ++k) {
      EXPECT_EQ(x[b * 6 + k], static_cast<float>(indices[b] * 1000 + static_cast<std::int64_t>(k)));
    }
  }
  const float* buffer = x.data();
  const std::vector<std::int64_t> next = {1, 2, 3, 4};
  gather_batch(d, next, x, y);
  EXPECT_EQ(x.data(), buffer);  // same shape: same storage
  EXPECT_EQ(x[6], 2000.0f);
  const std::vector<std::int64_t> last = {9};
  gather_batch(d, last, x, y);
  EXPECT_EQ(x.shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(x[5], 9005.0f);
  const std::vector<std::int64_t> bad = {0, 10};
  EXPECT_THROW(gather_batch(d, bad, x, y), std::out_of_range);
  const std::vector<std::int64_t> negative = {-1};
  EXPECT_THROW(gather_batch(d, negative, x, y), std::out_of_range);
}

TEST(GatherBatch, LargeBatchesSameOnOneOrFourThreads) {
  // Large enough for the OpenMP path: 512 rows of 3 x 32 x 32.
  const Dataset d = numbered(600, {3, 32, 32});
  const std::vector<std::int64_t> order = epoch_order(600, 5, 2, true);
  const int threads = thread_count();
  Tensor x1, x4;
  std::vector<std::int32_t> y1, y4;
  set_thread_count(1);
  gather_batch(d, std::span(order).first(512), x1, y1);
  set_thread_count(4);
  gather_batch(d, std::span(order).first(512), x4, y4);
  set_thread_count(threads);
  for (std::size_t b = 0; b < 512; ++b) {
    ASSERT_EQ(y4[b], order[b]);
    ASSERT_EQ(x4[b * 3072 + 3071], static_cast<float>(order[b] * 1000 + 3071));
  }
  EXPECT_EQ(y1, y4);
  EXPECT_TRUE(std::equal(x1.span().begin(), x1.span().end(), x4.span().begin()));
}

}  // namespace
}  // namespace relulab::data
