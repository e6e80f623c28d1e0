// An activation as a layer of its own, and the activation step that Linear and Conv2d fuse.
//
// ActivationStep is the rule of layer.hpp for what an activation keeps for backward in training:
//   ReLU                          a 1-bit mask (relu_forward_mask), 1/32 of a float tensor
//   info.backward_from_output     the output y (often the next layer's kept input: no extra memory)
//   otherwise                     the pre-activation z
// and evaluation keeps nothing.
//
// ActivationLayer applies any table entry elementwise over any shape. PReLU is learnable here: a
// "weight" of prelu_channels slopes along dimension 1 (input [N, C, ...] with C = prelu_channels),
// or one shared slope when prelu_channels = 0, initialised to 0.25 (torch.nn.PReLU); it keeps its
// input. Every other parameter (leaky slope, ELU alpha, ...) is a fixed part of the spec.
//
// Error behaviour: the constructor throws std::invalid_argument on a spec that validate() rejects,
// a negative prelu_channels, or prelu_channels > 0 for an activation other than PReLU. forward
// throws std::invalid_argument naming the layer and the shape when a per-channel PReLU gets an
// input whose dimension 1 is not prelu_channels; backward throws when dy's shape is not the last
// training forward's output shape, or when there was no training forward.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relulab/activation.hpp"
#include "relulab/nn/layer.hpp"

namespace relulab::nn {

class ActivationStep {
 public:
  enum class Keeps { kMask, kOutput, kPreActivation };

  explicit ActivationStep(ActivationSpec spec);

  const ActivationSpec& spec() const noexcept { return spec_; }
  Keeps keeps() const noexcept { return keeps_; }

  // y = f(z) into a new tensor; z is not written. In training keeps the mask, y, or the handle z.
  Tensor forward(const Tensor& z, Mode mode);
  // For a layer that already wrote y = f(z) in place with a fused kernel and whose step does not
  // keep z (keeps() != kPreActivation): keeps the mask (computed from y) or the handle y.
  void keep_fused_output(const Tensor& y);
  // dx = dy * f'(.) from what the last training forward kept, into a new tensor (dy is not
  // written). Throws std::invalid_argument naming `owner` (its describe()) when nothing is kept
  // or dy's shape is not that forward's output shape.
  Tensor backward(const Tensor& dy, const Layer& owner) const;

  std::vector<SavedBlock> saved() const;
  void release();

 private:
  ActivationSpec spec_;
  Keeps keeps_;
  bool kept_flag_ = false;          // a training forward's state is held
  Shape shape_;                     // of that forward's output
  std::vector<std::uint8_t> mask_;  // kMask
  Tensor kept_;                     // kOutput: y; kPreActivation: z
};

class ActivationLayer final : public Layer {
 public:
  explicit ActivationLayer(ActivationSpec spec, std::int64_t prelu_channels = 0);

  const ActivationSpec& spec() const noexcept { return step_.spec(); }
  bool learnable_prelu() const noexcept { return spec().kind == Activation::kPReLU; }
  std::int64_t prelu_channels() const noexcept { return prelu_channels_; }

  std::string describe() const override;
  Result<Shape> output_shape(const Shape& input) const override;
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Parameter*> parameters() override;
  std::vector<SavedBlock> saved() const override;
  void release() override;

 private:
  // [outer, channels, inner] of x for the PReLU kernels.
  struct PreluLayout {
    std::size_t outer, channels, inner;
  };
  PreluLayout prelu_layout(const Shape& shape) const;

  ActivationStep step_;
  std::int64_t prelu_channels_;
  Parameter slope_;  // learnable PReLU only: [max(prelu_channels, 1)]
  Tensor x_;         // learnable PReLU only: the input of the last training forward
  bool kept_input_ = false;
};

}  // namespace relulab::nn
