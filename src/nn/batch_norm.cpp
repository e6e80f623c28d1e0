// BatchNorm over [N, C] (per feature) or [N, C, H, W] (per channel), as PyTorch's BatchNorm1d/2d.
#include "relulab/nn/batch_norm.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

// x viewed as [outer, channels, inner]: a channel's values are `outer` planes of `inner` floats.
struct Layout {
  std::size_t outer, channels, inner;
  std::size_t per_channel() const { return outer * inner; }  // M
  std::size_t plane(std::size_t n, std::size_t c) const { return (n * channels + c) * inner; }
};

Layout layout_of(const Shape& shape) {
  std::size_t inner = 1;
  for (std::size_t d = 2; d < shape.size(); ++d) inner *= static_cast<std::size_t>(shape[d]);
  return {static_cast<std::size_t>(shape[0]), static_cast<std::size_t>(shape[1]), inner};
}

int threads_for(std::size_t elements) {
  return elements >= kParallelThreshold ? thread_count() : 1;
}

// out[c] = sum over planes n = 0, 1, ... of plane_sum(offset of plane (n, c)), in double. Each
// channel is summed in the same order whatever the thread count.
template <class PlaneSum>
std::vector<double> per_channel_sum(const Layout& l, const PlaneSum& plane_sum) {
  std::vector<double> out(l.channels);
  const auto channels = static_cast<std::int64_t>(l.channels);
#pragma omp parallel for schedule(static) num_threads(threads_for(l.channels* l.per_channel()))
  for (std::int64_t c = 0; c < channels; ++c) {
    double s = 0;
    const auto uc = static_cast<std::size_t>(c);
    for (std::size_t n = 0; n < l.outer; ++n) s += plane_sum(l.plane(n, uc));
    out[uc] = s;
  }
  return out;
}

// y[n, c, i] = (x[n, c, i] - center[c]) * scale[c] + shift[c]; centring first keeps the
// precision when |mean| >> std.
void scale_shift(const Layout& l, const float* x, const std::vector<float>& center,
                 const std::vector<float>& scale, const std::vector<float>& shift, float* y) {
  const auto planes = static_cast<std::int64_t>(l.outer * l.channels);
#pragma omp parallel for schedule(static) num_threads(threads_for(l.channels* l.per_channel()))
  for (std::int64_t p = 0; p < planes; ++p) {
    const std::size_t c = static_cast<std::size_t>(p) % l.channels;
    const std::size_t base = static_cast<std::size_t>(p) * l.inner;
    for (std::size_t i = 0; i < l.inner; ++i) {
      y[base + i] = (x[base + i] - center[c]) * scale[c] + shift[c];
    }
  }
}

}  // namespace

BatchNorm::BatchNorm(std::int64_t features, float eps, float momentum)
    : features_(features), eps_(eps), momentum_(momentum) {
  if (features < 1 || !(eps > 0) || !(momentum >= 0 && momentum <= 1)) {
    throw std::invalid_argument(
        "batchnorm: need features >= 1, eps > 0 and momentum in [0, 1], got " +
        std::to_string(features) + ", " + std::to_string(eps) + ", " + std::to_string(momentum));
  }
  const Shape shape{features};
  weight_ = {"weight", Tensor::filled(shape, 1.0f), Tensor(shape), ParamRole::kScale, 0, 0, {}};
  bias_ = {"bias", Tensor(shape), Tensor(shape), ParamRole::kShift, 0, 0, {}};
  running_mean_ = {"running_mean", Tensor(shape)};
  running_var_ = {"running_var", Tensor::filled(shape, 1.0f)};
}

std::string BatchNorm::describe() const {
  return "batchnorm(" + std::to_string(features_) + ")";
}

Result<Shape> BatchNorm::output_shape(const Shape& input) const {
  if ((input.size() != 2 && input.size() != 4) || input[1] != features_) {
    const std::string f = std::to_string(features_);
    return Status::invalid_argument(describe() + ": expected input [N, " + f + "] or [N, " + f +
                                    ", H, W], got " + to_string(input));
  }
  return input;
}

