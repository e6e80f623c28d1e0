// Flatten: a reshape of the same storage.
#include "relulab/nn/flatten.hpp"

#include <stdexcept>

namespace relulab::nn {

Result<Shape> Flatten::output_shape(const Shape& input) const {
  if (input.size() < 2) {
    return Status::invalid_argument(describe() + ": expected input [N, ...] of rank >= 2, got " +
                                    to_string(input));
  }
  const Shape features(input.begin() + 1, input.end());
  return Shape{input[0], static_cast<std::int64_t>(shape_size(features))};
}

// Forward:  y [N, prod(d1..)] = x [N, d1, ...] viewed in another shape (same storage).
// Backward: dx [N, d1, ...] = dy viewed in the input's shape.
Tensor Flatten::forward(const Tensor& x, const Pass& pass) {
  const Result<Shape> out = output_shape(x.shape());
  if (!out) throw std::invalid_argument(out.status().message());
  if (pass.mode == Mode::kTrain) {
    input_shape_ = x.shape();
  } else {
    input_shape_.reset();
  }
  return x.reshaped(out.value());
}

Tensor Flatten::backward(const Tensor& dy) {
  if (!input_shape_) {
    throw std::invalid_argument(describe() +
                                ": backward without a training forward (or after release())");
  }
  const Shape expected = output_shape(*input_shape_).value();
  if (dy.shape() != expected) {
    throw std::invalid_argument(describe() + ": backward got dy " + to_string(dy.shape()) +
                                ", expected " + to_string(expected) +
                                " from the last training forward");
  }
  return dy.reshaped(*input_shape_);
}

}  // namespace relulab::nn
