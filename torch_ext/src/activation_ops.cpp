// relulab's activation kernels as PyTorch operators, registered in the dispatcher as
// torch.ops.relulab.* when the module is loaded (relulab_torch/_ops.py imports it):
// - activation(Tensor x, int kind, float p0, float p1) -> Tensor: every table entry but PReLU;
// - prelu(Tensor x, Tensor weight) -> Tensor: PReLU, one slope or one per channel (prelu_ops.cpp);
// - table() -> str: the table as JSON, for the Python package.
//
// Which code runs, by input:
//   float32, CPU, contiguous: relulab's SIMD kernels (runtime dispatch, OpenMP threads as many as
//     torch.get_num_threads()). Backward uses the saved output where the table allows
//     (backward_from_output), so autograd keeps y, not x.
//   float64, CPU, contiguous: relulab's long-double reference rounded to double (exact to double
//     rounding; slow, meant for checking gradients with torch.autograd.gradcheck).
//   anything else (other dtypes, other devices, non-contiguous): PyTorch's own op with the same
//     definition, so results and autograd are PyTorch's.
// Errors are c10::Error (RuntimeError in Python) naming the activation and what is wrong.
// First: libtorch 1.13's headers use c10::IValue in std::vector before defining it, which clang 14
// rejects in C++20 (vector's members are constexpr there); g++ 12 accepts either order.
#include <ATen/core/ivalue.h>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/autograd/saved_variable.h>
#include <torch/library.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "ops.hpp"
#include "relulab/activation.hpp"
#include "relulab/activation_reference.hpp"
#include "relulab/threads.hpp"

namespace relulab::torch_ext {
namespace {

using torch::autograd::variable_list;

ActivationSpec spec_from(std::int64_t kind, double p0, double p1) {
  TORCH_CHECK(kind >= 0 && kind < static_cast<std::int64_t>(kActivationCount),
              "relulab: activation id ", kind, " is out of range [0, ", kActivationCount, ")");
  ActivationSpec spec{static_cast<Activation>(kind),
                      {static_cast<float>(p0), static_cast<float>(p1)}};
  const Status s = validate(spec);
  TORCH_CHECK(s.is_ok(), "relulab: ", s.message());
  return spec;
}

at::Tensor pytorch_forward(const ActivationSpec& spec, const at::Tensor& x) {
  const double a = spec.params[0];
  const double b = spec.params[1];
  switch (spec.kind) {
    case Activation::kReLU:
      return at::relu(x);
    case Activation::kLeakyReLU:
      return at::leaky_relu(x, a);
    case Activation::kPReLU:
      return at::prelu(x, at::full({1}, a, x.options()));
    case Activation::kReLU6:
      return at::hardtanh(x, 0.0, 6.0);
    case Activation::kELU:
      return at::elu(x, a);
    case Activation::kSELU:
      return at::selu(x);
    case Activation::kCELU:
      return at::celu(x, a);
    case Activation::kGELU:
      return at::gelu(x, "none");
    case Activation::kGELUTanh:
      return at::gelu(x, "tanh");
    case Activation::kSiLU:
      return at::silu(x);
    case Activation::kMish:
      return at::mish(x);
    case Activation::kSoftplus:
      return at::softplus(x, a, b);
    case Activation::kHardSigmoid:
      return at::hardsigmoid(x);
    case Activation::kHardSwish:
      return at::hardswish(x);
    case Activation::kSigmoid:
      return at::sigmoid(x);
    case Activation::kTanh:
      return at::tanh(x);
  }
  TORCH_CHECK(false, "relulab: no PyTorch op for activation ", static_cast<int>(spec.kind));
}

at::Tensor relulab_forward(const ActivationSpec& spec, const at::Tensor& x) {
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  if (x.scalar_type() == at::kFloat) {
    set_thread_count(at::get_num_threads());
    activation_forward(spec, span_of<const float>(x), span_of<float>(y));
  } else {
    const double* xs = x.data_ptr<double>();
    for_each_double(
        y, [&](std::int64_t i) { return static_cast<double>(reference_forward(spec, xs[i])); });
  }
  return y;
}

// dx = dy f'(x) from the saved input, or from the saved output y when from_output. Where f'
// is a select (ReLU, ReLU6, Hardsigmoid) dx is 0 where f' is 0, whatever dy is, as the float
// kernels and PyTorch's threshold/hardtanh/hardsigmoid backward do.
at::Tensor relulab_backward(const ActivationSpec& spec, const at::Tensor& saved, bool from_output,
                            const at::Tensor& dy_any) {
  const at::Tensor dy = dy_any.to(saved.scalar_type()).contiguous();
  TORCH_CHECK(dy.sizes() == saved.sizes(), "relulab: ", describe(spec), " backward got a gradient ",
              "of shape ", dy.sizes(), " for an output of shape ", saved.sizes());
  at::Tensor dx = at::empty_like(saved, at::MemoryFormat::Contiguous);
  if (saved.scalar_type() == at::kFloat) {
    set_thread_count(at::get_num_threads());
    if (from_output) {
      activation_backward_from_output(spec, span_of<const float>(saved), span_of<const float>(dy),
                                      span_of<float>(dx));
    } else {
      activation_backward(spec, span_of<const float>(saved), span_of<const float>(dy),
                          span_of<float>(dx));
    }
    return dx;
  }
  const double* s = saved.data_ptr<double>();
  const double* g = dy.data_ptr<double>();
  const bool select = spec.kind == Activation::kReLU || spec.kind == Activation::kReLU6 ||
                      spec.kind == Activation::kHardSigmoid;
  for_each_double(dx, [&](std::int64_t i) {
    const long double slope = from_output ? reference_derivative_from_output(spec, s[i])
                                          : reference_derivative(spec, s[i]);
    if (select && slope == 0) return 0.0;
    return static_cast<double>(slope * g[i]);
  });
  return dx;
}

// The autograd node of one call, as PyTorch's generated backward nodes are written: the spec and
// the saved tensor (y where the table allows, else x) are members, so a call costs no string-keyed
// saved_data as torch::autograd::Function would. Its backward is relulab's kernel. Double backward
// (create_graph=True) would need the backward to be differentiable, which a kernel is not: it is
// refused with a message rather than silently giving a zero second derivative.
struct RelulabActivationBackward : public torch::autograd::Node {
  ActivationSpec spec;
  bool from_output = false;
  torch::autograd::SavedVariable saved;

