// Training a model on a data set: the loop behind `relulab train` and every run of the study.
//
// One step: gather a batch in the epoch's order, forward in training mode, softmax cross-entropy,
// backward, check for NaN/Inf, optimiser step at the scheduled learning rate. Randomness is
// counter-based: the epoch order comes from Rng::derived(seed, epoch) and the dropout masks from
// (seed, step), so a run resumed from a checkpoint at an epoch boundary continues bit-identically,
// and the same seed with the same thread count gives identical weights.
//
// Error behaviour: create() rejects a bad configuration (negative learning rate, unknown
// optimiser, a model that does not fit the data) with invalid_argument; fit() stops with
// numerical_error naming the step and the parameter when the loss, a gradient or a weight is not
// finite (or skips the batch with OnNan::kSkipBatch, when the loss or a gradient is the culprit);
// I/O errors name the file. A failure never touches the last checkpoint written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "relulab/activation.hpp"
#include "relulab/communicator.hpp"
#include "relulab/data/dataset.hpp"
#include "relulab/nn/init.hpp"
#include "relulab/nn/lr_schedule.hpp"
#include "relulab/nn/model.hpp"
#include "relulab/nn/optimizer.hpp"
#include "relulab/status.hpp"

namespace relulab::train {

enum class OnNan { kStop, kSkipBatch };

struct TrainConfig {
  std::string model = "mlp:512-512";
  ActivationSpec activation = default_spec(Activation::kReLU);
  nn::InitSpec init{nn::InitScheme::kHeNormal};
  float bias_init = 0.0f;
  std::string optimizer = "sgd";  // sgd, adam, adamw
  float lr = 0.01f;
  float momentum = 0.9f;  // SGD only
  bool nesterov = false;
  float weight_decay = 0.0f;
  std::string schedule = "constant";  // see parse_lr_schedule
  int epochs = 10;
  int batch = 128;
  std::uint64_t seed = 1;
  // Normalise inputs per channel with the training set's mean and standard deviation.
  bool normalize = true;
  OnNan on_nan = OnNan::kStop;
  // > 0: fit() ends after the first epoch whose running training error (1 - accuracy) is at or
  // below it, before config.epochs (the study's learning-rate sweeps time runs to a threshold).
  double stop_at_train_error = 0;
  // Where checkpoint.safetensors, metrics.jsonl and metrics.csv go; empty = write nothing.
  std::filesystem::path out_dir;
};

// What the configuration looks like in a checkpoint and in metrics files.
std::string describe_json(const TrainConfig& config);

struct Evaluation {
  double loss = 0;
  double accuracy = 0;  // fraction in [0, 1]
  std::int64_t examples = 0;
};

struct EpochMetrics {
  int epoch = 0;          // 1-based: the epoch just finished (0 = at initialisation)
  std::int64_t step = 0;  // optimiser steps so far
  double lr = 0;          // learning rate of the last step
  Evaluation train;       // running mean over the epoch's batches
  Evaluation test;
  double seconds = 0;            // training wall time so far (excluding evaluation)
  double images_per_second = 0;  // this epoch
  std::int64_t skipped_batches = 0;
};

struct BatchProgress {
  int epoch = 0;           // 1-based epoch in progress
  std::int64_t batch = 0;  // 1-based batch within the epoch
  std::int64_t batches = 0;
  double loss = 0;      // running mean over the epoch so far
  double accuracy = 0;  // running
  double images_per_second = 0;
  double eta_seconds = 0;  // for the whole run
};

// Hooks for progress display and diagnostics; every default does nothing.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_batch(const BatchProgress&) {}
  // After backward, before the optimiser step: gradients are in Parameter::grad.
  virtual void after_backward(std::int64_t /*step*/, nn::Model&) {}
  // After the optimiser step.
  virtual void after_update(std::int64_t /*step*/, nn::Model&) {}
  virtual void on_epoch(const EpochMetrics&, nn::Model&) {}
};

