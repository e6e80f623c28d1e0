// Inverted dropout (torch.nn.Dropout): in training each element is kept with probability 1 - p
// and scaled by 1 / (1 - p), so evaluation is the identity (the input handle itself, no copy).
//
// The mask comes from Rng::derived(pass.seed, stream): the same pass seed gives the same mask,
// which is what makes a resumed run and a finite-difference check reproducible. `stream` is fixed
// at construction; a model with several dropout layers gives each its own (e.g. its index) so
// their masks differ. Kept for backward: the mask, 1 bit per element.
//
// Error behaviour: the constructor throws std::invalid_argument when p is not in [0, 1); backward
// throws std::invalid_argument naming the layer and the shapes when dy is not the last training
// forward's shape or there was none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relulab/nn/layer.hpp"

namespace relulab::nn {

class Dropout final : public Layer {
 public:
  explicit Dropout(float p, std::uint64_t stream = 0);

  float p() const noexcept { return p_; }
  std::uint64_t stream() const noexcept { return stream_; }

  std::string describe() const override;
  Result<Shape> output_shape(const Shape& input) const override { return input; }
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<SavedBlock> saved() const override;
  void release() override;

 private:
  float p_;
  std::uint64_t stream_;
  bool kept_ = false;               // a training forward's mask is held
  Shape shape_;                     // of that forward
  std::vector<std::uint8_t> mask_;  // bit (i % 8) of mask_[i / 8]: element i kept
};

}  // namespace relulab::nn