  std::string name() const override { return "RelulabActivationBackward"; }
  void release_variables() override { saved.reset_data(); }

  variable_list apply(variable_list&& grads) override {
    TORCH_CHECK(!at::GradMode::is_enabled(), "relulab: ", describe(spec),
                " has no double backward (create_graph=True); use PyTorch's ",
                std::string(activation_info(spec.kind).pytorch), " for higher derivatives");
    const at::Tensor tensor = saved.unpack(from_output ? shared_from_this() : nullptr);
    // After a backward without retain_graph, unpack throws PyTorch's own "backward through the
    // graph a second time" error.
    if (!grads[0].defined() || !should_compute_output(0)) return {at::Tensor()};
    return {relulab_backward(spec, tensor, from_output, grads[0])};
  }
};

at::Tensor forward_with_grad(const ActivationSpec& spec, const at::Tensor& x) {
  at::Tensor y = relulab_forward(spec, x);
  auto node = std::shared_ptr<RelulabActivationBackward>(new RelulabActivationBackward(),
                                                         torch::autograd::deleteNode);
  node->spec = spec;
  node->from_output = activation_info(spec.kind).backward_from_output;
  node->set_next_edges(torch::autograd::collect_next_edges(x));
  torch::autograd::set_history(y, node);
  node->saved = torch::autograd::SavedVariable(node->from_output ? y : x, node->from_output);
  return y;
}

}  // namespace

at::Tensor activation(const at::Tensor& x, std::int64_t kind, double p0, double p1) {
  const ActivationSpec spec = spec_from(kind, p0, p1);
  TORCH_CHECK(spec.kind != Activation::kPReLU,
              "relulab: prelu has a learnable weight; call torch.ops.relulab.prelu(x, weight)");
  if (!relulab_handles(x)) return pytorch_forward(spec, x);
  // Inference (no_grad, or an input that needs no gradient): no autograd node, nothing saved.
  if (!at::GradMode::is_enabled() || !x.requires_grad()) return relulab_forward(spec, x);
  return forward_with_grad(spec, x);
}

}  // namespace relulab::torch_ext

TORCH_LIBRARY(relulab, m) {
  m.def("activation(Tensor x, int kind, float p0, float p1) -> Tensor",
        &relulab::torch_ext::activation);
  m.def("prelu(Tensor x, Tensor weight) -> Tensor", &relulab::torch_ext::prelu);
  m.def("table() -> str", &relulab::torch_ext::table_json);
}
