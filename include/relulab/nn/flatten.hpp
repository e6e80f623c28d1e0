// Flatten: [N, d1, d2, ...] -> [N, d1 * d2 * ...], as torch.nn.Flatten(). The output shares the
// input's storage (reshaped, no copy); backward reshapes dy back. Keeps only the input shape.
//
// Error behaviour: forward throws std::invalid_argument naming the layer and the shape on an
// input of rank < 2; backward when dy is not the last training forward's output shape or there
// was none.
#pragma once

#include <optional>
#include <string>

#include "relulab/nn/layer.hpp"

namespace relulab::nn {

class Flatten final : public Layer {
 public:
  Flatten() = default;

  std::string describe() const override { return "flatten"; }
  Result<Shape> output_shape(const Shape& input) const override;
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  void release() override { input_shape_.reset(); }

 private:
  std::optional<Shape> input_shape_;  // of the last training forward
};

}  // namespace relulab::nn
