// Runs the built `relulab` binary (path from CMake: RELULAB_CLI) and captures what it prints; and
// what the CLI tests feed it (shell words, small CSV data sets).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace relulab::testing {

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// Runs `relulab ARGS` through the shell; `env` is prepended (e.g. "PATH=/nonexistent").
inline CommandResult run_cli(const std::string& args, const std::string& env = "") {
  const std::string command = env + " '" RELULAB_CLI "' " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  CommandResult result{-1, {}};
  std::array<char, 4096> chunk{};
  while (std::fgets(chunk.data(), static_cast<int>(chunk.size()), pipe) != nullptr) {
    result.output += chunk.data();
  }
  const int status = ::pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

// 'PATH' as one shell word (appended, not "'" + path: GCC 12 reports a false -Wrestrict there).
inline std::string shell_word(const std::filesystem::path& path) {
  std::string s(1, '\'');
  s += path.string();
  s += '\'';
  return s;
}

// A CSV data set for `--data TRAIN.csv,TEST.csv`: rows label,f0..f(features-1) for examples
// [offset, offset + rows); three classes (label i % 3, or `label` for all when >= 0), each a
// different direction plus a deterministic wobble, so that a small MLP learns most of it.
inline void write_blobs_csv(const std::filesystem::path& path, int rows, int offset,
                            int features = 12, int label = -1) {
  std::ofstream out(path);
  for (int i = offset; i < offset + rows; ++i) {
    const int y = label >= 0 ? label : i % 3;
    out << y;
    for (int j = 0; j < features; ++j) out << ',' << (j % 3 == y ? 0.6 : 0.0) + std::sin(i * 7 + j);
    out << '\n';
  }
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace relulab::testing
