// Optimisers: SGD (momentum, dampening, Nesterov, weight decay) and Adam / AdamW, with the update
// formulas of torch.optim.SGD, torch.optim.Adam and torch.optim.AdamW (PyTorch 1.13 - 2.x
// documentation pseudo-code; written out above each update in optimizer.cpp).
//
// An optimiser holds pointers to a model's parameters (the model must outlive it) and state per
// parameter (momentum buffer, first and second moments). step(lr) applies one update from the
// gradients accumulated by backward(); zero_grad() clears them for the next batch. The learning
// rate comes from the caller at every step (see lr_schedule.hpp), as a scheduler would set it.
//
// Difference from PyTorch: weight decay applies only to parameters with role ParamRole::kWeight
// (weights of linear and convolution layers), never to biases, batch-norm scale/shift or PReLU
// slopes. PyTorch decays every parameter of a group unless the user builds separate groups; not
// decaying biases and normalisation parameters is the common practice that those groups express.
//
// State for checkpoints: state() lists copies named "<slot>.<parameter name>" ("momentum_buffer.",
// "exp_avg.", "exp_avg_sq.") plus "step", the number of steps taken, stored as two floats
// {count mod 2^24, floor(count / 2^24)} so that both are exact integers up to 2^48 steps.
// load_state() restores them; a run resumed from them continues bit-identically.
//
// Error behaviour: validate() and validate_learning_rate() return invalid_argument naming the
// option and its value. The factories and step() treat invalid options or learning rates as
// programming errors and throw std::invalid_argument with the same message; the constructor
// throws std::invalid_argument on a null parameter, a duplicate name or a grad whose shape
// differs from the value. load_state() returns invalid_argument naming a missing, unexpected or
// mis-shaped entry, corrupt_data for a step count that is not a non-negative integer, and changes
// nothing in either case.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "relulab/nn/layer.hpp"
#include "relulab/status.hpp"
#include "relulab/tensor.hpp"

namespace relulab::nn {

// torch.optim.SGD's options and defaults (lr apart).
struct SgdOptions {
  float momentum = 0;      // [0, 1)
  float dampening = 0;     // [0, 1]
  float weight_decay = 0;  // >= 0, L2 penalty added to the gradient of kWeight parameters
  bool nesterov = false;   // needs momentum > 0 and dampening 0
};

// torch.optim.Adam's options and defaults (lr apart); decoupled = true is torch.optim.AdamW.
struct AdamOptions {
  float beta1 = 0.9f;      // [0, 1)
  float beta2 = 0.999f;    // [0, 1)
  float eps = 1e-8f;       // > 0
  float weight_decay = 0;  // >= 0; Adam: added to the gradient; AdamW: w *= 1 - lr * wd
  bool decoupled = false;

  // torch.optim.AdamW's defaults: weight_decay 0.01, decoupled.
  static AdamOptions adamw() {
    AdamOptions options;
    options.weight_decay = 0.01f;
    options.decoupled = true;
    return options;
  }
};

// lr >= 0 and finite.
Status validate_learning_rate(float lr);
Status validate(const SgdOptions& options);
Status validate(const AdamOptions& options);

class Optimizer {
 public:
  explicit Optimizer(std::vector<Parameter*> params);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update with learning rate lr (throws std::invalid_argument unless
  // validate_learning_rate(lr) is ok).
  virtual void step(float lr) = 0;
  // Sets every parameter's grad to 0.
  void zero_grad();
  // Copies of the state: every slot of every parameter, then "step".
  virtual std::vector<Buffer> state() const;
  // Replaces the state with `saved` (a state() of an optimiser of the same kind over parameters of
  // the same names and shapes, in any order).
  virtual Status load_state(const std::vector<Buffer>& saved);
  // "sgd(momentum=0.9, dampening=0, nesterov=false, weight_decay=0.0005)".
  virtual std::string describe() const = 0;

  std::int64_t steps_taken() const { return steps_; }
  const std::vector<Parameter*>& parameters() const { return params_; }

 protected:
  // Adds a state tensor per parameter, zero-filled, saved as "<name>.<parameter name>"; returns
  // the slot's index for slot().
  std::size_t add_slot(std::string name);
  Tensor& slot(std::size_t index, std::size_t param) { return slots_[index].tensors[param]; }

  std::vector<Parameter*> params_;
  std::int64_t steps_ = 0;

 private:
  struct Slot {
    std::string name;
    std::vector<Tensor> tensors;  // one per parameter, same shape as its value
  };
  std::vector<Slot> slots_;
};

// Throw std::invalid_argument when validate(options) is not ok.
std::unique_ptr<Optimizer> make_sgd(std::vector<Parameter*> params, const SgdOptions& options = {});
// Adam, or AdamW when options.decoupled.
std::unique_ptr<Optimizer> make_adam(std::vector<Parameter*> params,
                                     const AdamOptions& options = {});
// AdamW: make_adam with decoupled = true (whatever options.decoupled says).
std::unique_ptr<Optimizer> make_adamw(std::vector<Parameter*> params,
                                      const AdamOptions& options = AdamOptions::adamw());

}  // namespace relulab::nn
