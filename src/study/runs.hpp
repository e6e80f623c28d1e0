// The runs of the study: a training configuration, run once and cached on disk.
//
// A run writes DIR/runs/<id>/{metrics.jsonl, metrics.csv, diagnostics.jsonl, gradients.csv,
// checkpoint.safetensors} through the trainer and the diagnostics recorder, then result.json (its
// configuration and outcome) last. A later study with the same configuration reads the files back
// instead of training again; the report reads every number from them either way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "relulab/communicator.hpp"
#include "relulab/data/dataset.hpp"
#include "relulab/status.hpp"
#include "relulab/train/trainer.hpp"

namespace relulab::study {

struct RunSpec {
  std::string id;  // a path below DIR/runs, e.g. "convergence/tanh/seed-1"
  train::TrainConfig config;
  std::int64_t train_limit = 0;  // first N training examples (0: all)
  std::int64_t test_limit = 0;
  bool diagnostics = false;
  std::int64_t probe_examples = 2000;
  std::int64_t gradient_every = 50;
};

// One line of metrics.jsonl.
struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0, seconds = 0;
};

// One line of diagnostics.jsonl: one layer at one epoch (0 = at initialisation).
struct LayerRecord {
  int epoch = 0;
  std::size_t layer_index = 0;
  std::string layer, activation;
  double dead_fraction = 0, near_dead_fraction = 0, zero_fraction = 0, mean = 0, stddev = 0,
         saturated_fraction = 0;
};

// One row of gradients.csv.
struct GradientRecord {
  std::int64_t step = 0;
  std::size_t layer_index = 0;
  double weight_norm = 0, grad_norm = 0, input_grad_norm = 0, update_ratio = 0;
};

struct RunResult {
  std::string id;
  bool completed = false;  // false: training stopped (NaN/Inf); `error` says where
  std::string error;
  std::vector<EpochRecord> epochs;
  std::vector<LayerRecord> layers;
  std::vector<GradientRecord> gradients;
  std::filesystem::path dir;
};

// Called with the fraction of the run done, for the study's progress bar.
using RunProgress = std::function<void(double fraction)>;

// Runs `spec` on `data` unless DIR/runs/<id>/result.json records the same configuration, then
// reads the result back from the run's files.
Result<RunResult> run_or_reuse(const RunSpec& spec, const data::TrainTest& data,
                               const std::filesystem::path& study_dir, const RunProgress& progress);

// The configuration as the canonical JSON text stored in result.json.
std::string run_key(const RunSpec& spec);

// True when DIR/runs/<id>/result.json records this configuration and the run's files read back.
bool is_finished(const RunSpec& spec, const std::filesystem::path& study_dir);

// Under MPI (collective): trains the runs of `list` that are not finished in rank 0's study_dir,
// spread over the ranks (longest first, each to the least loaded rank: `weight` estimates cost).
// Rank 0 trains its share into study_dir, the others into a private scratch folder; their run
// folders are then sent to rank 0, which alone writes them into study_dir (result.json last), so
// that afterwards run_or_reuse on rank 0 finds every run finished. `progress` is rank 0's.
Status run_distributed(const std::vector<RunSpec>& list, const data::TrainTest& data,
                       const std::filesystem::path& study_dir, Communicator& comm,
                       const std::function<double(const RunSpec&)>& weight,
                       const std::function<RunProgress(const RunSpec&)>& progress);

}  // namespace relulab::study
