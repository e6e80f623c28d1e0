// Fully connected layer with an optional fused activation, as torch.nn.Linear followed by f:
//
//   y = f(x W^T + b),  x [N, in], W [out, in], b [out], y [N, out]
//
// The bias add and f run as one pass over the gemm's output (bias_activation_forward_rows). In
// training the layer keeps the handle of its input x (no copy) and what ActivationStep keeps for f
// (a 1-bit mask for ReLU, y when f' follows from y, else the pre-activation); evaluation keeps
// nothing.
//
// Parameters: "weight" [out, in] (role kWeight, fan_in = in, fan_out = out, feeds = f) and, when
// bias is true, "bias" [out] (kBias). Both start at zero: an initialiser (init.hpp) sets them.
//
// Error behaviour: the constructor throws std::invalid_argument on in < 1, out < 1 or an invalid
// activation spec; forward throws std::invalid_argument naming the layer and the shape when x is
// not [N, in]; backward when dy is not the last training forward's [N, out] or there was none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "relulab/activation.hpp"
#include "relulab/nn/activation_layer.hpp"
#include "relulab/nn/layer.hpp"

namespace relulab::nn {

class Linear final : public Layer {
 public:
  Linear(std::int64_t in, std::int64_t out, std::optional<ActivationSpec> activation = std::nullopt,
         bool bias = true);

  std::int64_t in_features() const noexcept { return in_; }
  std::int64_t out_features() const noexcept { return out_; }
  std::optional<ActivationSpec> activation() const;
  bool has_bias() const noexcept { return has_bias_; }
  Parameter& weight() noexcept { return weight_; }
  // nullptr without a bias.
  Parameter* bias() noexcept { return has_bias_ ? &bias_ : nullptr; }

  std::string describe() const override;
  Result<Shape> output_shape(const Shape& input) const override;
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Parameter*> parameters() override;
  std::vector<SavedBlock> saved() const override;
  void release() override;

 private:
  std::int64_t in_;
  std::int64_t out_;
  bool has_bias_;
  std::optional<ActivationStep> step_;
  Parameter weight_;
  Parameter bias_;
  Tensor x_;  // the input of the last training forward (a handle)
  bool kept_input_ = false;
};

}  // namespace relulab::nn
