// `relulab train` killed with SIGKILL while it writes a checkpoint, then resumed: the previous
// checkpoint is intact, and the resumed run ends with exactly the weights and optimiser state of a
// run that was never interrupted.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli_runner.hpp"
#include "relulab/io/safetensors.hpp"

namespace {

namespace fs = std::filesystem;

using relulab::testing::CommandResult;
using relulab::testing::run_cli;
using relulab::testing::shell_word;
using relulab::testing::write_blobs_csv;

// Starts `relulab ARGS...` (no shell, so that the pid is relulab's), output discarded.
pid_t spawn_cli(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>(RELULAB_CLI)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (std::freopen("/dev/null", "w", stdout) == nullptr) ::_exit(126);
    if (std::freopen("/dev/null", "w", stderr) == nullptr) ::_exit(126);
    ::execv(RELULAB_CLI, argv.data());
    ::_exit(127);
  }
  return pid;
}

// The temporary file relulab's atomic write of `target` uses, if one exists now.
fs::path temp_of(const fs::path& target) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(target.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(target.filename().string() + ".tmp-")) return entry.path();
  }
  return {};
}

TEST(CheckpointKill, SigkillWhileWritingCheckpointLosesNothing) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("relulab_checkpoint_kill_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_blobs_csv(dir / "train.csv", 3000, 0, 64);
  write_blobs_csv(dir / "test.csv", 300, 100000, 64);
  // A 4.5 MB network and as much momentum: a checkpoint takes milliseconds to write and sync.
  const std::vector<std::string> args = {
      "train",   "--data",        (dir / "train.csv").string() + "," + (dir / "test.csv").string(),
      "--model", "mlp:1024-1024", "--epochs",
      "3",       "--batch",       "100",
      "--lr",    "0.01",          "--threads",
      "1"};
  auto joined = [&](const fs::path& out) {
    std::string s;
    for (const std::string& a : args) s += shell_word(a) + " ";
    return s + "--out " + shell_word(out);
  };

  const CommandResult straight = run_cli(joined(dir / "straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;

  // Kill the run once its epoch-1 checkpoint exists and the epoch-2 one is being written; the
  // rename can beat the kill, so try again until the temporary file outlives the writer.
  const fs::path killed = dir / "killed";
  const fs::path checkpoint = killed / "checkpoint.safetensors";
  bool mid_write = false;
  for (int attempt = 0; attempt < 5 && !mid_write; ++attempt) {
    fs::remove_all(killed);
    std::vector<std::string> run = args;
    run.insert(run.end(), {"--out", killed.string()});
    const pid_t pid = spawn_cli(run);
    ASSERT_GT(pid, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    int status = 0;
    bool exited = false;
    while (!exited && std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(checkpoint) && !temp_of(checkpoint).empty()) break;
      exited = ::waitpid(pid, &status, WNOHANG) == pid;
    }
    ASSERT_FALSE(exited) << "training ended before the second checkpoint could be interrupted";
    ::kill(pid, SIGKILL);
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    mid_write = !temp_of(checkpoint).empty();
  }
  ASSERT_TRUE(mid_write) << "never caught the writer between open and rename";

  // What the kill left: the epoch-1 checkpoint, whole (its checksum verifies on reading).
  const auto previous = relulab::io::read_safetensors(checkpoint);
  ASSERT_TRUE(previous.is_ok()) << previous.status().message();

  const CommandResult resumed = run_cli(joined(killed) + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("at epoch 1 "), std::string::npos) << resumed.output;

  const auto expected = relulab::io::read_safetensors(dir / "straight" / "checkpoint.safetensors");
  const auto got = relulab::io::read_safetensors(checkpoint);
  ASSERT_TRUE(expected.is_ok()) << expected.status().message();
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  ASSERT_EQ(expected.value().tensors.size(), got.value().tensors.size());
  for (const auto& [name, tensor] : expected.value().tensors) {
    const auto it = got.value().tensors.find(name);
    ASSERT_NE(it, got.value().tensors.end()) << name;
    ASSERT_EQ(tensor.size(), it->second.size()) << name;
    EXPECT_TRUE(std::equal(tensor.data(), tensor.data() + tensor.size(), it->second.data(),
                           [](float a, float b) {
                             return std::bit_cast<std::uint32_t>(a) ==
                                    std::bit_cast<std::uint32_t>(b);
                           }))
        << name << " differs from the uninterrupted run";
  }
  fs::remove_all(dir);
}

}  // namespace
