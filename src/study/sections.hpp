// The sections of the study report, each built from the run results read back from disk, and the
// plan of runs they need. One file per group of claims:
//   section_kernels.cpp   1. shapes, 2. cost
//   section_training.cpp  3. convergence, 5. sparsity
//   section_depth.cpp     4. vanishing gradients, 7. initialisation
//   section_dying.cpp     6. dying ReLU (and the born-dead probe of deep narrow nets)
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "relulab/data/dataset.hpp"
#include "relulab/study/report.hpp"
#include "relulab/study/study.hpp"
#include "runs.hpp"

namespace relulab::study {

// Sizes of everything, from --quick, --data and the default.
struct Scale {
  bool quick = false;
  bool cifar = false;  // --data cifar10:DIR: section 3 in Krizhevsky et al.'s setting
  int seeds = 3;       // from StudyOptions::seeds
  std::int64_t train_limit = 10000;
  std::int64_t test_limit = 2000;
  // 3: every activation at every lr on seed 1, until the threshold or the last epoch; each
  // activation's fastest lr then on every seed.
  std::string convergence_model = "cnn:16-32-128";
  std::int64_t convergence_train_limit = 10000;
  double convergence_threshold = 0.10;  // training error
  int convergence_epochs = 8;
  std::vector<float> convergence_lrs{0.003f, 0.01f, 0.03f, 0.1f, 0.3f};
  // 4
  int depth_epochs = 3;
  std::vector<std::int64_t> depths{5, 10, 20, 50};
  // 6: dead units at the end against lr (biases 0) and against the initial bias (lr 0.01).
  int dying_epochs = 4;
  std::vector<float> dying_lrs{0.003f, 0.01f, 0.03f, 0.1f, 0.3f, 1.0f};
  std::vector<float> dying_biases{0.0f, -0.5f, -1.0f, -2.0f, -4.0f};
  int born_dead_inits = 200;
  std::vector<std::int64_t> born_dead_widths{2, 3, 4, 8};
  std::vector<std::int64_t> born_dead_depths{5, 10, 20, 40};
  // 7: He et al.'s 22- and 30-layer plain ReLU nets.
  std::vector<std::int64_t> init_depths{22, 30};
  int init_epochs = 8;
  float init_lr = 0.005f;
  std::int64_t probe_examples = 2000;
};
Scale make_scale(const StudyOptions& options);

// Results by run id.
using Results = std::map<std::string, RunResult>;

// The training runs of the study. Section 3's runs come in two stages: plan_runs gives the first
// (every activation and lr on seed 1, plus everything else), plan_best_lr_runs the second (each
// activation's best lr on seeds 2..N), which needs the first stage's results: best_lrs reads
// them (on the rank that has them, under MPI), plan_best_lr_runs turns them into runs.
std::vector<RunSpec> plan_runs(const Scale& scale);
std::map<std::string, float> best_lrs(const Scale& scale, const Results& first_stage);
std::vector<RunSpec> plan_best_lr_runs(const Scale& scale, const std::map<std::string, float>& lrs);

Section shapes_section(const std::filesystem::path& dir);
Section cost_section(const Scale& scale, const StudyOptions& options,
                     const std::filesystem::path& dir);
Section convergence_section(const Scale& scale, const Results& results);
Section sparsity_section(const Scale& scale, const Results& results);
Section vanishing_section(const Scale& scale, const Results& results);
Section initialisation_section(const Scale& scale, const Results& results);
Section dying_section(const Scale& scale, const Results& results, const data::Dataset& probe_data,
                      const std::filesystem::path& dir);

// Times PyTorch's forward of every activation at `sizes` (the first on one thread, the others on
// `threads`) into DIR/data/torch_cost.json when /usr/bin/python3 can import torch; nullopt when
// it cannot or the script fails (its output is in DIR/data/torch_cost.log).
std::optional<std::filesystem::path> time_pytorch(const std::vector<std::size_t>& sizes,
                                                  int threads, int reps,
                                                  std::size_t elements_per_rep,
                                                  const std::filesystem::path& dir);

// Run ids, shared by plan_runs and the sections.
std::string seed_id(const std::string& base, int seed);
// "lr-0.03": the run-id part of a learning rate.
std::string lr_id(float lr);
// "convergence/relu/lr-0.01": the base id of one activation at one learning rate.
std::string convergence_base(const std::string& activation, float lr);
// The learning rate with the fewest epochs to the threshold on seed 1 (ties: the fewer seconds,
// then the smaller lr); nullopt when no run of `activation` is in `results`.
std::optional<float> best_lr(const Scale& scale, const Results& results,
                             const std::string& activation);
// Epochs and seconds to `threshold` training error: the first crossing of the per-epoch running
// error, interpolated linearly between epochs (epoch 0 at 0.9, chance for 10 classes); inf when
// the run never gets there.
struct Crossing {
  double epochs, seconds;
};
Crossing crossing(const RunResult& r, double threshold);
inline const std::vector<std::string>& convergence_activations() {
  static const std::vector<std::string> names{"relu", "tanh", "sigmoid", "leaky_relu",
                                              "elu",  "gelu", "silu"};
  return names;
}

// The runs of `base` for seeds 1..seeds that exist in `results`.
std::vector<const RunResult*> seeds_of(const Results& results, const std::string& base, int seeds);

// Small numeric helpers for the sections.
double median(std::vector<double> v);
double min_of(const std::vector<double>& v);
double max_of(const std::vector<double>& v);
// "0.91 (0.90–0.93)": median and range over seeds.
std::string median_range(const std::vector<double>& v, int digits = 2);
std::string percent(double fraction, int digits = 1);

}  // namespace relulab::study
