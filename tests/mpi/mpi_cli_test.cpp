// `relulab train` and `relulab study` under mpirun, run as a user would: 2 ranks give the same
// metrics as one process, a checkpoint resumes on any number of ranks, a killed rank ends the job
// with a message naming it (and the last checkpoint resumes), and a distributed quick study gives
// the verdicts and run files of a single-process one. Tolerance for metrics: as in
// mpi_train_test.cpp (losses within 2e-6 relative, accuracies equal).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using relulab::testing::CommandResult;
using relulab::testing::read_file;
using relulab::testing::run_cli;
using relulab::testing::shell_word;
using relulab::testing::write_blobs_csv;

constexpr double kRelative = 2e-6;

// `mpirun ... -np N relulab ARGS`, stdout and stderr together.
CommandResult run_mpi(int ranks, const std::string& args) {
  return run_cli(args, std::string(RELULAB_MPIRUN) + " -np " + std::to_string(ranks));
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("relulab_mpi_cli_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<Json> metrics(const fs::path& run) {
  std::vector<Json> lines;
  std::istringstream in(read_file(run / "metrics.jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(Json::parse(line));
  return lines;
}

void expect_same_metrics(const fs::path& a, const fs::path& b) {
  const std::vector<Json> ma = metrics(a), mb = metrics(b);
  ASSERT_EQ(ma.size(), mb.size()) << a << " vs " << b;
  ASSERT_FALSE(ma.empty());
  for (std::size_t i = 0; i < ma.size(); ++i) {
    for (const char* key : {"train_loss", "test_loss"}) {
      const double x = ma[i][key], y = mb[i][key];
      EXPECT_NEAR(x, y, kRelative * std::abs(y)) << key << " at epoch " << i + 1;
    }
    for (const char* key : {"epoch", "step", "train_accuracy", "test_accuracy", "skipped_batches"})
      EXPECT_EQ(ma[i][key], mb[i][key]) << key << " at epoch " << i + 1;
  }
}

class MpiCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    write_blobs_csv(dir_ / "train.csv", 3000, 0);
    write_blobs_csv(dir_ / "test.csv", 500, 3000);
  }
  std::string train_args(const fs::path& out, int epochs) const {
    return "train --data " + shell_word(dir_ / "train.csv") + "," + shell_word(dir_ / "test.csv") +
           " --model mlp:32-32 --batch 64 --lr 0.05 --epochs " + std::to_string(epochs) +
           " --out " + shell_word(out);
  }
  fs::path dir_;
};

TEST_F(MpiCli, TwoRanksTrainLikeOneProcess) {
  const CommandResult one = run_cli(train_args(dir_ / "one", 3) + " --threads 1");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const CommandResult two = run_mpi(2, train_args(dir_ / "two", 3));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  expect_same_metrics(dir_ / "two", dir_ / "one");
  EXPECT_TRUE(fs::exists(dir_ / "two" / "checkpoint.safetensors"));
  // Rank 0 alone prints: one header, one line per epoch.
  EXPECT_NE(two.output.find("2 ranks x 1 threads (data-parallel, MPI)"), std::string::npos)
      << two.output;
  std::size_t headers = 0;
  for (std::size_t at = 0; (at = two.output.find("training sequential", at)) != std::string::npos;
       ++at)
    ++headers;
  EXPECT_EQ(headers, 1u) << two.output;
  // The checkpoint is an ordinary one: eval reads it.
  const CommandResult eval =
      run_cli("eval " + shell_word(dir_ / "two" / "checkpoint.safetensors") + " --data " +
              shell_word(dir_ / "train.csv") + "," + shell_word(dir_ / "test.csv"));
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
}

TEST_F(MpiCli, ResumesWithAnyNumberOfRanks) {
  ASSERT_EQ(run_cli(train_args(dir_ / "whole", 3) + " --threads 1").exit_code, 0);
  // 2 ranks for epoch 1, then 1 process for epoch 2, then 2 ranks for epoch 3.
  const CommandResult a = run_mpi(2, train_args(dir_ / "parts", 1));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const CommandResult b = run_cli(train_args(dir_ / "parts", 2) + " --threads 1 --resume");
  ASSERT_EQ(b.exit_code, 0) << b.output;
  const CommandResult c = run_mpi(2, train_args(dir_ / "parts", 3) + " --resume");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("resumed from"), std::string::npos) << c.output;
  expect_same_metrics(dir_ / "parts", dir_ / "whole");

  // Nothing to resume from: one clear message, exit 1, on every rank count.
  const CommandResult none = run_mpi(2, train_args(dir_ / "empty", 1) + " --resume");
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_NE(none.output.find("checkpoint.safetensors"), std::string::npos) << none.output;
}

std::size_t metrics_lines(const fs::path& run) {
  std::error_code ec;
  if (!fs::exists(run / "metrics.jsonl", ec)) return 0;
  return metrics(run).size();
}

