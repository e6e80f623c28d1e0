// Batch normalisation (Ioffe & Szegedy 2015), as torch.nn.BatchNorm1d / BatchNorm2d.
//
//   y = gamma * (x - mean) / sqrt(var + eps) + beta
//
// Input [N, C] normalises each feature over N (BatchNorm1d); [N, C, H, W] each channel over
// N, H, W (BatchNorm2d); the rank of the input chooses. Training uses the batch statistics
// (biased variance, computed in double) and updates the running ones with the unbiased variance:
// running = (1 - momentum) * running + momentum * batch, as PyTorch. Evaluation uses the running
// statistics and keeps nothing.
//
// Parameters "weight" (gamma, role kScale, init 1) and "bias" (beta, kShift, init 0) of shape [C];
// buffers "running_mean" (init 0) and "running_var" (init 1).
//
// Kept for backward: the input handle x and the per-channel mean and 1/sqrt(var + eps); x-hat is
// recomputed from them, so the layer adds no tensor of the input's size.
//
// Error behaviour: the constructor throws std::invalid_argument on features < 1, eps <= 0 or a
// momentum outside [0, 1]; forward throws std::invalid_argument (naming the layer and the shape)
// on a rank other than 2 or 4, a channel count that differs from `features`, or a training batch
// with one value per channel (the unbiased variance needs two, as in PyTorch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relulab/nn/layer.hpp"

namespace relulab::nn {

class BatchNorm final : public Layer {
 public:
  explicit BatchNorm(std::int64_t features, float eps = 1e-5f, float momentum = 0.1f);

  std::int64_t features() const noexcept { return features_; }
  float eps() const noexcept { return eps_; }
  float momentum() const noexcept { return momentum_; }

  std::string describe() const override;
  Result<Shape> output_shape(const Shape& input) const override;
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<Parameter*> parameters() override { return {&weight_, &bias_}; }
  std::vector<Buffer*> buffers() override { return {&running_mean_, &running_var_}; }
  std::vector<SavedBlock> saved() const override;
  void release() override;

 private:
  std::int64_t features_;
  float eps_;
  float momentum_;
  Parameter weight_;
  Parameter bias_;
  Buffer running_mean_;
  Buffer running_var_;
  // From the last training forward: the input, and per channel the batch mean and 1/sqrt(var+eps).
  Tensor x_;
  Tensor mean_;
  Tensor invstd_;
};

}  // namespace relulab::nn
