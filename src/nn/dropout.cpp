// Inverted dropout with a 1-bit mask drawn from the pass seed.
#include "relulab/nn/dropout.hpp"

#include <cstdio>
#include <stdexcept>

#include "relulab/random.hpp"

namespace relulab::nn {

Dropout::Dropout(float p, std::uint64_t stream) : p_(p), stream_(stream) {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw std::invalid_argument("dropout: p must be in [0, 1), got " + std::to_string(p));
  }
}

std::string Dropout::describe() const {
  char p[32];
  std::snprintf(p, sizeof p, "%g", static_cast<double>(p_));
  return std::string("dropout(p=") + p + ")";
}

// ----------------------------------------------------------------------------------------------
// Forward (train): keep_i = u_i >= p, u_i ~ U[0, 1) from Rng::derived(seed, stream) in element
//                  order;  y_i = keep_i ? x_i / (1 - p) : 0.          Eval: y = x.
// Backward:        dx_i = keep_i ? dy_i / (1 - p) : 0.
// ----------------------------------------------------------------------------------------------
Tensor Dropout::forward(const Tensor& x, const Pass& pass) {
  if (pass.mode == Mode::kEval) {
    release();
    return x;
  }
  const std::size_t n = x.size();
  const float scale = 1.0f / (1.0f - p_);
  Rng rng = Rng::derived(pass.seed, stream_);
  mask_.assign((n + 7) / 8, 0);
  Tensor y = Tensor::uninitialized(x.shape());
  for (std::size_t i = 0; i < n; ++i) {
    const bool keep = rng.uniform() >= p_;
    mask_[i / 8] = static_cast<std::uint8_t>(mask_[i / 8] | (keep ? 1u << (i % 8) : 0u));
    y[i] = keep ? x[i] * scale : 0.0f;
  }
  shape_ = x.shape();
  kept_ = true;
  return y;
}

Tensor Dropout::backward(const Tensor& dy) {
  if (!kept_) {
    throw std::invalid_argument(describe() +
                                ": backward without a training forward (or after release())");
  }
  if (dy.shape() != shape_) {
    throw std::invalid_argument(describe() + ": backward got dy " + to_string(dy.shape()) +
                                ", expected " + to_string(shape_) +
                                " from the last training forward");
  }
  const float scale = 1.0f / (1.0f - p_);
  Tensor dx = Tensor::uninitialized(dy.shape());
  for (std::size_t i = 0; i < dy.size(); ++i) {
    dx[i] = (mask_[i / 8] >> (i % 8)) & 1u ? dy[i] * scale : 0.0f;
  }
  return dx;
}

std::vector<SavedBlock> Dropout::saved() const {
  if (!kept_) return {};
  return {{mask_.data(), mask_.size()}};
}

void Dropout::release() {
  std::vector<std::uint8_t>().swap(mask_);
  kept_ = false;
}

}  // namespace relulab::nn
