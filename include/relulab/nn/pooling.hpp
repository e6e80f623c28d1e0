// Pooling over NCHW batches, as torch.nn.MaxPool2d / AvgPool2d (no padding, no dilation, floor
// mode) and AdaptiveAvgPool2d(1) followed by a flatten.
//
// Windows: output (i, j) of a plane reads the k x k window whose top-left input pixel is
// (i*s, j*s); OH = (H - k) / s + 1 (floor), OW likewise; stride 0 means stride = kernel.
//
//   max:     y[n, c, i, j] = max_{u, v < k} x[n, c, i*s + u, j*s + v]; a NaN in the window wins
//            (PyTorch's rule); on ties the first maximum in row-major window order.
//            dx[n, c, i*s + u*, j*s + v*] += dy[n, c, i, j] at the argmax (u*, v*), so
//            overlapping windows (k > s) add.
//   average: y[n, c, i, j] = sum_{u, v < k} x[n, c, i*s + u, j*s + v] / k^2;
//            dx[n, c, i*s + u, j*s + v] += dy[n, c, i, j] / k^2 for every (u, v).
//   global:  y[n, c] = sum_{i, j} x[n, c, i, j] / (H*W) (summed in double);
//            dx[n, c, i, j] = dy[n, c] / (H*W).
//
// Training keeps only what backward needs: for max pooling one byte per output, the argmax's
// offset u*k + v in its window (so kernel <= 16); average pooling keeps nothing but the shape.
// Planes are independent and split over OpenMP threads: results do not depend on the thread count.
//
// Error behaviour: constructors throw std::invalid_argument on a kernel < 1 (max pooling: > 16)
// or a negative stride; forward/backward throw std::invalid_argument naming the layer and the
// shapes when x is not rank 4, the window is larger than the image, or dy does not fit, or when
// backward has no training forward to follow (evaluation keeps nothing).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relulab/nn/layer.hpp"

namespace relulab::nn {

class MaxPool2d final : public Layer {
 public:
  explicit MaxPool2d(int kernel, int stride = 0);

  // "maxpool2d(2x2, stride 2)".
  std::string describe() const override;
  Result<Shape> output_shape(const Shape& input) const override;
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  std::vector<SavedBlock> saved() const override;
  void release() override;

  int kernel() const { return kernel_; }
  int stride() const { return stride_; }

 private:
  int kernel_, stride_;
  // Kept by the last training forward.
  std::vector<std::uint8_t> argmax_;  // one window offset u*k + v per output element
  Shape input_shape_, output_shape_;  // empty when nothing is kept
};

class AvgPool2d final : public Layer {
 public:
  explicit AvgPool2d(int kernel, int stride = 0);

  // "avgpool2d(2x2, stride 2)".
  std::string describe() const override;
  Result<Shape> output_shape(const Shape& input) const override;
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  void release() override;

  int kernel() const { return kernel_; }
  int stride() const { return stride_; }

 private:
  int kernel_, stride_;
  Shape input_shape_, output_shape_;  // of the last training forward; empty when none
};

// [N, C, H, W] -> [N, C]: the mean of each plane.
class GlobalAvgPool final : public Layer {
 public:
  GlobalAvgPool() = default;

  std::string describe() const override { return "global_avg_pool"; }
  Result<Shape> output_shape(const Shape& input) const override;
  Tensor forward(const Tensor& x, const Pass& pass) override;
  Tensor backward(const Tensor& dy) override;
  void release() override;

 private:
  Shape input_shape_;  // of the last training forward; empty when none
};

}  // namespace relulab::nn
