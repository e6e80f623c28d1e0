// Data-parallel training on 2 ranks against one process, run by ctest as
// `mpirun --oversubscribe -np 2 mpi_train_test`. Each rank trains the distributed model and, on
// its own, the single-process one, and compares them.
//
// Tolerance: the two differ only in how the batch's gradient is summed (two half-batch sums
// added, instead of one), so after a few steps every parameter tensor is within
// kRelative x max|value| of the single-process one (seen: about 1e-7). Metrics: losses within
// kRelative, accuracies equal. Across the ranks the parameters are bit-identical.
//
// Every test makes the same collective calls on both ranks in the same order (EXPECT, not
// ASSERT, before the last collective), or a failing rank would leave the other waiting.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "blob_data.hpp"
#include "relulab/mpi/world.hpp"
#include "relulab/random.hpp"
#include "relulab/train/trainer.hpp"
#include "train/data_parallel.hpp"  // parameter_hash

namespace relulab::train {
namespace {

namespace fs = std::filesystem;

constexpr double kRelative = 2e-6;
mpi::World* g_world = nullptr;

using testing::blobs;

// Images [n, 1, 28, 28] for the CNN: class c brightens rows 9c..9c+8.
data::Dataset images(std::int64_t n, std::uint64_t seed) {
  Rng rng(seed);
  data::Dataset d;
  d.features = Tensor({n, 1, 28, 28});
  d.labels.resize(static_cast<std::size_t>(n));
  d.num_classes = 3;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::int32_t>(rng.below(3));
    d.labels[static_cast<std::size_t>(i)] = label;
    for (std::int64_t p = 0; p < 28 * 28; ++p)
      d.features[static_cast<std::size_t>(i * 784 + p)] =
          0.3f * rng.uniform() + (p / 28 / 9 == label ? 0.6f : 0.0f);
  }
  return d;
}

data::TrainTest copy(const data::TrainTest& d) {
  data::TrainTest c = d;
  c.train.features = d.train.features.clone();
  c.test.features = d.test.features.clone();
  return c;
}

TrainConfig config(const std::string& model, int batch, int epochs) {
  TrainConfig c;
  c.model = model;
  c.batch = batch;
  c.epochs = epochs;
  c.lr = 0.05f;
  return c;
}

// Every parameter tensor of `a` within kRelative x max|b| of `b`'s.
void expect_close(nn::Model& a, nn::Model& b) {
  const auto pa = a.net.parameters(), pb = b.net.parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    double scale = 0, worst = 0;
    for (std::size_t k = 0; k < pb[i]->value.size(); ++k) {
      scale = std::max(scale, std::abs(static_cast<double>(pb[i]->value[k])));
      worst = std::max(worst, std::abs(static_cast<double>(pa[i]->value[k]) - pb[i]->value[k]));
    }
    EXPECT_LE(worst, kRelative * scale)
        << pa[i]->name << ": max |difference| " << worst << " against max |value| " << scale;
  }
}

void expect_same_metrics(const EpochMetrics& a, const EpochMetrics& b) {
  EXPECT_EQ(a.step, b.step);
  EXPECT_NEAR(a.train.loss, b.train.loss, kRelative * std::abs(b.train.loss));
  EXPECT_EQ(a.train.accuracy, b.train.accuracy);
  EXPECT_EQ(a.train.examples, b.train.examples);
  EXPECT_NEAR(a.test.loss, b.test.loss, kRelative * std::abs(b.test.loss));
  EXPECT_EQ(a.test.accuracy, b.test.accuracy);
  EXPECT_EQ(a.test.examples, b.test.examples);
  EXPECT_EQ(a.skipped_batches, b.skipped_batches);
}

// Trains `c` for c.epochs on 2 ranks and in one process; compares the two after every epoch.
void compare_runs(const TrainConfig& c, const data::TrainTest& d) {
  auto dist = Trainer::create(c, copy(d), *g_world);
  auto one = Trainer::create(c, copy(d));
  ASSERT_TRUE(dist.is_ok()) << dist.status().message();
  ASSERT_TRUE(one.is_ok()) << one.status().message();
  for (int e = 0; e < c.epochs; ++e) {
    auto md = dist.value()->train_epoch();
    auto mo = one.value()->train_epoch();
    ASSERT_TRUE(md.is_ok()) << md.status().message();
    ASSERT_TRUE(mo.is_ok()) << mo.status().message();
    expect_same_metrics(md.value(), mo.value());
  }
  expect_close(dist.value()->model(), one.value()->model());
  EXPECT_TRUE(g_world->agree(parameter_hash(dist.value()->model())))
      << "the ranks' parameters are not bit-identical";
}

TEST(DataParallel, MlpFiveStepsMatchOneProcess) {
  // 600 examples at batch 128: 5 steps, the last of 88 (44 per rank).
  compare_runs(config("mlp:64-64", 128, 1), {blobs(600, 1), blobs(200, 2)});
}

TEST(DataParallel, MlpWithMomentumAndAdamOverEpochs) {
  TrainConfig c = config("mlp:32-32", 32, 3);
  c.momentum = 0.9f;
  compare_runs(c, {blobs(300, 3), blobs(101, 4)});
  c.optimizer = "adam";
  c.lr = 0.002f;
  compare_runs(c, {blobs(300, 3), blobs(101, 4)});
}

