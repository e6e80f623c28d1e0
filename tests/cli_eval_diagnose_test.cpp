// `relulab eval` and `relulab diagnose` on checkpoints that `relulab train` wrote: their figures
// agree with training's own, dead units are found where a bias killed them, and a checkpoint that
// does not fit the data (or is not readable) is an error naming what is wrong, exit code 1.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace {

namespace fs = std::filesystem;

using relulab::testing::CommandResult;
using relulab::testing::read_file;
using relulab::testing::run_cli;
using relulab::testing::shell_word;
using relulab::testing::write_blobs_csv;

class CliCheckpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        fs::path(::testing::TempDir()) / ("relulab_cli_checkpoint_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write_blobs_csv(dir_ / "train.csv", 600, 0);
    write_blobs_csv(dir_ / "test.csv", 200, 10000);
    data_ = shell_word((dir_ / "train.csv").string() + "," + (dir_ / "test.csv").string());
    trained_ = run_cli("train --model mlp:32-32 --epochs 2 --batch 32 --lr 0.05 --data " + data_ +
                       " --out " + shell_word(dir_ / "trained"));
    killed_ = run_cli("train --model mlp:32-32 --epochs 1 --bias-init -50 --data " + data_ +
                      " --out " + shell_word(dir_ / "killed"));
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override {
    ASSERT_EQ(trained_.exit_code, 0) << trained_.output;
    ASSERT_EQ(killed_.exit_code, 0) << killed_.output;
  }
  static std::string checkpoint(const char* run) {
    return shell_word(dir_ / run / "checkpoint.safetensors");
  }
  static nlohmann::json last_epoch(const char* run) {
    std::istringstream lines(read_file(dir_ / run / "metrics.jsonl"));
    std::string line, last;
    while (std::getline(lines, line)) last = line;
    return nlohmann::json::parse(last);
  }

  static inline fs::path dir_;
  static inline std::string data_;
  static inline CommandResult trained_, killed_;
};

TEST_F(CliCheckpointTest, EvalAgreesWithTheLastEpochOfTraining) {
  const CommandResult r = run_cli("eval " + checkpoint("trained") + " --json --data " + data_);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto eval = nlohmann::json::parse(r.output);
  const auto epoch = last_epoch("trained");
  EXPECT_EQ(eval.at("examples").get<int>(), 200);
  EXPECT_GT(eval.at("accuracy").get<double>(), 0.8) << "the blobs are learnable";
  // Same examples, same normalisation (read from the checkpoint): the same count of correct ones.
  EXPECT_DOUBLE_EQ(eval.at("accuracy").get<double>(), epoch.at("test_accuracy").get<double>());
  EXPECT_NEAR(eval.at("loss").get<double>(), epoch.at("test_loss").get<double>(), 1e-5);

  const CommandResult limited =
      run_cli("eval " + checkpoint("trained") + " --test-limit 50 --data " + data_);
  ASSERT_EQ(limited.exit_code, 0) << limited.output;
  EXPECT_NE(limited.output.find("(50 examples): loss "), std::string::npos) << limited.output;
}

TEST_F(CliCheckpointTest, DiagnoseFindsTheUnitsANegativeBiasKilled) {
  const CommandResult dead =
      run_cli("diagnose " + checkpoint("killed") + " --json --data " + data_);
  ASSERT_EQ(dead.exit_code, 0) << dead.output;
  const auto layers = nlohmann::json::parse(dead.output).at("layers");
  ASSERT_EQ(layers.size(), 3u) << "linear, linear, linear";
  // Pre-activations near -50 on every input: every hidden unit of both ReLU layers is dead.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(layers[i].at("activations").at("dead_fraction").get<double>(), 1.0) << i;
    EXPECT_EQ(layers[i].at("activations").at("zero_fraction").get<double>(), 1.0) << i;
  }

  const CommandResult alive =
      run_cli("diagnose " + checkpoint("trained") + " --json --data " + data_);
  ASSERT_EQ(alive.exit_code, 0) << alive.output;
  const auto trained_layers = nlohmann::json::parse(alive.output).at("layers");
  const double dead_fraction = trained_layers[0].at("activations").at("dead_fraction");
  EXPECT_LT(dead_fraction, 0.5);
  EXPECT_EQ(nlohmann::json::parse(alive.output).at("probe_examples").get<int>(), 600);

  const CommandResult table = run_cli("diagnose " + checkpoint("killed") + " --data " + data_);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("linear(12 -> 32, relu)"), std::string::npos) << table.output;
}

TEST_F(CliCheckpointTest, DataThatDoesNotFitTheModelIsRuntimeErrorNamingIt) {
  write_blobs_csv(dir_ / "wide.csv", 30, 0, 10);     // 10 features, the model takes 12
  write_blobs_csv(dir_ / "five.csv", 30, 0, 12, 5);  // label 5, the model has 3 classes
  const struct {
    const char* file;
    std::vector<std::string> parts;
  } misfits[] = {{"wide.csv", {"expects inputs of shape [12]", "has [10]"}},
                 {"five.csv", {"has label 5 (the ", "has 3 classes"}}};
  for (const auto& misfit : misfits) {
    const fs::path csv = dir_ / misfit.file;
    for (const std::string command : {"eval ", "diagnose "}) {
      const CommandResult r = run_cli(command + checkpoint("trained") + " --data " +
                                      shell_word(csv.string() + "," + csv.string()));
      EXPECT_EQ(r.exit_code, 1) << r.output;
      for (const std::string& part : misfit.parts)
        EXPECT_NE(r.output.find(part), std::string::npos) << command << r.output;
    }
  }
}

TEST_F(CliCheckpointTest, MissingOrCorruptCheckpointIsRuntimeErrorNamingIt) {
  const CommandResult missing =
      run_cli("eval " + shell_word(dir_ / "none.safetensors") + " --data " + data_);
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("none.safetensors"), std::string::npos) << missing.output;

  std::string bytes = read_file(dir_ / "trained" / "checkpoint.safetensors");
  bytes[bytes.size() - 7] = static_cast<char>(bytes[bytes.size() - 7] ^ 0x10);
  std::ofstream(dir_ / "flipped.safetensors", std::ios::binary) << bytes;
  const CommandResult flipped =
      run_cli("diagnose " + shell_word(dir_ / "flipped.safetensors") + " --data " + data_);
  EXPECT_EQ(flipped.exit_code, 1) << flipped.output;
  EXPECT_NE(flipped.output.find("checksum mismatch"), std::string::npos) << flipped.output;
}

}  // namespace
