// The basic block of ResNet (He et al. 2016, torchvision's BasicBlock), on NCHW batches:
//
//   h = bn2(conv2(f(bn1(conv1(x)))))      conv1: 3x3, stride s, padding 1; conv2: 3x3, padding 1
//   y = f(h + shortcut(x))                shortcut = identity when in == out and s == 1, else
//                                         bn(conv 1x1, stride s) (the projection)
//
// Convolutions have no bias (the batch norms' shifts take its place). Backward runs the branches
// in reverse and adds their dx; the gradient of the sum reaches both branches unchanged.
//
// Built from Conv2d, BatchNorm and ActivationLayer. Parameters and buffers keep the sub-layers'
// names with a prefix, as in PyTorch: "conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
// "bn2.weight", "bn2.bias", "shortcut.conv.weight", "shortcut.bn.weight", "shortcut.bn.bias"
// ("act1.weight", "act2.weight" for a learnable PReLU, one slope per channel); buffers
// "bn1.running_mean", ..., "shortcut.bn.running_var". Every conv weight has feeds = f (torchvision
// initialises all of them with f's gain). saved() is the union of the sub-layers' blocks, each data
// pointer once.
//
// Error behaviour: the constructor throws std::invalid_argument on a non-positive channel count or
// stride, or an invalid activation spec; forward throws std::invalid_argument naming the block and
// the shape when x is not [N, in, H, W]; backward when dy does not match the last training
// forward's output or there was none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "relulab/activation.hpp"
#include "relulab/nn/activation_layer.hpp"
#include "relulab/nn/batch_norm.hpp"
#include "relulab/nn/conv2d.hpp"
#include "relulab/nn/layer.hpp"

namespace relulab::nn {

class ResidualBlock final : public Layer {
 public:
  ResidualBlock(std::int64_t in_channels, std::int64_t out_channels, int stride = 1,
                ActivationSpec activation = default_spec(Activation::kReLU));

  // "residual_block(16 -> 32, stride 2, relu, projection)".
  std::string describe() const override;
  Result<Shape> output_shape(const Shape& input) const override;
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Parameter*> parameters() override;
  std::vector<Buffer*> buffers() override;
  std::vector<SavedBlock> saved() const override;
  void release() override;
  // Passed on to conv1 and the shortcut conv, the layers that see x.
  void set_input_gradient(bool needed) override;

  std::int64_t in_channels() const { return in_; }
  std::int64_t out_channels() const { return out_; }
  int stride() const { return stride_; }
  bool has_projection() const { return shortcut_conv_.has_value(); }
  // f, the activation the block ends in.
  const ActivationSpec& activation() const { return act2_.spec(); }

 private:
  std::int64_t in_, out_;
  int stride_;
  Conv2d conv1_;
  BatchNorm bn1_;
  ActivationLayer act1_;
  Conv2d conv2_;
  BatchNorm bn2_;
  std::optional<Conv2d> shortcut_conv_;
  std::optional<BatchNorm> shortcut_bn_;
  ActivationLayer act2_;
  std::vector<Layer*> layers_;  // the sub-layers above, in forward order
  Shape output_shape_;          // of the last training forward; empty when none
};

}  // namespace relulab::nn
