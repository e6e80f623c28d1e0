// The training loop: determinism, bit-identical resume, NaN handling, checkpoint integrity, and
// an end-to-end run on Fashion-MNIST.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "blob_data.hpp"
#include "relulab/data/dataset.hpp"
#include "relulab/random.hpp"
#include "relulab/threads.hpp"
#include "relulab/train/trainer.hpp"

namespace relulab::train {
namespace {

namespace fs = std::filesystem;

using testing::blobs;

data::TrainTest blob_sets() {
  return {blobs(600, 1), blobs(200, 2)};
}

TrainConfig small_config(const fs::path& out = {}) {
  TrainConfig c;
  c.model = "mlp:32-32";
  c.epochs = 3;
  c.batch = 32;
  c.lr = 0.05f;
  c.out_dir = out;
  return c;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("relulab_train_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<float> all_weights(nn::Model& model) {
  std::vector<float> w;
  for (nn::Parameter* p : model.net.parameters())
    w.insert(w.end(), p->value.data(), p->value.data() + p->value.size());
  return w;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::unique_ptr<Trainer> make(const TrainConfig& c, data::TrainTest sets = blob_sets()) {
  auto t = Trainer::create(c, std::move(sets));
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return std::move(t).value();
}

TEST(Trainer, LearnsAndIsDeterministicForASeed) {
  auto a = make(small_config());
  auto b = make(small_config());
  ASSERT_TRUE(a->fit().is_ok());
  ASSERT_TRUE(b->fit().is_ok());
  EXPECT_EQ(all_weights(a->model()), all_weights(b->model()));
  ASSERT_EQ(a->history().size(), 3u);
  EXPECT_GT(a->history().back().test.accuracy, 0.8);
  EXPECT_LT(a->history().back().train.loss, a->history().front().train.loss);

  TrainConfig other = small_config();
  other.seed = 2;
  auto c = make(other);
  ASSERT_TRUE(c->fit().is_ok());
  EXPECT_NE(all_weights(a->model()), all_weights(c->model()));
}

TEST(Trainer, ResumeContinuesBitIdentically) {
  for (const char* optimizer : {"sgd", "adam"}) {
    TrainConfig config = small_config(fresh_dir(std::string("resume_") + optimizer));
    config.optimizer = optimizer;
    config.lr = std::string(optimizer) == "adam" ? 0.003f : 0.05f;
    config.schedule = "cosine";
    auto straight = make([&] {
      TrainConfig c = config;
      c.out_dir.clear();
      return c;
    }());
    ASSERT_TRUE(straight->fit().is_ok());

    // A run of 3 epochs interrupted after its first: what it leaves is the epoch-1 checkpoint.
    auto part = make(config);
    ASSERT_TRUE(part->train_epoch().is_ok());
    ASSERT_TRUE(part->save_checkpoint(config.out_dir / "checkpoint.safetensors").is_ok());
    // A fresh process would rebuild from the same configuration and data, then resume.
    auto resumed = make(config);
    ASSERT_TRUE(resumed->resume(config.out_dir / "checkpoint.safetensors").is_ok());
    EXPECT_EQ(resumed->epoch(), 1);
    ASSERT_TRUE(resumed->fit().is_ok());
    EXPECT_EQ(all_weights(straight->model()), all_weights(resumed->model())) << optimizer;
    ASSERT_EQ(resumed->history().size(), 3u);
    EXPECT_EQ(resumed->history().back().test.loss, straight->history().back().test.loss);
    EXPECT_EQ(resumed->history().front().train.loss, straight->history().front().train.loss);
    EXPECT_TRUE(fs::exists(config.out_dir / "metrics.jsonl"));
    EXPECT_TRUE(fs::exists(config.out_dir / "metrics.csv"));
  }
}

TEST(Trainer, DivergenceStopsNamingStepAndCulpritAndKeepsCheckpoint) {
  const fs::path dir = fresh_dir("nan");
  TrainConfig config = small_config(dir);
  config.epochs = 1;
  auto good = make(config);
  ASSERT_TRUE(good->fit().is_ok());
  const std::string before = file_bytes(dir / "checkpoint.safetensors");

  config.epochs = 2;
  config.lr = 1e30f;
  auto bad = make(config);
  ASSERT_TRUE(bad->resume(dir / "checkpoint.safetensors").is_ok());
  const Status s = bad->fit();
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kNumericalError);
  EXPECT_NE(s.message().find("step"), std::string::npos) << s.message();
  const bool names_culprit = s.message().find("loss is") != std::string::npos ||
                             s.message().find("parameter '") != std::string::npos;
  EXPECT_TRUE(names_culprit) << s.message();
  EXPECT_EQ(file_bytes(dir / "checkpoint.safetensors"), before);
}

TEST(Trainer, NanInputStopsOrIsSkipped) {
  data::TrainTest sets = blob_sets();
  sets.train.features[5] = std::nanf("");
  TrainConfig config = small_config();
  config.normalize = false;
  config.epochs = 1;
  auto stop = make(config, sets);
  const Status s = stop->fit();
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("loss"), std::string::npos) << s.message();

  config.on_nan = OnNan::kSkipBatch;
  auto skip = make(config, sets);
  ASSERT_TRUE(skip->fit().is_ok());
  EXPECT_EQ(skip->history().back().skipped_batches, 1);
  for (float w : all_weights(skip->model())) ASSERT_TRUE(std::isfinite(w));
}

// The study's sweeps stop a run at its threshold: fit() ends after the first epoch whose running
// training error is at or below stop_at_train_error, and trains every epoch when none gets there.
TEST(Trainer, StopsAtTheTrainingErrorThreshold) {
  TrainConfig config = small_config();
  config.epochs = 5;
  auto full = make(config);
  ASSERT_TRUE(full->fit().is_ok());
  ASSERT_EQ(full->history().size(), 5u);
  const double err1 = 1.0 - full->history()[0].train.accuracy;
  const double err3 = 1.0 - full->history()[2].train.accuracy;
  ASSERT_LT(err3, err1) << "the blobs must take more than one epoch to learn";

  config.stop_at_train_error = (err1 + err3) / 2;  // crossed after epoch 2 or 3, not epoch 1
  auto stopped = make(config);
  ASSERT_TRUE(stopped->fit().is_ok());
  const auto& h = stopped->history();
  ASSERT_GE(h.size(), 2u);
  ASSERT_LE(h.size(), 3u);
  EXPECT_LE(1.0 - h.back().train.accuracy, config.stop_at_train_error);
  EXPECT_GT(1.0 - h[h.size() - 2].train.accuracy, config.stop_at_train_error);
  // Same seed, same steps: the epochs it did train are those of the full run.
  for (std::size_t i = 0; i < h.size(); ++i)
    EXPECT_EQ(h[i].train.accuracy, full->history()[i].train.accuracy) << i;

  config.stop_at_train_error = 1e-9;  // never reached: every epoch runs
  auto never = make(config);
  ASSERT_TRUE(never->fit().is_ok());
  EXPECT_EQ(never->history().size(), 5u);
}

TEST(Trainer, RejectsBadConfiguration) {
  TrainConfig c = small_config();
  c.stop_at_train_error = 1.0;
  EXPECT_EQ(Trainer::create(c, blob_sets()).status().code(), StatusCode::kInvalidArgument);
  c.stop_at_train_error = std::nan("");
  EXPECT_EQ(Trainer::create(c, blob_sets()).status().code(), StatusCode::kInvalidArgument);
  c = small_config();
  c.lr = -0.1f;
  EXPECT_EQ(Trainer::create(c, blob_sets()).status().code(), StatusCode::kInvalidArgument);
  c = small_config();
  c.optimizer = "rmsprop";
  const Status s = Trainer::create(c, blob_sets()).status();
  EXPECT_NE(s.message().find("rmsprop"), std::string::npos);
  c = small_config();
  c.model = "cnn";  // needs images, the blobs are vectors
  EXPECT_FALSE(Trainer::create(c, blob_sets()).is_ok());
}

TEST(Trainer, CorruptOrTruncatedCheckpointIsRejected) {
  const fs::path dir = fresh_dir("corrupt");
  TrainConfig config = small_config(dir);
  config.epochs = 1;
  ASSERT_TRUE(make(config)->fit().is_ok());
  const fs::path path = dir / "checkpoint.safetensors";
  std::string bytes = file_bytes(path);
  {
    std::string flipped = bytes;
    flipped[flipped.size() - 10] ^= 0x40;
    std::ofstream(dir / "flipped.safetensors", std::ios::binary) << flipped;
    auto t = make(config);
    const Status s = t->resume(dir / "flipped.safetensors");
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("checksum"), std::string::npos) << s.message();
  }
  for (std::size_t keep : {std::size_t{0}, std::size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
    std::ofstream(dir / "short.safetensors", std::ios::binary) << bytes.substr(0, keep);
    auto t = make(config);
    EXPECT_FALSE(t->resume(dir / "short.safetensors").is_ok()) << keep;
  }
  auto loaded = load_model(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  EXPECT_EQ(loaded.value().model->spec, "mlp:32-32");
}

// The end-to-end bar: an MLP passes 85% test accuracy on Fashion-MNIST. Three epochs of
// mlp:256 on the full 60,000 training images with a cosine schedule (about 5 s in Release on 2
// cores), which ends at 88.0-88.1% over seeds 1-3, so a different CPU's rounding (other GEMM
// kernels, other SIMD target) cannot push it under the bar. A constant lr ended within 1% of it
// (84.0% once on CI). Under the sanitizers only 30,000 images: 86.9%.
TEST(Trainer, MlpPasses85PercentOnFashionMnist) {
  auto loaded = data::load_dataset("fashion-mnist");
  if (!loaded) GTEST_SKIP() << loaded.status().message();
  data::TrainTest sets = std::move(loaded).value();
#ifdef RELULAB_SANITIZE_BUILD
  sets.train = data::subset(sets.train, 0, 30000);
#endif
  TrainConfig config;
  config.model = "mlp:256";
  config.epochs = 3;
  config.batch = 64;
  config.lr = 0.05f;
  config.schedule = "cosine";
  auto t = make(config, std::move(sets));
  ASSERT_TRUE(t->fit().is_ok());
  EXPECT_GE(t->history().back().test.accuracy, 0.85);
}

}  // namespace
}  // namespace relulab::train
