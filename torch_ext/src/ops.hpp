// What the operator files of the PyTorch extension share: which inputs relulab's kernels take,
// and raw views of a tensor's data.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdint>
#include <span>
#include <string>

namespace relulab::torch_ext {

// CPU, contiguous float32 (the SIMD kernels) or float64 (the long-double reference); everything
// else goes to PyTorch's own op.
inline bool relulab_handles(const at::Tensor& x) {
  return x.device().is_cpu() && x.is_contiguous() &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble);
}

template <class T>
std::span<T> span_of(const at::Tensor& t) {
  return {t.data_ptr<std::remove_const_t<T>>(), static_cast<std::size_t>(t.numel())};
}

// out[i] = f(i) for every element of a contiguous float64 tensor, split over PyTorch's threads.
template <class F>
void for_each_double(const at::Tensor& out, F&& f) {
  double* o = out.data_ptr<double>();
  at::parallel_for(0, out.numel(), 4096, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) o[i] = f(i);
  });
}

// torch.ops.relulab.activation (activation_ops.cpp).
at::Tensor activation(const at::Tensor& x, std::int64_t kind, double p0, double p1);
// torch.ops.relulab.prelu (prelu_ops.cpp).
at::Tensor prelu(const at::Tensor& x, const at::Tensor& weight);
// torch.ops.relulab.table (table_json.cpp).
std::string table_json();

}  // namespace relulab::torch_ext