// Processes whose environment says Open MPI rank `rank` and whose command line holds `marker`.
std::vector<pid_t> ranks_with(int rank, const std::string& marker) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = read_file(entry.path() / "cmdline");
    const std::string environ = read_file(entry.path() / "environ");
    if (cmdline.find(marker) == std::string::npos || cmdline.find("mpirun") == 0) continue;
    if (environ.find("OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') != std::string::npos)
      pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return pids;
}

TEST_F(MpiCli, KilledRankEndsTheJobAndTheCheckpointResumes) {
  const fs::path out = dir_ / "killed";
  const fs::path log = dir_ / "mpirun.log";
  const std::string command = std::string("exec ") + RELULAB_MPIRUN + " -np 2 '" RELULAB_CLI "' " +
                              train_args(out, 100000) + " > " + shell_word(log) + " 2>&1";
  const pid_t mpirun = ::fork();
  if (mpirun == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto waited = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  // Two epochs' checkpoints written: the job is well under way.
  while (waited() < 120 && metrics_lines(out) < 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::vector<pid_t> victims = ranks_with(1, out.string());
  ASSERT_EQ(victims.size(), 1u) << "rank 1 not found; log:\n" << read_file(log);
  ASSERT_EQ(::kill(victims[0], SIGKILL), 0);
  const auto killed_at = Clock::now();

  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(mpirun, &status, WNOHANG)) == 0 &&
         std::chrono::duration<double>(Clock::now() - killed_at).count() < 60)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (done == 0) {
    ::kill(mpirun, SIGKILL);
    ::waitpid(mpirun, &status, 0);
    FAIL() << "mpirun still ran 60 s after rank 1 was killed; log:\n" << read_file(log);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - killed_at).count();
  ASSERT_TRUE(WIFEXITED(status) || WIFSIGNALED(status));
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(log);
  const std::string text = read_file(log);
  EXPECT_NE(text.find("rank 1"), std::string::npos) << text;
  EXPECT_LT(seconds, 30.0) << "the job took " << seconds << " s to end";
  std::cout << "mpirun ended " << seconds << " s after rank 1 was killed, saying:\n" << text;

  // The last checkpoint is whole: 2 ranks, then 1, continue from it.
  const int epochs = static_cast<int>(metrics_lines(out));
  const CommandResult two = run_mpi(2, train_args(out, epochs + 1) + " --resume");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("resumed from"), std::string::npos) << two.output;
  const CommandResult one = run_cli(train_args(out, epochs + 2) + " --resume");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  EXPECT_EQ(metrics_lines(out), static_cast<std::size_t>(epochs + 2));
}

TEST(MpiCliCommands, OnlyTrainAndStudyRunUnderMpirun) {
  const CommandResult r = run_mpi(2, "list");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("only `relulab train` and `relulab study` run under mpirun"),
            std::string::npos)
      << r.output;
}

TEST(MpiCliStudy, DistributedQuickStudyGivesTheSameVerdicts) {
  const fs::path dir = fresh_dir("study");
  // Two seeds, so that the second stage (each activation's best lr on seed 2, planned on rank 0
  // from the first stage) runs distributed too. One thread, as each of the 2 ranks on 2 cores: the
  // runs are then the same computations (with 2 threads the GEMM sums in another order, and a run
  // at the edge of divergence, such as silu at lr 0.1, can go either way).
  const CommandResult one =
      run_cli("study --quick --seeds 2 --threads 1 --out " + shell_word(dir / "one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const CommandResult two = run_mpi(2, "study --quick --seeds 2 --out " + shell_word(dir / "two"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("runs to train over 2 ranks"), std::string::npos) << two.output;
  const Json a = Json::parse(read_file(dir / "one" / "verdicts.json"));
  const Json b = Json::parse(read_file(dir / "two" / "verdicts.json"));
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["id"], b[i]["id"]);
    if (a[i]["id"] == "cost") {
      // Kernel timings, measured by rank 0 alone at that moment: no training behind them, and a
      // quick study's 3 trials can land on either side of the verdict's threshold on a loaded
      // machine (it flipped between "holds partly" and "inconclusive" at 1.05 against 1.07).
      EXPECT_TRUE(b[i]["verdict"].is_string()) << b[i];
      continue;
    }
    EXPECT_EQ(a[i]["verdict"], b[i]["verdict"])
        << a[i]["id"] << ": " << a[i]["finding"] << "\n  vs\n"
        << b[i]["finding"];
  }
  // Every file of every run the single process wrote, rank 0 wrote too (from whichever rank
  // trained it), and nothing else.
  auto run_files = [](const fs::path& study) {
    std::set<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(study / "runs"))
      if (e.is_regular_file()) files.insert(fs::relative(e.path(), study).string());
    return files;
  };
  const std::set<std::string> files_one = run_files(dir / "one"),
                              files_two = run_files(dir / "two");
  EXPECT_EQ(files_one, files_two);
  EXPECT_GT(files_one.size(), 50u);
  // A second distributed run reuses every run.
  const CommandResult again =
      run_mpi(2, "study --quick --seeds 2 --out " + shell_word(dir / "two"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output.find("runs to train over"), std::string::npos) << again.output;
}

}  // namespace
