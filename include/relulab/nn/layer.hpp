// The layer contract: a forward/backward pair over batches, with explicit parameters.
//
// forward(x) returns y; in training mode the layer keeps the least it needs for backward (a 1-bit
// mask for ReLU, the output instead of the input where the activation allows it, a byte of argmax
// per max-pool window) and lists it in saved(). backward(dy) returns dx for the last
// training forward and ADDS the parameter gradients into Parameter::grad (the optimiser zeroes
// them), so that gradients from several uses accumulate as in PyTorch.
//
// Shapes: the first dimension is the batch. Dense layers take [N, features]; convolutional layers
// take NCHW [N, C, H, W].
//
// Error behaviour: forward/backward throw std::invalid_argument when a shape disagrees with the
// layer (the message names the layer and both shapes); output_shape() says the same as a Status
// before any data is touched, which is how models check a spec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "relulab/activation.hpp"
#include "relulab/status.hpp"
#include "relulab/tensor.hpp"

namespace relulab::nn {

enum class Mode { kTrain, kEval };

// What one forward pass needs besides its input.
struct Pass {
  Mode mode = Mode::kEval;
  // Randomness for this pass only (dropout masks): the trainer derives it from (run seed, step),
  // so a resumed run draws the same masks without saving any generator state in the layers.
  std::uint64_t seed = 0;
};

// What a parameter is, for initialisers and weight decay.
enum class ParamRole {
  kWeight,  // initialised by the weight initialiser from its fans; decayed
  kBias,    // initialised by the bias initialiser; not decayed
  kScale,   // batch-norm gamma (1); not decayed
  kShift,   // batch-norm beta (0); not decayed
  kSlope,   // PReLU slope (0.25); not decayed
};

struct Parameter {
  std::string name;  // unique in its model once the model prefixes it: "3.weight"
  Tensor value;
  Tensor grad;  // same shape as value
  ParamRole role = ParamRole::kWeight;
  // For kWeight: fans as torch.nn.init._calculate_fan_in_and_fan_out computes them from the shape,
  // and the activation the weight feeds (for calculate_gain); nullopt = linear (gain 1).
  std::int64_t fan_in = 0;
  std::int64_t fan_out = 0;
  std::optional<ActivationSpec> feeds;
};

// A tensor that is part of the model's state but not trained (batch-norm running statistics).
struct Buffer {
  std::string name;
  Tensor value;
};

struct SavedBlock {
  const void* data;
  std::size_t bytes;
};

class Layer {
 public:
  virtual ~Layer() = default;
  Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  // "linear(784 -> 512, relu)": for reports and error messages.
  virtual std::string describe() const = 0;
  // The output shape for an input shape, or why the input does not fit.
  virtual Result<Shape> output_shape(const Shape& input) const = 0;

  virtual Tensor forward(const Tensor& x, const Pass& pass) = 0;
  virtual Tensor backward(const Tensor& dy) = 0;

  virtual std::vector<Parameter*> parameters() { return {}; }
  virtual std::vector<Buffer*> buffers() { return {}; }
  // Every block of memory kept from the last training forward for backward, input handles
  // included (not parameters). A model counts each block once: a layer's kept input is often the
  // previous layer's kept output.
  virtual std::vector<SavedBlock> saved() const { return {}; }
  // Frees what the last training forward kept (after backward, or to evaluate instead).
  virtual void release() {}

  // Whether backward must compute dx (default true). A model clears it for the layers that see its
  // input data, whose gradient nobody reads: backward then may skip that work (Linear skips its
  // dx gemm, a third of its backward) and return an empty tensor; the parameter gradients are
  // computed as always. Sequential passes it on to its layers up to the first with parameters.
  virtual void set_input_gradient(bool needed) { input_gradient_ = needed; }
  bool input_gradient() const noexcept { return input_gradient_; }

 private:
  bool input_gradient_ = true;
};

}  // namespace relulab::nn
