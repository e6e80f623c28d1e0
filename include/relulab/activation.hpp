// The activation table and its float32 kernels.
//
// One table lists every activation with its formula, derivative, parameters (PyTorch's names and
// defaults) and PyTorch name; kernels, tests, benchmarks, docs and the CLI all iterate over it.
// Kernels run on contiguous float spans, use the widest SIMD target of this CPU (Highway, chosen
// at run time) and split large spans across OpenMP threads.
//
// Error behaviour: kernels are hot paths and check only sizes; mismatched span sizes or a
// backward_from_output call on an activation that does not allow it throw std::invalid_argument.
// Parameters are validated by make_spec/validate, not by the kernels.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "relulab/status.hpp"

namespace relulab {

enum class Activation : std::uint8_t {
  kReLU,
  kLeakyReLU,
  kPReLU,
  kReLU6,
  kELU,
  kSELU,
  kCELU,
  kGELU,      // exact: x * Phi(x), PyTorch approximate='none'
  kGELUTanh,  // PyTorch approximate='tanh'
  kSiLU,
  kMish,
  kSoftplus,
  kHardSigmoid,
  kHardSwish,
  kSigmoid,
  kTanh,
};
inline constexpr std::size_t kActivationCount = 16;

struct ParamInfo {
  std::string_view name;        // PyTorch's argument name, e.g. "negative_slope"
  float default_value;          // PyTorch's default
  std::string_view constraint;  // e.g. "finite", "> 0"
};

struct ActivationInfo {
  Activation id;
  std::string_view name;        // CLI and file name: "relu", "leaky_relu", "gelu_tanh", ...
  std::string_view pytorch;     // e.g. "torch.nn.GELU(approximate='tanh')"
  std::string_view formula;     // f(x), plain text
  std::string_view derivative;  // f'(x), plain text
  std::array<ParamInfo, 2> params;
  int param_count;
  bool backward_from_output;  // dx can be computed from y = f(x) and dy alone
  bool piecewise_polynomial;  // polynomial pieces (degree <= 2), no transcendental: cheap
  bool zero_for_negative;     // f(x) = 0 for all x < 0 (ReLU, ReLU6): units can die exactly
};

// The whole table, in enum order.
std::span<const ActivationInfo> activation_table() noexcept;
const ActivationInfo& activation_info(Activation a) noexcept;

// Looks a name up (case-insensitive; "swish" is accepted for "silu"). On failure the message
// lists the valid names and suggests the closest one.
Result<Activation> parse_activation(std::string_view name);

// An activation with its parameters, meaning as in ActivationInfo::params (unused ones are 0).
// PReLU here has one slope shared by every element (PyTorch num_parameters=1); per-channel
// slopes use prelu_forward/prelu_backward.
struct ActivationSpec {
  Activation kind = Activation::kReLU;
  std::array<float, 2> params{};
};

// The spec with PyTorch's default parameters.
ActivationSpec default_spec(Activation a) noexcept;
// Checks every parameter against its constraint; the error names the parameter and its value.
Status validate(const ActivationSpec& spec);
// "leaky_relu" or "leaky_relu(negative_slope=0.2)" style, for reports and error messages.
std::string describe(const ActivationSpec& spec);

// y = f(x). In place (y.data() == x.data()) is allowed.
void activation_forward(const ActivationSpec& spec, std::span<const float> x, std::span<float> y);

// dx = dy * f'(x). dx may alias dy.
void activation_backward(const ActivationSpec& spec, std::span<const float> x,
                         std::span<const float> dy, std::span<float> dx);

// dx = dy * f'(x) computed from y = f(x), for activations whose info has backward_from_output,
// so that training can free x. dx may alias dy.
void activation_backward_from_output(const ActivationSpec& spec, std::span<const float> y,
                                     std::span<const float> dy, std::span<float> dx);

// Fused bias + activation on a row-major [rows, cols] matrix: y[r, c] = f(x[r, c] + bias[c]).
// In place allowed.
void bias_activation_forward_rows(const ActivationSpec& spec, std::size_t rows, std::size_t cols,
                                  std::span<const float> x, std::span<const float> bias,
                                  std::span<float> y);

// Fused bias + activation on an NCHW tensor: y[n, c, i] = f(x[n, c, i] + bias[c]), i < hw.
// In place allowed.
void bias_activation_forward_nchw(const ActivationSpec& spec, std::size_t n, std::size_t c,
                                  std::size_t hw, std::span<const float> x,
                                  std::span<const float> bias, std::span<float> y);

// PReLU with one learnable slope per channel on a tensor laid out [outer, channels, inner]:
// y = x > 0 ? x : slope[c] * x.
void prelu_forward(std::size_t outer, std::size_t channels, std::size_t inner,
                   std::span<const float> x, std::span<const float> slope, std::span<float> y);
// dx = dy * (x > 0 ? 1 : slope[c]); dslope[c] = sum over outer, inner of dy * (x > 0 ? 0 : x)
// (overwritten, summed in double).
void prelu_backward(std::size_t outer, std::size_t channels, std::size_t inner,
                    std::span<const float> x, std::span<const float> slope,
                    std::span<const float> dy, std::span<float> dx, std::span<float> dslope);

// ReLU with a packed 1-bit mask: bit (i % 8) of mask[i / 8] is !(x[i] <= 0), i.e. x > 0 or NaN (dy
// passes where the forward output was NaN, as in PyTorch's threshold_backward). Backward reads only
// the mask and dy, 1/32 of the memory of a saved float tensor.
constexpr std::size_t relu_mask_bytes(std::size_t n) {
  return (n + 7) / 8;
}
void relu_forward_mask(std::span<const float> x, std::span<float> y, std::span<std::uint8_t> mask);
void relu_backward_mask(std::span<const std::uint8_t> mask, std::span<const float> dy,
                        std::span<float> dx);

// The SIMD target the kernels dispatch to on this CPU, e.g. "AVX3", "AVX2", "SSE4", "EMU128".
std::string simd_target_name();

}  // namespace relulab