TEST(DataParallel, EmptyShareOnOneRank) {
  // 7 examples at batch 3: batches of 3, 3 and 1; rank 0 gets none of the last.
  compare_runs(config("mlp:8", 3, 2), {blobs(7, 5), blobs(5, 6)});
}

TEST(DataParallel, CnnMatchesOneProcess) {
  // 70 images at batch 32: shares of 16 and 16, then 3 and 3.
  compare_runs(config("cnn:4-8-16", 32, 1), {images(70, 7), images(33, 8)});
}

TEST(DataParallel, NonFiniteLossOnOneRankIsSkippedOnBoth) {
  data::TrainTest d{blobs(200, 9), blobs(50, 10)};
  d.train.features[5 * 12 + 3] = INFINITY;  // example 5: a NaN loss on whichever rank gets it
  TrainConfig c = config("mlp:16", 16, 2);
  c.normalize = false;  // the Inf would make its feature's statistics NaN for every example
  c.on_nan = OnNan::kSkipBatch;
  compare_runs(c, d);

  c.on_nan = OnNan::kStop;
  auto dist = Trainer::create(c, copy(d), *g_world);
  ASSERT_TRUE(dist.is_ok());
  const Status s = dist.value()->fit();
  EXPECT_EQ(s.code(), StatusCode::kNumericalError);
  EXPECT_NE(s.message().find("on rank"), std::string::npos) << s.message();
}

TEST(DataParallel, ResumesOnTwoRanksFromACheckpoint) {
  const fs::path dir = fs::temp_directory_path() / "relulab_mpi_train_test_resume";
  if (g_world->is_root()) fs::remove_all(dir);
  g_world->wait_for_all();
  const data::TrainTest d{blobs(300, 11), blobs(100, 12)};
  TrainConfig c = config("mlp:32", 32, 1);
  c.out_dir = dir;
  {
    auto first = Trainer::create(c, copy(d), *g_world);
    ASSERT_TRUE(first.is_ok());
    EXPECT_TRUE(first.value()->fit().is_ok());
  }
  g_world->wait_for_all();  // rank 0's checkpoint is on disk
  c.epochs = 3;
  auto resumed = Trainer::create(c, copy(d), *g_world);
  ASSERT_TRUE(resumed.is_ok());
  const Status r = resumed.value()->resume(dir / "checkpoint.safetensors");
  EXPECT_TRUE(r.is_ok()) << r.message();
  EXPECT_EQ(resumed.value()->epoch(), 1);
  EXPECT_TRUE(resumed.value()->fit().is_ok());

  TrainConfig plain = c;
  plain.out_dir.clear();
  auto one = Trainer::create(plain, copy(d));
  ASSERT_TRUE(one.is_ok());
  EXPECT_TRUE(one.value()->fit().is_ok());
  expect_close(resumed.value()->model(), one.value()->model());
  EXPECT_TRUE(g_world->agree(parameter_hash(resumed.value()->model())));
  if (g_world->is_root()) {
    ASSERT_EQ(resumed.value()->history().size(), 3u);
    expect_same_metrics(resumed.value()->history().back(), one.value()->history().back());
  }

  // No checkpoint: the same error on both ranks (rank 0 read, and told rank 1).
  auto missing = Trainer::create(c, copy(d), *g_world);
  ASSERT_TRUE(missing.is_ok());
  const Status m = missing.value()->resume(dir / "nothing.safetensors");
  EXPECT_FALSE(m.is_ok());
  EXPECT_NE(m.message().find("nothing.safetensors"), std::string::npos) << m.message();
  g_world->wait_for_all();
  if (g_world->is_root()) fs::remove_all(dir);
}

TEST(DataParallel, DifferentDataOnTheRanksIsRefused) {
  const auto n = static_cast<std::int64_t>(100 + g_world->rank());
  auto t = Trainer::create(config("mlp:8", 10, 1), {blobs(n, 1), blobs(20, 2)}, *g_world);
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("same data"), std::string::npos) << t.status().message();
}

}  // namespace

// gtest's listener for the ranks other than 0: their failed assertions, with the rank.
class FailuresOnly : public ::testing::EmptyTestEventListener {
 public:
  explicit FailuresOnly(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "rank %d: %s:%d: failure\n%s\n", rank_,
                   r.file_name() ? r.file_name() : "?", r.line_number(), r.summary());
  }

 private:
  int rank_;
};

}  // namespace relulab::train

int main(int argc, char** argv) {
  relulab::mpi::World world(argc, argv);
  relulab::train::g_world = &world;
  ::testing::InitGoogleTest(&argc, argv);
  if (world.size() != 2) {
    std::fprintf(stderr, "mpi_train_test: run it as `mpirun -np 2 mpi_train_test`\n");
    return 2;
  }
  // Rank 0 prints gtest's report; rank 1 only its failures, and its result joins rank 0's status.
  if (!world.is_root()) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new relulab::train::FailuresOnly(world.rank()));
  }
  const int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  const std::int64_t failures = world.sum(std::int64_t{failed});
  if (world.is_root() && failures > 0 && failed == 0)
    std::fprintf(stderr, "mpi_train_test: a test failed on rank 1 (its failures are above)\n");
  return failures > 0 ? 1 : 0;
}