// Forwards every hook to each observer in turn (a progress display and diagnostics, say).
class ObserverList final : public TrainObserver {
 public:
  void add(TrainObserver* observer) {
    if (observer != nullptr) observers_.push_back(observer);
  }
  void on_batch(const BatchProgress& p) override {
    for (TrainObserver* o : observers_) o->on_batch(p);
  }
  void after_backward(std::int64_t step, nn::Model& m) override {
    for (TrainObserver* o : observers_) o->after_backward(step, m);
  }
  void after_update(std::int64_t step, nn::Model& m) override {
    for (TrainObserver* o : observers_) o->after_update(step, m);
  }
  void on_epoch(const EpochMetrics& e, nn::Model& m) override {
    for (TrainObserver* o : observers_) o->on_epoch(e, m);
  }

 private:
  std::vector<TrainObserver*> observers_;
};

class Trainer {
 public:
  // Builds and initialises the model for `data` (input shape and classes from data.train).
  // Normalises both sets per channel with the training set's mean and standard deviation, and
  // keeps that normalisation in checkpoints so that evaluation applies the same one.
  //
  // With a communicator of several ranks (mpirun), training is data-parallel: every rank passes
  // the same config and data, takes its share of each global batch of config.batch examples and
  // the ranks sum their gradients (src/train/data_parallel.hpp says how); rank 0 alone writes
  // files, and every call below is then collective.
  static Result<std::unique_ptr<Trainer>> create(const TrainConfig& config, data::TrainTest data,
                                                 Communicator& comm = single_process());

  // Loads weights, optimiser state, epoch, step and metrics history from a checkpoint written by
  // a run with the same model; the run then continues from the epoch after it. Under MPI rank 0
  // reads the file and gives its state to the others, so any number of ranks can resume it.
  Status resume(const std::filesystem::path& checkpoint);

  // Trains until config.epochs; after each epoch evaluates on the test set, appends the metrics,
  // writes the checkpoint and metrics files (when out_dir is set) and calls the observer.
  Status fit(TrainObserver* observer = nullptr);

  // One epoch only (fit calls this); returns its metrics.
  Result<EpochMetrics> train_epoch(TrainObserver* observer = nullptr);

  // On this rank alone (the whole set).
  Evaluation evaluate(const data::Dataset& data, std::int64_t batch = 1000);

  nn::Model& model() { return *model_; }
  const TrainConfig& config() const { return config_; }
  const data::TrainTest& data() const { return data_; }
  const data::Normalization& normalization() const { return normalization_; }
  // Under MPI, only rank 0's is complete after a resume (it alone writes metrics).
  const std::vector<EpochMetrics>& history() const { return history_; }
  int epoch() const { return epoch_; }
  std::int64_t step() const { return step_; }

  // Writes the checkpoint (atomically) to `path`.
  Status save_checkpoint(const std::filesystem::path& path) const;

 private:
  Trainer() = default;
  Status write_outputs() const;
  Status resume_from_file(const std::filesystem::path& checkpoint);
  // Rank 0's parameters, buffers, optimiser state, counters and generator to every rank.
  void synchronize();
  // Examples [first, first + n) of `data`.
  Evaluation evaluate_range(const data::Dataset& data, std::int64_t first, std::int64_t n,
                            std::int64_t batch);
  // The whole set, each rank taking a share.
  Evaluation evaluate_shared(const data::Dataset& data);

  Communicator* comm_ = nullptr;
  std::vector<float> gradient_buffer_;  // the allreduce's, kept between steps
  TrainConfig config_;
  data::TrainTest data_;
  data::Normalization normalization_;
  std::unique_ptr<nn::Model> model_;
  std::unique_ptr<nn::Optimizer> optimizer_;
  std::optional<nn::LrSchedule> schedule_;
  Rng rng_;
  int epoch_ = 0;
  std::int64_t step_ = 0;
  double seconds_ = 0;
  std::int64_t skipped_ = 0;
  std::vector<EpochMetrics> history_;
};

// A model rebuilt from a checkpoint (spec, activation, shapes, weights, buffers) with the input
// normalisation it was trained with, for `relulab eval` and `relulab diagnose`.
struct LoadedModel {
  std::unique_ptr<nn::Model> model;
  data::Normalization normalization;
};
Result<LoadedModel> load_model(const std::filesystem::path& checkpoint);

// The metrics of one epoch as a JSON object (one line of metrics.jsonl).
std::string to_json_line(const EpochMetrics& m);

}  // namespace relulab::train
