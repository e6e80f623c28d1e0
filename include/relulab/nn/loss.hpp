// Losses: the value for reports and the gradient with respect to the model's output, in one call.
//
// Both are means (over the batch for cross-entropy, over all elements for MSE), as PyTorch's
// default reduction='mean', so a learning rate means the same whatever the batch size.
//
// Error behaviour: std::invalid_argument when shapes disagree, the batch is empty, or a label lies
// outside [0, K); the message names the loss and what was expected. Non-finite inputs are not an
// error: a NaN or infinite logit gives a non-finite loss, which the trainer detects and reports.
#pragma once

#include <cstdint>
#include <span>

#include "relulab/tensor.hpp"

namespace relulab::nn {

struct LossResult {
  double loss = 0;           // mean over the batch (or over all elements for MSE)
  Tensor grad;               // d loss / d input, same shape as the input
  std::int64_t correct = 0;  // classification hits (0 for regression losses)
};

// Softmax cross-entropy of logits [N, K] against labels (N of them, each in [0, K)), as
// torch.nn.CrossEntropyLoss():
//   loss = (1/N) sum_n (lse_n - z[n, y_n]),  lse_n = m_n + log sum_k exp(z[n, k] - m_n),
//   m_n = max_k z[n, k]  (subtracting the row maximum keeps exp from overflowing; logits of 1e4
//   give finite values), each row in double;
//   grad[n, k] = (softmax(z_n)_k - [k == y_n]) / N,  rounded to float;
//   correct = #{n : argmax_k z[n, k] == y_n}, the first maximum on ties.
LossResult softmax_cross_entropy(const Tensor& logits, std::span<const std::int32_t> labels);

// Mean squared error, as torch.nn.MSELoss(): loss = (1/M) sum_i (p_i - t_i)^2 over all M
// elements, summed in double; grad = 2 (p - t) / M. correct = 0.
LossResult mse_loss(const Tensor& prediction, const Tensor& target);

}  // namespace relulab::nn
