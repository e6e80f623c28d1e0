// The elementwise CUDA kernels of the activation table: forward, backward from the input, backward
// from the output, and forward with a bias added per column (rows) or per channel (NCHW).
//
// Each activation is a template argument, so the formula's switch folds away and each kernel is
// the math of one activation: formula::*_in_double (src/activation/formulas.hpp), the reference
// formulas in double rounded once to float. Double is affordable only on GPUs with fast FP64
// (A100, H100, H200: 1/2 of the FP32 rate): an H200 streaming 8 bytes per element at 4.8 TB/s has
// ~57 FP64 flops per element of its 34 TFLOPS, enough for the piecewise-linear ones and one exp or
// tanh, not for the heaviest backward passes (gelu, gelu_tanh, mish), which may run below copy
// speed; on GPUs with 1/64-rate FP64 every transcendental one is compute-bound. The benchmark
// (bench/cuda_activation_bench.cpp) measures which.
//
// Loops are grid-stride over float4 (16-byte loads and stores) when every pointer is 16-byte
// aligned and the rows or planes are whole float4s; the rest takes the same loop over floats.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "activation/formulas.hpp"
#include "cuda/launch.cuh"
#include "relulab/cuda/activation.hpp"

namespace relulab::cuda {
namespace {

using A = Activation;

template <Activation K>
struct ForwardOp {
  float a, b;
  __device__ float operator()(float x) const { return formula::forward_in_double(K, x, a, b); }
};
template <Activation K>
struct BackwardOp {
  float a, b;
  __device__ float operator()(float x, float dy) const {
    return formula::backward_in_double(K, x, dy, a, b);
  }
};
template <Activation K>
struct FromOutputOp {
  float a;
  __device__ float operator()(float y, float dy) const {
    return formula::backward_from_output_in_double(K, y, dy, a);
  }
};

__device__ inline float apply(const auto& op, float v) {
  return op(v);
}
__device__ inline float apply(const auto& op, float u, float v) {
  return op(u, v);
}
__device__ inline float4 apply(const auto& op, float4 v) {
  return make_float4(op(v.x), op(v.y), op(v.z), op(v.w));
}
__device__ inline float4 apply(const auto& op, float4 u, float4 v) {
  return make_float4(op(u.x, v.x), op(u.y, v.y), op(u.z, v.z), op(u.w, v.w));
}
// x + bias in float, as the CPU kernels add it: four biases, one broadcast, or one.
__device__ inline float4 add(float4 u, float4 v) {
  return make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w);
}
__device__ inline float4 add(float4 u, float b) {
  return make_float4(u.x + b, u.y + b, u.z + b, u.w + b);
}
__device__ inline float add(float u, float b) {
  return u + b;
}

// out[i] = op(a[i]) or op(a[i], b[i]) for i < n; V is float or float4. No __restrict__: in place
// is allowed.
template <class V, class Op>
__global__ void map1_kernel(const V* a, V* out, std::size_t n, Op op) {
  for (std::size_t i = grid_index(); i < n; i += grid_stride()) out[i] = apply(op, a[i]);
}
template <class V, class Op>
__global__ void map2_kernel(const V* a, const V* b, V* out, std::size_t n, Op op) {
  for (std::size_t i = grid_index(); i < n; i += grid_stride()) out[i] = apply(op, a[i], b[i]);
}
// out[i] = op(a[i] + bias[i / inner % channels]), in units of V (float or float4) and B (float, or
// float4 for rows of whole float4s). Index: uint32_t where n fits, as 64-bit division is many
// times the cost of 32-bit on a GPU and would otherwise rival the memory time.
template <class V, class B, class Index, class Op>
__global__ void bias_kernel(const V* a, const B* bias, V* out, std::size_t n, Index inner,
                            Index channels, Op op) {
  for (std::size_t i = grid_index(); i < n; i += grid_stride()) {
    out[i] = apply(op, add(a[i], bias[static_cast<Index>(i) / inner % channels]));
  }
}

// Calls f(std::integral_constant<Activation, kind>).
template <class F>
void visit(Activation kind, F&& f) {
  switch (kind) {
    case A::kReLU:
      return f(std::integral_constant<A, A::kReLU>{});
    case A::kLeakyReLU:
      return f(std::integral_constant<A, A::kLeakyReLU>{});
    case A::kPReLU:
      return f(std::integral_constant<A, A::kPReLU>{});
    case A::kReLU6:
      return f(std::integral_constant<A, A::kReLU6>{});
    case A::kELU:
      return f(std::integral_constant<A, A::kELU>{});
    case A::kSELU:
      return f(std::integral_constant<A, A::kSELU>{});
    case A::kCELU:
      return f(std::integral_constant<A, A::kCELU>{});
    case A::kGELU:
      return f(std::integral_constant<A, A::kGELU>{});
    case A::kGELUTanh:
      return f(std::integral_constant<A, A::kGELUTanh>{});
    case A::kSiLU:
      return f(std::integral_constant<A, A::kSiLU>{});
    case A::kMish:
      return f(std::integral_constant<A, A::kMish>{});
    case A::kSoftplus:
      return f(std::integral_constant<A, A::kSoftplus>{});
    case A::kHardSigmoid:
      return f(std::integral_constant<A, A::kHardSigmoid>{});
    case A::kHardSwish:
      return f(std::integral_constant<A, A::kHardSwish>{});
    case A::kSigmoid:
      return f(std::integral_constant<A, A::kSigmoid>{});
    case A::kTanh:
      return f(std::integral_constant<A, A::kTanh>{});
  }
  throw std::invalid_argument("relulab::cuda: unknown activation");
}

const float4* as4(const float* p) {
  return reinterpret_cast<const float4*>(p);
}
float4* as4(float* p) {
  return reinterpret_cast<float4*>(p);
}
bool aligned16(const float* p) {
  return aligned(p, 16);
}

// The float4 part (as many whole float4s as there are) and then the < 4 floats left, or all of it
// as floats where a pointer is not 16-byte aligned.
template <class Op>
void map1(const float* a, float* out, std::size_t n, Op op, Stream stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  std::size_t done = 0;
  if (aligned16(a) && aligned16(out) && n >= 4) {
    const std::size_t n4 = n / 4;
    launch(map1_kernel<float4, Op>, n4, s, as4(a), as4(out), n4, op);
    done = n4 * 4;
  }
  if (done < n) launch(map1_kernel<float, Op>, n - done, s, a + done, out + done, n - done, op);
  check_launch("relulab::cuda elementwise kernel launch");
}

template <class Op>
void map2(const float* a, const float* b, float* out, std::size_t n, Op op, Stream stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  std::size_t done = 0;
  if (aligned16(a) && aligned16(b) && aligned16(out) && n >= 4) {
    const std::size_t n4 = n / 4;
    launch(map2_kernel<float4, Op>, n4, s, as4(a), as4(b), as4(out), n4, op);
    done = n4 * 4;
  }
  if (done < n) {
    launch(map2_kernel<float, Op>, n - done, s, a + done, b + done, out + done, n - done, op);
  }
  check_launch("relulab::cuda elementwise kernel launch");
}

template <class Index, class Op>
void bias_launch(const Op& op, bool vector, bool rows, std::size_t n, std::size_t inner,
                 std::size_t channels, const float* x, const float* bias, float* y,
                 cudaStream_t s) {
  const auto in = static_cast<Index>(inner), ch = static_cast<Index>(channels);
  if (!vector) {
    launch(bias_kernel<float, float, Index, Op>, n, s, x, bias, y, n, in, ch, op);
  } else if (rows) {
    launch(bias_kernel<float4, float4, Index, Op>, n / 4, s, as4(x), as4(bias), as4(y), n / 4,
           Index{1}, static_cast<Index>(ch / 4), op);
  } else {
    launch(bias_kernel<float4, float, Index, Op>, n / 4, s, as4(x), bias, as4(y), n / 4,
           static_cast<Index>(in / 4), ch, op);
  }
}

// inner: elements per bias value (1 for rows, hw for NCHW); channels: bias values.
void bias_forward(const ActivationSpec& spec, std::size_t n, std::size_t inner,
                  std::size_t channels, const float* x, const float* bias, float* y,
                  Stream stream) {
  if (n == 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  // Rows: a float4 of x takes a float4 of bias (cols % 4 == 0). NCHW: a float4 of x lies in one
  // plane and takes one bias value (hw % 4 == 0).
  const bool rows = inner == 1;
  const bool vector = aligned16(x) && aligned16(y) &&
                      (rows ? channels % 4 == 0 && aligned16(bias) : inner % 4 == 0);
  visit(spec.kind, [&](auto k) {
    using Op = ForwardOp<decltype(k)::value>;
    const Op op{spec.params[0], spec.params[1]};
    if (n <= UINT32_MAX) {
      bias_launch<std::uint32_t>(op, vector, rows, n, inner, channels, x, bias, y, s);
    } else {
      bias_launch<std::size_t>(op, vector, rows, n, inner, channels, x, bias, y, s);
    }
  });
  check_launch("relulab::cuda bias + activation kernel launch");
}

}  // namespace

void activation_forward(const ActivationSpec& spec, std::span<const float> x, std::span<float> y,
                        Stream stream) {
  require(x.size() == y.size(), "cuda::activation_forward: x and y differ in size");
  if (x.empty()) return;
  visit(spec.kind, [&](auto k) {
    map1(x.data(), y.data(), x.size(),
         ForwardOp<decltype(k)::value>{spec.params[0], spec.params[1]}, stream);
  });
}

void activation_backward(const ActivationSpec& spec, std::span<const float> x,
                         std::span<const float> dy, std::span<float> dx, Stream stream) {
  require(x.size() == dy.size() && x.size() == dx.size(),
          "cuda::activation_backward: x, dy and dx differ in size");
  if (x.empty()) return;
  visit(spec.kind, [&](auto k) {
    map2(x.data(), dy.data(), dx.data(), x.size(),
         BackwardOp<decltype(k)::value>{spec.params[0], spec.params[1]}, stream);
  });
}

void activation_backward_from_output(const ActivationSpec& spec, std::span<const float> y,
                                     std::span<const float> dy, std::span<float> dx,
                                     Stream stream) {
  if (!activation_info(spec.kind).backward_from_output) {
    throw std::invalid_argument(std::string(activation_info(spec.kind).name) +
                                " has no backward from the output; use activation_backward");
  }
  require(y.size() == dy.size() && y.size() == dx.size(),
          "cuda::activation_backward_from_output: y, dy and dx differ in size");
  if (y.empty()) return;
  visit(spec.kind, [&](auto k) {
    map2(y.data(), dy.data(), dx.data(), y.size(), FromOutputOp<decltype(k)::value>{spec.params[0]},
         stream);
  });
}

void bias_activation_forward_rows(const ActivationSpec& spec, std::size_t rows, std::size_t cols,
                                  std::span<const float> x, std::span<const float> bias,
                                  std::span<float> y, Stream stream) {
  require(x.size() == rows * cols && y.size() == x.size() && bias.size() == cols,
          "cuda::bias_activation_forward_rows: sizes do not match [rows, cols] and bias[cols]");
  bias_forward(spec, x.size(), 1, cols, x.data(), bias.data(), y.data(), stream);
}

void bias_activation_forward_nchw(const ActivationSpec& spec, std::size_t n, std::size_t c,
                                  std::size_t hw, std::span<const float> x,
                                  std::span<const float> bias, std::span<float> y, Stream stream) {
  require(x.size() == n * c * hw && y.size() == x.size() && bias.size() == c,
          "cuda::bias_activation_forward_nchw: sizes do not match [n, c, hw] and bias[c]");
  bias_forward(spec, x.size(), hw, c, x.data(), bias.data(), y.data(), stream);
}

}  // namespace relulab::cuda
