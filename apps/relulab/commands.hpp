// The subcommands of the `relulab` tool. Each one registers its options on the CLI11 app and
// runs from a plain options struct, so main.cpp only wires them together and maps errors to exit
// codes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "relulab/activation.hpp"
#include "relulab/communicator.hpp"
#include "relulab/study/study.hpp"

namespace relulab::cli {

// Exit codes, documented in `relulab --help` and the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;  // could not write files, gnuplot failed, ...
inline constexpr int kExitUsageError = 2;    // unknown flag or activation, bad parameter

// Bad input from the user (exit 2); the message says what was wrong and what is valid.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Something failed while running a valid command (exit 1).
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A RuntimeError that every rank of an MPI job raises at the same point (a NaN stop, a checkpoint
// that rank 0 could not resume from): rank 0 says it and all end with exit 1, where any other
// error on one rank ends the whole job through MPI_Abort.
class SharedRuntimeError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// Activation names and --param NAME=VALUE overrides, as given on the command line. An empty
// name list means every activation in the table.
struct ActivationArgs {
  std::vector<std::string> names;
  std::vector<std::string> params;
};
void add_activation_args(CLI::App& command, ActivationArgs& args);
// One validated spec per selected activation, in the order given. A --param applies to every
// selected activation that has a parameter of that name; naming a parameter none of them has is
// a UsageError, as are unknown activations and values that fail relulab::validate.
std::vector<ActivationSpec> resolve_specs(const ActivationArgs& args);

struct ListOptions {
  bool markdown = false;
};
CLI::App* add_list_command(CLI::App& app, ListOptions& options);
void run_list(const ListOptions& options);

struct PlotOptions {
  ActivationArgs activations;
  std::filesystem::path out_dir = "plots";
  double x_min = -5.0;
  double x_max = 5.0;
  int points = 801;
};
CLI::App* add_plot_command(CLI::App& app, PlotOptions& options);
void run_plot(const PlotOptions& options);

struct BenchOptions {
  ActivationArgs activations;
  bool quick = false;
  int threads = 0;  // 0: OpenMP's default
};
CLI::App* add_bench_command(CLI::App& app, BenchOptions& options);
void run_bench(const BenchOptions& options);

struct TrainOptions {
  std::string model = "mlp:512-512";
  std::string activation = "relu";
  std::vector<std::string> params;  // --param NAME=VALUE for the activation
  std::string init = "he_normal";
  float bias_init = 0.0f;
  std::string data = "fashion-mnist";
  int epochs = 10;
  int batch = 128;
  float lr = 0.05f;
  std::string optimizer = "sgd";
  float momentum = 0.9f;
  bool nesterov = false;
  float weight_decay = 0.0f;
  std::string schedule = "constant";
  std::uint64_t seed = 1;
  int threads = 0;
  std::int64_t train_limit = 0;  // 0: the whole training set
  std::int64_t test_limit = 0;
  std::filesystem::path out_dir = "runs/train";
  bool resume = false;
  std::string on_nan = "stop";
  bool diagnostics = false;
  std::int64_t probe = 10000;
  std::int64_t gradient_every = 50;
};
CLI::App* add_train_command(CLI::App& app, TrainOptions& options);
// Data-parallel over `comm`'s ranks when there are several (mpirun).
void run_train(const TrainOptions& options, Communicator& comm);

struct EvalOptions {
  std::filesystem::path checkpoint;
  std::string data = "fashion-mnist";
  std::int64_t test_limit = 0;
  int threads = 0;
  bool json = false;
  std::filesystem::path logits;  // when set, the logits are written there (safetensors)
};
CLI::App* add_eval_command(CLI::App& app, EvalOptions& options);
void run_eval(const EvalOptions& options);

// Defaults are the library's (relulab::study::StudyOptions), so that --help shows what runs.
struct StudyCommandOptions {
  bool quick = false;
  std::string data = study::StudyOptions{}.data;
  int seeds = study::StudyOptions{}.seeds;
  std::filesystem::path out_dir = study::StudyOptions{}.out_dir;
  int threads = 0;
};
CLI::App* add_study_command(CLI::App& app, StudyCommandOptions& options);
// The runs spread over `comm`'s ranks when there are several (mpirun).
void run_study(const StudyCommandOptions& options, const std::string& command_line,
               Communicator& comm);

}  // namespace relulab::cli
