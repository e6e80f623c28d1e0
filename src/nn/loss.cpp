#include "relulab/nn/loss.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "relulab/threads.hpp"

namespace relulab::nn {
namespace {

// One row of softmax cross-entropy: writes (softmax(z) - onehot(label)) * scale into g and
// returns lse - z[label]. The row maximum is found first so that every exp argument is <= 0.
double cross_entropy_row(const float* z, std::size_t k, std::int32_t label, double scale, float* g,
                         bool* hit) {
  float m = z[0];
  std::size_t argmax = 0;
  for (std::size_t j = 1; j < k; ++j) {
    if (z[j] > m) m = z[j], argmax = j;
  }
  const auto y = static_cast<std::size_t>(label);
  *hit = argmax == y;
  const double md = m;
  double sum = 0;
  for (std::size_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j]) - md);
  const double inv_sum = 1.0 / sum;
  for (std::size_t j = 0; j < k; ++j) {
    const double p = std::exp(static_cast<double>(z[j]) - md) * inv_sum;
    g[j] = static_cast<float>((p - (j == y ? 1.0 : 0.0)) * scale);
  }
  return md + std::log(sum) - static_cast<double>(z[y]);
}

}  // namespace

LossResult softmax_cross_entropy(const Tensor& logits, std::span<const std::int32_t> labels) {
  if (logits.rank() != 2 || logits.dim(0) == 0 || logits.dim(1) == 0) {
    throw std::invalid_argument("softmax_cross_entropy: logits must be a non-empty [N, K], got " +
                                to_string(logits.shape()));
  }
  const auto n = static_cast<std::size_t>(logits.dim(0));
  const auto k = static_cast<std::size_t>(logits.dim(1));
  if (labels.size() != n) {
    throw std::invalid_argument("softmax_cross_entropy: " + std::to_string(labels.size()) +
                                " labels for logits " + to_string(logits.shape()));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= k) {
      throw std::invalid_argument("softmax_cross_entropy: label " + std::to_string(labels[i]) +
                                  " of example " + std::to_string(i) + " is outside [0, " +
                                  std::to_string(k) + ")");
    }
  }
  LossResult result{0, Tensor::uninitialized(logits.shape()), 0};
  // Per-row results summed afterwards in row order: the same bits for any thread count.
  std::vector<double> row_loss(n);
  std::vector<char> row_hit(n);
  const double scale = 1.0 / static_cast<double>(n);
  const float* z = logits.data();
  float* g = result.grad.data();
  const auto rows = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static) \
    num_threads(thread_count()) if (n * k >= kParallelThreshold)
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto i = static_cast<std::size_t>(r);
    bool hit = false;
    row_loss[i] = cross_entropy_row(z + i * k, k, labels[i], scale, g + i * k, &hit);
    row_hit[i] = hit ? 1 : 0;
  }
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    total += row_loss[i];
    result.correct += row_hit[i];
  }
  result.loss = total * scale;
  return result;
}

LossResult mse_loss(const Tensor& prediction, const Tensor& target) {
  if (prediction.shape() != target.shape() || prediction.empty()) {
    throw std::invalid_argument("mse_loss: prediction " + to_string(prediction.shape()) +
                                " and target " + to_string(target.shape()) +
                                " must have the same non-empty shape");
  }
  LossResult result{0, Tensor::uninitialized(prediction.shape()), 0};
  const std::size_t m = prediction.size();
  const float* p = prediction.data();
  const float* t = target.data();
  float* g = result.grad.data();
  const auto grad_scale = static_cast<float>(2.0 / static_cast<double>(m));
  // Fixed-size chunks, each summed in double, then the chunk sums in order: the same bits for any
  // thread count.
  constexpr std::size_t kChunk = std::size_t{1} << 14;
  const std::size_t chunks = (m + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks);
  const auto chunk_count = static_cast<std::int64_t>(chunks);
#pragma omp parallel for schedule(static) num_threads(thread_count()) if (m >= kParallelThreshold)
  for (std::int64_t c = 0; c < chunk_count; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * kChunk;
    const std::size_t end = std::min(m, begin + kChunk);
    double sum = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const float d = p[i] - t[i];
      g[i] = grad_scale * d;
      sum += static_cast<double>(d) * d;
    }
    partial[static_cast<std::size_t>(c)] = sum;
  }
  double total = 0;
  for (const double s : partial) total += s;
  result.loss = total / static_cast<double>(m);
  return result;
}

}  // namespace relulab::nn
