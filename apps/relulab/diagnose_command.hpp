// `relulab diagnose CHECKPOINT`: the diagnostics of a trained model, layer by layer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

namespace relulab::cli {

struct DiagnoseOptions {
  std::filesystem::path checkpoint;
  std::string data = "fashion-mnist";
  std::int64_t probe = 10000;  // probe examples drawn from the training set
  bool json = false;
  int threads = 0;  // 0: OpenMP's default
};
CLI::App* add_diagnose_command(CLI::App& app, DiagnoseOptions& options);
// Throws RuntimeError (commands.hpp) when the checkpoint or the data cannot be loaded or do not
// fit each other.
void run_diagnose(const DiagnoseOptions& options);

}  // namespace relulab::cli
