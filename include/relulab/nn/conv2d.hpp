// 2-d convolution over NCHW batches, as torch.nn.Conv2d (square kernel, zero padding, groups 1,
// dilation 1), with an optional fused activation:
//
//   z[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] * xpad[n, c, i*s + u, j*s + v]
//   y = f(z),   x [N, C, H, W], W [O, C, k, k], b [O], y [N, O, OH, OW],
//   OH = (H + 2p - k) / s + 1 (floor), OW likewise; xpad is x with p zeros on every side.
//
// Computed per image as one matrix product: col = im2col(x[n]) is [C*k*k, OH*OW] (row (c, u, v)
// holds the input pixels that weight meets at every output position), z[n] = W col + b, with W
// viewed as [O, C*k*k]. A 1x1 kernel with stride 1 and no padding uses x[n] itself as col.
//
// Backward, with dz = dy * f'(z) viewed as [O, OH*OW] per image:
//   dW += sum_n dz[n] col[n]^T      db += sum_{n, i, j} dz[n, :, i, j]
//   dx[n] = col2im(W^T dz[n])       col2im adds every column entry back onto the pixel it came
//                                   from; skipped (an empty dx) when !input_gradient()
//
// The bias enters as the GEMM's C operand (rows pre-filled with b[o], beta = 1) while the image is
// in cache, so f is the only other pass over the output; without f that is the whole forward.
//
// Training keeps the input handle (col is recomputed from it in backward rather than stored: it is
// k*k times larger than x) and what ActivationStep keeps for f: a 1-bit mask for ReLU, y when f'
// follows from y, else z. Evaluation keeps nothing.
//
// Threads: the batch is split into thread_count() contiguous ranges, one per OpenMP thread, each
// with its own im2col buffer and single-threaded GEMMs; dW and db are summed per thread and then
// in thread order, so the same inputs and thread count give the same bits.
//
// Error behaviour: the constructor throws std::invalid_argument on a non-positive size, stride or
// channel count, a negative padding, or an invalid activation spec; forward/backward throw
// std::invalid_argument naming the layer and the shapes when the input or dy does not fit, or when
// backward has no training forward to follow.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "relulab/activation.hpp"
#include "relulab/nn/activation_layer.hpp"
#include "relulab/nn/layer.hpp"

namespace relulab::nn {

class Conv2d final : public Layer {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, int kernel, int stride = 1,
         int padding = 0, std::optional<ActivationSpec> activation = std::nullopt,
         bool bias = true);

  // "conv2d(1 -> 32, 5x5, stride 1, padding 2, relu)", ", no bias" when there is none.
  std::string describe() const override;
  Result<Shape> output_shape(const Shape& input) const override;

  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;

  // "weight" [out, in, k, k] (fan_in = in*k*k, fan_out = out*k*k, feeds = activation), then
  // "bias" [out] when the layer has one. Both start at zero: an initialiser (init.hpp) sets them.
  std::vector<Parameter*> parameters() override;
  std::vector<SavedBlock> saved() const override;
  void release() override;

  std::int64_t in_channels() const { return in_; }
  std::int64_t out_channels() const { return out_; }
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int padding() const { return padding_; }
  std::optional<ActivationSpec> activation() const;
  Parameter& weight() { return weight_; }
  // nullptr when the layer was built without a bias.
  Parameter* bias() { return has_bias_ ? &bias_ : nullptr; }

 private:
  std::int64_t in_, out_;
  int kernel_, stride_, padding_;
  bool has_bias_;
  std::optional<ActivationStep> step_;
  Parameter weight_;
  Parameter bias_;
  // Kept by the last training forward: the input handle and the output shape (empty when none).
  Tensor input_;
  Shape output_shape_;
};

}  // namespace relulab::nn
