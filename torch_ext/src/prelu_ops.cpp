// torch.ops.relulab.prelu(x, weight): PReLU with a learnable slope, as torch.nn.PReLU:
//   y = x > 0 ? x : w[c] * x,  c = the channel (dim 1) when weight has more than one element,
//   dx = dy * (x > 0 ? 1 : w[c]),  dw[c] = sum over the other dims of dy * (x > 0 ? 0 : x).
// float32 CPU contiguous x and weight run relulab's kernels (dw summed in double); float64 runs
// the same formulas in double; anything else is PyTorch's at::prelu.
// First: libtorch 1.13's headers use c10::IValue in std::vector before defining it, which clang 14
// rejects in C++20 (vector's members are constexpr there); g++ 12 accepts either order.
#include <ATen/core/ivalue.h>

#include <torch/torch.h>

#include <cstdint>

#include "ops.hpp"
#include "relulab/activation.hpp"
#include "relulab/threads.hpp"

namespace relulab::torch_ext {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// x as [outer, channels, inner]: one slope for all, or one per entry of dim 1.
struct Layout {
  std::int64_t outer = 1, channels = 1, inner = 1;
};

Layout layout_of(const at::Tensor& x, const at::Tensor& weight) {
  TORCH_CHECK(weight.dim() <= 1, "relulab: prelu weight must be 1-d (num_parameters), got shape ",
              weight.sizes());
  Layout l;
  if (weight.numel() == 1) {
    l.inner = x.numel();
    return l;
  }
  TORCH_CHECK(x.dim() >= 2 && x.size(1) == weight.numel(), "relulab: prelu has ", weight.numel(),
              " slopes (num_parameters), so the input needs ", weight.numel(),
              " channels in dim 1; got shape ", x.sizes());
  l.outer = x.size(0);
  l.channels = x.size(1);
  l.inner = l.outer * l.channels == 0 ? 0 : x.numel() / (l.outer * l.channels);
  return l;
}

at::Tensor forward_kernel(const at::Tensor& x, const at::Tensor& w, const Layout& l) {
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  if (x.scalar_type() == at::kFloat && l.channels == 1) {
    // One slope: the elementwise kernel, which splits over threads by elements (prelu_forward
    // splits by channels, so one channel would run on one thread).
    set_thread_count(at::get_num_threads());
    const ActivationSpec spec{Activation::kPReLU, {w.data_ptr<float>()[0], 0.0f}};
    activation_forward(spec, span_of<const float>(x), span_of<float>(y));
    return y;
  }
  if (x.scalar_type() == at::kFloat) {
    set_thread_count(at::get_num_threads());
    prelu_forward(static_cast<std::size_t>(l.outer), static_cast<std::size_t>(l.channels),
                  static_cast<std::size_t>(l.inner), span_of<const float>(x),
                  span_of<const float>(w), span_of<float>(y));
    return y;
  }
  const double* xs = x.data_ptr<double>();
  const double* ws = w.data_ptr<double>();
  for_each_double(y, [&](std::int64_t i) {
    const double slope = ws[(i / l.inner) % l.channels];
    return xs[i] > 0 ? xs[i] : slope * xs[i];
  });
  return y;
}

class RelulabPReLU : public torch::autograd::Function<RelulabPReLU> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight) {
    const Layout l = layout_of(x, weight);
    ctx->save_for_backward({x, weight});
    return forward_kernel(x, weight, l);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    TORCH_CHECK(!at::GradMode::is_enabled(),
                "relulab: prelu has no double backward (create_graph=True); use torch.nn.PReLU "
                "for higher derivatives");
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    const Layout l = layout_of(x, w);
    const at::Tensor dy = grads[0].to(x.scalar_type()).contiguous();
    at::Tensor dx = at::empty_like(x, at::MemoryFormat::Contiguous);
    at::Tensor dw = at::empty_like(w, at::MemoryFormat::Contiguous);
    if (x.scalar_type() == at::kFloat) {
      set_thread_count(at::get_num_threads());
      prelu_backward(static_cast<std::size_t>(l.outer), static_cast<std::size_t>(l.channels),
                     static_cast<std::size_t>(l.inner), span_of<const float>(x),
                     span_of<const float>(w), span_of<const float>(dy), span_of<float>(dx),
                     span_of<float>(dw));
      return {dx, dw};
    }
    const double* xs = x.data_ptr<double>();
    const double* ws = w.data_ptr<double>();
    const double* g = dy.data_ptr<double>();
    for_each_double(dx, [&](std::int64_t i) {
      return xs[i] > 0 ? g[i] : g[i] * ws[(i / l.inner) % l.channels];
    });
    double* dws = dw.data_ptr<double>();
    for (std::int64_t c = 0; c < l.channels; ++c) dws[c] = 0;
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      if (!(xs[i] > 0)) dws[(i / l.inner) % l.channels] += g[i] * xs[i];
    }
    return {dx, dw};
  }
};

}  // namespace

at::Tensor prelu(const at::Tensor& x, const at::Tensor& weight) {
  const bool ours = relulab_handles(x) && weight.device().is_cpu() && weight.is_contiguous() &&
                    weight.scalar_type() == x.scalar_type();
  if (!ours) return at::prelu(x, weight);
  const bool grad = at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  if (!grad) return forward_kernel(x, weight, layout_of(x, weight));
  return RelulabPReLU::apply(x, weight);
}

}  // namespace relulab::torch_ext
