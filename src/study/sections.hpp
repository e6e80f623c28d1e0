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

// Sizes of everything, from --quick or the default.
struct Scale {
  bool quick = false;
  int seeds = 2;
  std::int64_t train_limit = 10000;
  std::int64_t test_limit = 2000;
  int convergence_epochs = 8;
  int depth_epochs = 3;
  int dying_epochs = 4;
  std::vector<std::int64_t> depths{5, 10, 20, 50};
  int born_dead_inits = 50;
  std::int64_t probe_examples = 2000;
};
Scale make_scale(const StudyOptions& options);

// Every training run of the study, in the order they run.
std::vector<RunSpec> plan_runs(const Scale& scale);

// Results by run id.
using Results = std::map<std::string, RunResult>;

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
