// Sequential: layers applied in order, as torch.nn.Sequential, itself a Layer (so it nests).
//
// add() renames the layer's parameters and buffers in place to "<index>.<name>" ("3.weight";
// nested: "3.conv1.weight"), so names are fixed once the model is built and match PyTorch's
// state_dict keys. forward runs the layers in order, backward in reverse; an observer, when set,
// sees every layer's output after its forward and its dx (with the dy it got) after its backward:
// that is how the diagnostics watch activations and gradients without the layers knowing.
//
// A model whose input is data calls set_input_gradient(false): backward then stops at the first
// layer with parameters and skips that layer's dx.
//
// Error behaviour: add() throws std::invalid_argument on a null layer. output_shape() chains the
// layers and names the index and layer that reject their input. forward/backward rethrow a
// layer's std::invalid_argument with "layer <index>: " in front of its message.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "relulab/nn/layer.hpp"

namespace relulab::nn {

class SequentialObserver {
 public:
  virtual ~SequentialObserver() = default;
  // y: the output of layer `index` in this forward pass.
  virtual void after_forward(std::size_t /*index*/, const Layer& /*layer*/, const Tensor& /*y*/) {}
  // dx: what layer `index` returned from backward for dy, the gradient it received.
  virtual void after_backward(std::size_t /*index*/, const Layer& /*layer*/, const Tensor& /*dx*/,
                              const Tensor& /*dy*/) {}
};

class Sequential final : public Layer {
 public:
  Sequential() = default;

  // Appends the layer and prefixes its parameter and buffer names with its index; returns it.
  Layer& add(std::unique_ptr<Layer> layer);
  std::size_t size() const noexcept { return layers_.size(); }
  // Precondition: i < size().
  Layer& layer(std::size_t i) { return *layers_[i]; }
  const Layer& layer(std::size_t i) const { return *layers_[i]; }
  // Not owned; nullptr removes it. Must outlive its use in forward/backward.
  void set_observer(SequentialObserver* observer) noexcept { observer_ = observer; }
  // The observer set now (nullptr if none), so that a temporary one can restore it.
  SequentialObserver* observer() const noexcept { return observer_; }

  // "sequential(0: flatten, 1: linear(784 -> 512, relu), ...)".
  std::string describe() const override;
  Result<Shape> output_shape(const Shape& input) const override;
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Parameter*> parameters() override;
  std::vector<Buffer*> buffers() override;
  // Every layer's blocks, each data pointer once (a layer's kept input is often the previous
  // layer's kept output); the larger size when two blocks start at the same address.
  std::vector<SavedBlock> saved() const override;
  void release() override;
  // With false, backward runs only down to the first layer with parameters, which is told not to
  // compute its dx (the layers before it have nothing to learn), and returns an empty tensor; the
  // observer sees that layer's dx as returned (empty where the layer skipped it).
  void set_input_gradient(bool needed) override;

 private:
  // Passes input_gradient() on to the layers up to the first with parameters.
  void pass_on_input_gradient();
  // Index of the first layer with parameters; size() when none has any.
  std::size_t first_trainable() const;

  std::vector<std::unique_ptr<Layer>> layers_;
  SequentialObserver* observer_ = nullptr;
};

}  // namespace relulab::nn