// ----------------------------------------------------------------------------------------------
// Forward, x [N, C] or [N, C, H, W], per channel c over its M = N*H*W values:
//   train:  mean = sum(x) / M,  var = sum((x - mean)^2) / M          (double, biased)
//           invstd = 1 / sqrt(var + eps),  xhat = (x - mean) * invstd
//           y = gamma * xhat + beta
//           running_mean = (1 - momentum) running_mean + momentum mean
//           running_var  = (1 - momentum) running_var  + momentum var * M / (M - 1)  (unbiased)
//   eval:   y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
// Backward (train), with xhat recomputed from the kept x, mean and invstd:
//   dbeta  += sum(dy),  dgamma += sum(dy * xhat)
//   dx = gamma * invstd / M * (M dy - sum(dy) - xhat * sum(dy * xhat))
// ----------------------------------------------------------------------------------------------
Tensor BatchNorm::forward(const Tensor& x, const Pass& pass) {
  if (const Result<Shape> out = output_shape(x.shape()); !out) {
    throw std::invalid_argument(out.status().message());
  }
  const Layout l = layout_of(x.shape());
  const std::size_t m = l.per_channel();
  if (pass.mode == Mode::kTrain && m < 2) {
    throw std::invalid_argument(describe() +
                                ": training needs more than one value per channel, got " +
                                to_string(x.shape()));
  }
  std::vector<float> center(l.channels), scale(l.channels), shift(l.channels);
  const float* xp = x.data();
  if (pass.mode == Mode::kEval) {
    release();
    for (std::size_t c = 0; c < l.channels; ++c) {
      const double s =
          weight_.value[c] / std::sqrt(static_cast<double>(running_var_.value[c]) + eps_);
      center[c] = running_mean_.value[c];
      scale[c] = static_cast<float>(s);
      shift[c] = bias_.value[c];
    }
  } else {
    const double inv_m = 1.0 / static_cast<double>(m);
    const std::vector<double> sums = per_channel_sum(l, [&](std::size_t base) {
      double s = 0;
      for (std::size_t i = 0; i < l.inner; ++i) s += xp[base + i];
      return s;
    });
    std::vector<double> mean(l.channels);
    for (std::size_t c = 0; c < l.channels; ++c) mean[c] = sums[c] * inv_m;
    const std::vector<double> squares = per_channel_sum(l, [&](std::size_t base) {
      const double mu = mean[(base / l.inner) % l.channels];
      double s = 0;
      for (std::size_t i = 0; i < l.inner; ++i) s += (xp[base + i] - mu) * (xp[base + i] - mu);
      return s;
    });
    x_ = x;
    mean_ = Tensor::uninitialized({features_});
    invstd_ = Tensor::uninitialized({features_});
    const float keep = 1.0f - momentum_;
    for (std::size_t c = 0; c < l.channels; ++c) {
      const double var = squares[c] * inv_m;
      const double invstd = 1.0 / std::sqrt(var + eps_);
      mean_[c] = static_cast<float>(mean[c]);
      invstd_[c] = static_cast<float>(invstd);
      center[c] = mean_[c];
      scale[c] = static_cast<float>(weight_.value[c] * invstd);
      shift[c] = bias_.value[c];
      const double unbiased = squares[c] / static_cast<double>(m - 1);
      running_mean_.value[c] =
          static_cast<float>(keep * running_mean_.value[c] + momentum_ * mean[c]);
      running_var_.value[c] =
          static_cast<float>(keep * running_var_.value[c] + momentum_ * unbiased);
    }
  }
  Tensor y = Tensor::uninitialized(x.shape());
  scale_shift(l, xp, center, scale, shift, y.data());
  return y;
}

Tensor BatchNorm::backward(const Tensor& dy) {
  if (mean_.empty()) {
    throw std::invalid_argument(describe() +
                                ": backward without a training forward (or after release())");
  }
  if (dy.shape() != x_.shape()) {
    throw std::invalid_argument(describe() + ": backward got dy " + to_string(dy.shape()) +
                                ", expected " + to_string(x_.shape()) +
                                " from the last training forward");
  }
  const Layout l = layout_of(x_.shape());
  const float* xp = x_.data();
  const float* g = dy.data();
  const std::vector<double> sum_dy = per_channel_sum(l, [&](std::size_t base) {
    double s = 0;
    for (std::size_t i = 0; i < l.inner; ++i) s += g[base + i];
    return s;
  });
  // sum(dy * xhat) = invstd * sum(dy * (x - mean)).
  const std::vector<double> sum_dy_xhat = per_channel_sum(l, [&](std::size_t base) {
    const std::size_t c = (base / l.inner) % l.channels;
    const double mu = mean_[c];
    double s = 0;
    for (std::size_t i = 0; i < l.inner; ++i) s += g[base + i] * (xp[base + i] - mu);
    return s * invstd_[c];
  });
  // dx = a dy + b (x - mean) + k per channel: a = gamma invstd, b = -a invstd sum(dy xhat) / M,
  // k = -a sum(dy) / M.
  const double inv_m = 1.0 / static_cast<double>(l.per_channel());
  std::vector<float> a(l.channels), b(l.channels), k(l.channels);
  for (std::size_t c = 0; c < l.channels; ++c) {
    const double ac = static_cast<double>(weight_.value[c]) * invstd_[c];
    const double bc = -ac * invstd_[c] * sum_dy_xhat[c] * inv_m;
    a[c] = static_cast<float>(ac);
    b[c] = static_cast<float>(bc);
    k[c] = static_cast<float>(-ac * sum_dy[c] * inv_m);
    weight_.grad[c] += static_cast<float>(sum_dy_xhat[c]);
    bias_.grad[c] += static_cast<float>(sum_dy[c]);
  }
  Tensor dx = Tensor::uninitialized(dy.shape());
  float* out = dx.data();
  const float* mu = mean_.data();
  const auto planes = static_cast<std::int64_t>(l.outer * l.channels);
#pragma omp parallel for schedule(static) num_threads(threads_for(dy.size()))
  for (std::int64_t p = 0; p < planes; ++p) {
    const std::size_t c = static_cast<std::size_t>(p) % l.channels;
    const std::size_t base = static_cast<std::size_t>(p) * l.inner;
    for (std::size_t i = 0; i < l.inner; ++i) {
      out[base + i] = a[c] * g[base + i] + b[c] * (xp[base + i] - mu[c]) + k[c];
    }
  }
  return dx;
}

std::vector<SavedBlock> BatchNorm::saved() const {
  if (mean_.empty()) return {};
  return {
      {x_.data(), x_.bytes()}, {mean_.data(), mean_.bytes()}, {invstd_.data(), invstd_.bytes()}};
}

void BatchNorm::release() {
  x_ = Tensor();
  mean_ = Tensor();
  invstd_ = Tensor();
}

}  // namespace relulab::nn
