// Gradient flow diagnostics: how large the gradients are, layer by layer, and how far one
// optimiser step moves the weights.
//
// For every layer of the model's Sequential and every weight parameter in it (role kWeight: the
// matrices and kernels, not biases, batch-norm scales or PReLU slopes; a ResidualBlock has
// several), one sample holds
//   weight_norm      ||W||_2 (Frobenius) before the step
//   grad_norm        ||dL/dW||_2, the gradient the optimiser is about to use
//   input_grad_norm  ||dL/dx||_2 for the layer's input x (the dx its backward returned; the same
//                    for every parameter of the layer); NaN for the first layer with parameters of
//                    a model that skips the data's gradient (Sequential::set_input_gradient)
//   update_ratio     ||W_after - W_before||_2 / ||W_before||_2 for the step (NaN when not
//                    measured; inf when W_before = 0 and W moved)
// Norms are summed in double in element order: the same bits for any thread count.
//
// GradientFlowMonitor samples at steps 1, 1 + every, 1 + 2 every, ... To see dL/dx it must be the
// Sequential's observer during the backward of a sampled step, and only then (so that other steps
// pay nothing): it installs itself in after_update of the step before a sampled one (attach()
// does so for the first step of a run) and removes itself in the sampled step's after_backward,
// putting back whatever observer was there. A sampled step whose backward it did not watch
// records input_grad_norm NaN. Destroy the monitor before the model (declare it after the
// trainer), or call detach() first: it may still be installed for a step that never came.
//
// Error behaviour: the GradientFlowMonitor constructor throws std::invalid_argument when every <
// 1; gradient_norms_once throws std::invalid_argument when x does not fit the model or the labels
// do not fit its output (the model's and the loss's own errors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "relulab/nn/model.hpp"
#include "relulab/nn/sequential.hpp"
#include "relulab/tensor.hpp"
#include "relulab/train/trainer.hpp"

namespace relulab::diag {

struct GradientFlowOptions {
  std::int64_t every = 50;  // sample every N steps
};

struct LayerGradientSample {
  std::int64_t step = 0;
  std::size_t layer_index = 0;  // index in the model's Sequential
  std::string parameter;        // the model's name for it: "3.weight", "5.conv1.weight"
  double weight_norm = 0;
  double grad_norm = 0;
  double input_grad_norm = 0;
  double update_ratio = 0;
};

// As a Sequential's observer: the L2 norm of the dx that each layer returns in backward.
class InputGradientNorms final : public nn::SequentialObserver {
 public:
  // Forgets earlier norms; `layers` is the Sequential's size.
  void reset(std::size_t layers);
  void after_backward(std::size_t index, const nn::Layer& layer, const Tensor& dx,
                      const Tensor& dy) override;
  // Per layer index: ||dx||_2 from the last backward since reset(); NaN where none ran.
  const std::vector<double>& norms() const noexcept { return norms_; }

 private:
  std::vector<double> norms_;
};

class GradientFlowMonitor final : public train::TrainObserver {
 public:
  explicit GradientFlowMonitor(GradientFlowOptions options = {});
  ~GradientFlowMonitor() override;
  GradientFlowMonitor(const GradientFlowMonitor&) = delete;
  GradientFlowMonitor& operator=(const GradientFlowMonitor&) = delete;

  // Whether `step` (1-based) is sampled: step = 1 + k * every.
  bool sampled(std::int64_t step) const noexcept;
  // Call before training: watches the backward of `next_step` (1 for a new run, the checkpoint's
  // step + 1 for a resumed one) when it is sampled.
  void attach(nn::Model& model, std::int64_t next_step = 1);
  // Stops watching, putting the previous Sequential observer back.
  void detach();

  // At a sampled step: records norms and keeps a copy of the weights for the update ratio.
  void after_backward(std::int64_t step, nn::Model& model) override;
  // Completes the sampled step's update ratios; installs the watcher when step + 1 is sampled.
  void after_update(std::int64_t step, nn::Model& model) override;

  // Completed samples in step order; within a step in layer and parameter order.
  const std::vector<LayerGradientSample>& samples() const noexcept { return samples_; }

 private:
  struct Pending {
    LayerGradientSample sample;
    const nn::Parameter* parameter;
    Tensor before;  // the weight before the update
  };

  GradientFlowOptions options_;
  InputGradientNorms watcher_;
  nn::Sequential* watched_ = nullptr;  // the Sequential the watcher is installed on
  nn::SequentialObserver* previous_ = nullptr;
  std::int64_t watched_step_ = 0;  // the step whose backward the watcher sees
  std::int64_t pending_step_ = 0;
  std::vector<Pending> pending_;
  std::vector<LayerGradientSample> samples_;
};

// One forward (training mode, dropout seed 0) and backward of softmax cross-entropy on (x, y) at
// the current weights, without an update: samples with step 0 and update_ratio NaN. The model is
// left as it was: parameter gradients and buffers (batch-norm running statistics, which a
// training-mode forward updates) are restored, and the Sequential's observer is put back.
std::vector<LayerGradientSample> gradient_norms_once(nn::Model& model, const Tensor& x,
                                                     std::span<const std::int32_t> y);

}  // namespace relulab::diag
