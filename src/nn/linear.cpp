// Linear: y = f(x W^T + b) with the bias add and f fused into one pass over the gemm's output.
#include "relulab/nn/linear.hpp"

#include <algorithm>
#include <stdexcept>

#include "relulab/gemm.hpp"
#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

int threads_for(std::size_t elements) {
  return elements >= kParallelThreshold ? thread_count() : 1;
}

// y[r, c] += b[c] on a row-major [rows, cols] matrix (the bias add when f is kept apart).
void add_bias_rows(float* y, std::size_t rows, std::size_t cols, const float* b) {
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static) num_threads(threads_for(rows* cols))
  for (std::int64_t r = 0; r < n; ++r) {
    float* row = y + static_cast<std::size_t>(r) * cols;
    for (std::size_t c = 0; c < cols; ++c) row[c] += b[c];
  }
}

// db[c] += sum over r of dz[r, c], rows added in ascending order in double for each column, so
// the result does not depend on the thread count. Blocks of columns keep the row reads contiguous.
void add_column_sums(const float* dz, std::size_t rows, std::size_t cols, float* db) {
  constexpr std::size_t kBlock = 64;
  const auto blocks = static_cast<std::int64_t>((cols + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(static) num_threads(threads_for(rows* cols))
  for (std::int64_t block = 0; block < blocks; ++block) {
    const std::size_t c0 = static_cast<std::size_t>(block) * kBlock;
    const std::size_t width = std::min(kBlock, cols - c0);
    double acc[kBlock] = {};
    for (std::size_t r = 0; r < rows; ++r) {
      const float* row = dz + r * cols + c0;
      for (std::size_t c = 0; c < width; ++c) acc[c] += row[c];
    }
    for (std::size_t c = 0; c < width; ++c) db[c0 + c] += static_cast<float>(acc[c]);
  }
}

}  // namespace

Linear::Linear(std::int64_t in, std::int64_t out, std::optional<ActivationSpec> activation,
               bool bias)
    : in_(in), out_(out), has_bias_(bias) {
  if (in < 1 || out < 1) {
    throw std::invalid_argument("linear: need in >= 1 and out >= 1, got " + std::to_string(in) +
                                " -> " + std::to_string(out));
  }
  if (activation) step_.emplace(*activation);
  weight_ = {"weight", Tensor({out, in}), Tensor({out, in}), ParamRole::kWeight, in,
             out,      activation};
  if (bias) bias_ = {"bias", Tensor({out}), Tensor({out}), ParamRole::kBias, in, out, activation};
}

std::optional<ActivationSpec> Linear::activation() const {
  if (!step_) return std::nullopt;
  return step_->spec();
}

std::string Linear::describe() const {
  std::string s = "linear(" + std::to_string(in_) + " -> " + std::to_string(out_);
  if (step_) s += ", " + relulab::describe(step_->spec());
  if (!has_bias_) s += ", no bias";
  return s + ")";
}

Result<Shape> Linear::output_shape(const Shape& input) const {
  if (input.size() != 2 || input[1] != in_) {
    return Status::invalid_argument(describe() + ": expected input [N, " + std::to_string(in_) +
                                    "], got " + to_string(input));
  }
  return Shape{input[0], out_};
}

// ----------------------------------------------------------------------------------------------
// Forward:  z = x W^T + b      x [N, in], W [out, in], b [out]    gemm, then the bias in the pass
//           y = f(z)           y [N, out]                          of f (in place over z)
// Backward: dz = dy * f'(.)    from the mask, y or z that ActivationStep kept (dz = dy without f)
//           dW += dz^T x       [out, N] x [N, in]                  gemm with beta = 1
//           db += sum_n dz     column sums in double
//           dx  = dz W         [N, out] x [out, in]                skipped when !input_gradient()
// ----------------------------------------------------------------------------------------------
Tensor Linear::forward(const Tensor& x, const Pass& pass) {
  if (const Result<Shape> out = output_shape(x.shape()); !out) {
    throw std::invalid_argument(out.status().message());
  }
  const auto n = static_cast<std::size_t>(x.dim(0));
  const auto in = static_cast<std::size_t>(in_);
  const auto out = static_cast<std::size_t>(out_);
  const bool train = pass.mode == Mode::kTrain;
  x_ = train ? x : Tensor();
  kept_input_ = train;

  Tensor y = Tensor::uninitialized({x.dim(0), out_});
  gemm(Transpose::kNo, Transpose::kYes, n, out, in, 1.0f, x.data(), in, weight_.value.data(), in,
       0.0f, y.data(), out);
  if (!step_) {
    if (has_bias_) add_bias_rows(y.data(), n, out, bias_.value.data());
    return y;
  }
  if (train && step_->keeps() == ActivationStep::Keeps::kPreActivation) {
    // Backward needs z itself: y = f(z) goes to a new tensor.
    if (has_bias_) add_bias_rows(y.data(), n, out, bias_.value.data());
    return step_->forward(y, Mode::kTrain);
  }
  if (has_bias_) {
    bias_activation_forward_rows(step_->spec(), n, out, y.span(), bias_.value.span(), y.span());
  } else {
    activation_forward(step_->spec(), y.span(), y.span());
  }
  if (train) {
    step_->keep_fused_output(y);
  } else {
    step_->release();
  }
  return y;
}

Tensor Linear::backward(const Tensor& dy) {
  if (!kept_input_) {
    throw std::invalid_argument(describe() +
                                ": backward without a training forward (or after release())");
  }
  const Shape expected{x_.dim(0), out_};
  if (dy.shape() != expected) {
    throw std::invalid_argument(describe() + ": backward got dy " + to_string(dy.shape()) +
                                ", expected " + to_string(expected) +
                                " from the last training forward");
  }
  const auto n = static_cast<std::size_t>(x_.dim(0));
  const auto in = static_cast<std::size_t>(in_);
  const auto out = static_cast<std::size_t>(out_);
  const Tensor dz = step_ ? step_->backward(dy, *this) : dy;
  gemm(Transpose::kYes, Transpose::kNo, out, in, n, 1.0f, dz.data(), out, x_.data(), in, 1.0f,
       weight_.grad.data(), in);
  if (has_bias_) add_column_sums(dz.data(), n, out, bias_.grad.data());
  if (!input_gradient()) return Tensor();
  Tensor dx = Tensor::uninitialized(x_.shape());
  gemm(Transpose::kNo, Transpose::kNo, n, in, out, 1.0f, dz.data(), out, weight_.value.data(), in,
       0.0f, dx.data(), in);
  return dx;
}

std::vector<Parameter*> Linear::parameters() {
  if (!has_bias_) return {&weight_};
  return {&weight_, &bias_};
}

std::vector<SavedBlock> Linear::saved() const {
  if (!kept_input_) return {};
  std::vector<SavedBlock> blocks{{x_.data(), x_.bytes()}};
  if (step_) {
    for (const SavedBlock& b : step_->saved()) blocks.push_back(b);
  }
  return blocks;
}

void Linear::release() {
  x_ = Tensor();
  kept_input_ = false;
  if (step_) step_->release();
}

}  // namespace relulab::nn
