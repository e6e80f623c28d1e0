// DiagnosticsRecorder: the diagnostics of a training run, live. Plugged into Trainer::fit as its
// observer (`relulab train --diagnostics`, the study), it
//   - probes the activations (activation_probe.hpp) at initialisation (epoch 0: units born dead)
//     and after every epoch, on a fixed probe set;
//   - samples gradient flow every N steps (gradient_flow.hpp);
//   - rewrites, after each probe, two files in its output directory, atomically:
//       diagnostics.jsonl  one JSON object per (epoch, layer): epoch, step and every field of
//                          LayerActivationStats (NaN written as null)
//       gradients.csv      step,layer_index,parameter,weight_norm,grad_norm,input_grad_norm,
//                          update_ratio (NaN written as nan)
//   - and keeps everything in memory for the study.
//
// Cost with the defaults (10,000 probe examples, gradients every 50 steps): one evaluation-mode
// pass over the probe set per epoch, and a weight copy and a few norms every 50 steps. On
// mlp:512-512 / Fashion-MNIST (one thread, 469 steps per epoch) that is 7-8% of the training time
// (bench/diagnostics_overhead); the probe pass is most of it, so it scales with probe size over
// training-set size.
//
// Error behaviour: the constructor throws std::invalid_argument on invalid options or an empty
// probe set. A failure to write the files does not stop training (the hooks cannot return one):
// it is kept, later writes are still tried, and status() returns the first failure, naming the
// file. record_initial and resume return io_error the same way (resume: corrupt_data when an
// existing file cannot be parsed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "relulab/diag/activation_probe.hpp"
#include "relulab/diag/gradient_flow.hpp"
#include "relulab/nn/model.hpp"
#include "relulab/status.hpp"
#include "relulab/tensor.hpp"
#include "relulab/train/trainer.hpp"

namespace relulab::diag {

struct EpochDiagnostics {
  int epoch = 0;  // 0 = at initialisation
  std::int64_t step = 0;
  std::vector<LayerActivationStats> layers;
};

class DiagnosticsRecorder final : public train::TrainObserver {
 public:
  // probe: the probe examples, normalised as the training data (probe_set() draws them);
  // out_dir: where the files go (created when missing); empty = memory only.
  DiagnosticsRecorder(Tensor probe, ProbeOptions probe_options,
                      GradientFlowOptions gradient_options, std::filesystem::path out_dir);

  // For a new run, before fit(): probes the initial model (epoch 0), writes the files, and
  // watches step 1's backward.
  Status record_initial(nn::Model& model);
  // For a run resumed after `epoch` at `step`, before fit(): keeps the lines of existing files
  // up to that epoch and step (later ones belong to a run that did not reach a checkpoint) and
  // watches the next step. Files that do not exist yet are not an error.
  Status resume(nn::Model& model, int epoch, std::int64_t step);

  void after_backward(std::int64_t step, nn::Model& model) override;
  void after_update(std::int64_t step, nn::Model& model) override;
  // Probes the model after the epoch and rewrites the files.
  void on_epoch(const train::EpochMetrics& metrics, nn::Model& model) override;

  // Stops watching gradients (the monitor's detach()).
  void detach() { monitor_.detach(); }

  // This session's probes, in order (not the lines kept by resume()).
  const std::vector<EpochDiagnostics>& epochs() const noexcept { return epochs_; }
  const std::vector<LayerGradientSample>& gradients() const noexcept { return monitor_.samples(); }
  // The first failure to write the files, or ok.
  const Status& status() const noexcept { return status_; }

 private:
  void probe(int epoch, std::int64_t step, nn::Model& model);
  Status write();

  Tensor probe_;
  ProbeOptions probe_options_;
  GradientFlowMonitor monitor_;
  std::filesystem::path out_dir_;
  std::string kept_jsonl_, kept_csv_;  // lines of a resumed run's earlier files
  std::vector<EpochDiagnostics> epochs_;
  Status status_;
};

// One layer's statistics as a JSON object on one line (no newline), NaN and infinities as null;
// "epoch" and "step" come first when epoch >= 0.
std::string to_json(const LayerActivationStats& stats, int epoch = -1, std::int64_t step = 0);
// The header line of gradients.csv, and one row (with its newline) per sample.
std::string gradients_csv_header();
std::string to_csv_row(const LayerGradientSample& sample);

}  // namespace relulab::diag
