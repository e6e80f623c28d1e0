// The activation kernels: loops written once against Highway vectors, compiled for every x86
// target (AVX-512, AVX2, SSE4, EMU128) and chosen at run time; OpenMP splits large spans.
// The per-activation math is in ops-inl.h; this file holds the loops, the dispatch and the API.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "activation/kernels.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "activation/ops-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relulab::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Largest lane count of any x86 target (AVX-512: 16 floats); tails are copied into a buffer of
// this size so every op is evaluated on whole vectors, also in place.
constexpr std::size_t kMaxLanes = 64;

// body(v), or NaN where v is NaN unless the body is known to return it (kBodyKeepsNaN).
template <bool kBodyKeepsNaN>
HWY_INLINE VF Finish(VF v, VF result) {
  if constexpr (kBodyKeepsNaN) {
    return result;
  } else {
    return KeepNaN(v, result);
  }
}

// A load is held back while an older store that is still in flight has the same address bits
// 0..11 ("4K aliasing"). A loop that stores to `out` a few hundred bytes (mod 4096) above where
// it loads `in` meets this on nearly every vector when it walks up, and never when it walks
// down; two buffers that malloc places back to back (64 KiB + 64 B apart, say) are such a pair.
// relu forward on 2^14 floats, Zen 4: 7-10 Gelem/s with out - in = 64 B (mod 4096), 11-14 from
// 512 B on. So each loop walks in the direction where that distance is the larger.

// How far (in bytes) a loop walking up (or down) has moved on from a store to `out` when it
// loads from `in` at the same address bits 0..11: 4096 where the two share them (in place, or a
// whole number of pages apart), since the store is then a page behind.
HWY_INLINE std::uintptr_t AliasDistance(const float* in, const float* out, bool walk_down) {
  const auto from = reinterpret_cast<std::uintptr_t>(walk_down ? out : in);
  const auto to = reinterpret_cast<std::uintptr_t>(walk_down ? in : out);
  const std::uintptr_t gap = (to - from) % 4096;
  return gap == 0 ? 4096 : gap;
}

// Whether walking down keeps the loads of every input further from the stores than walking up.
HWY_INLINE bool WalkDown(std::initializer_list<const float*> ins, const float* out) {
  std::uintptr_t up = 4096, down = 4096;
  for (const float* in : ins) {
    up = std::min(up, AliasDistance(in, out, false));
    down = std::min(down, AliasDistance(in, out, true));
  }
  return down > up;
}

// body(i) for i = 0, stride, ..., whole - stride, walking up or down. One call site, so that
// the compiler inlines body (with two, it kept a transcendental body out of line: -15%).
template <class Body>
HWY_INLINE void ForEachVector(std::size_t whole, std::size_t stride, bool walk_down,
                              const Body& body) {
  for (std::size_t k = 0; k < whole; k += stride) body(walk_down ? whole - stride - k : k);
}

// Applies body(x) -> y over n floats; NaN inputs stay NaN whatever the op does.
template <bool kBodyKeepsNaN, class Body>
HWY_INLINE void Map1(const float* x, float* y, std::size_t n, const Body& body) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const std::size_t i = n - n % N;
  ForEachVector(i, N, WalkDown({x}, y), [&](std::size_t at) {
    const VF v = hn::LoadU(d, x + at);
    hn::StoreU(Finish<kBodyKeepsNaN>(v, body(v)), d, y + at);
  });
  if (i == n) return;
  HWY_ALIGN float buf[kMaxLanes] = {};
  std::memcpy(buf, x + i, (n - i) * sizeof(float));
  const VF v = hn::Load(d, buf);
  hn::Store(Finish<kBodyKeepsNaN>(v, body(v)), d, buf);
  std::memcpy(y + i, buf, (n - i) * sizeof(float));
}

// Applies body(a, b) -> out over n floats; NaN in a stays NaN (unless kBodyKeepsNaN: the body
// handles NaN itself).
template <bool kBodyKeepsNaN, class Body>
HWY_INLINE void Map2(const float* a, const float* b, float* out, std::size_t n, const Body& body) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const std::size_t i = n - n % N;
  ForEachVector(i, N, WalkDown({a, b}, out), [&](std::size_t at) {
    const VF va = hn::LoadU(d, a + at);
    hn::StoreU(Finish<kBodyKeepsNaN>(va, body(va, hn::LoadU(d, b + at))), d, out + at);
  });
  if (i == n) return;
  HWY_ALIGN float buf_a[kMaxLanes] = {};
  HWY_ALIGN float buf_b[kMaxLanes] = {};
  std::memcpy(buf_a, a + i, (n - i) * sizeof(float));
  std::memcpy(buf_b, b + i, (n - i) * sizeof(float));
  const VF va = hn::Load(d, buf_a);
  hn::Store(Finish<kBodyKeepsNaN>(va, body(va, hn::Load(d, buf_b))), d, buf_a);
  std::memcpy(out + i, buf_a, (n - i) * sizeof(float));
}

void ForwardSpan(const ActivationSpec& spec, const float* x, float* y, std::size_t n) {
  VisitOp(spec, [&](const auto& op) {
    const DF d;
    Map1<std::remove_cvref_t<decltype(op)>::kForwardKeepsNaN>(
        x, y, n, [&](VF v) { return op.Forward(d, v); });
  });
}

void BackwardSpan(const ActivationSpec& spec, const float* x, const float* dy, float* dx,
                  std::size_t n) {
  VisitOp(spec, [&](const auto& op) {
    const DF d;
    Map2<std::remove_cvref_t<decltype(op)>::kBackwardHandlesNaN>(
        x, dy, dx, n, [&](VF vx, VF vdy) { return op.Backward(d, vx, vdy); });
  });
}

void BackwardFromOutputSpan(const ActivationSpec& spec, const float* y, const float* dy, float* dx,
                            std::size_t n) {
  VisitOp(spec, [&](const auto& op) {
    using Op = std::remove_cvref_t<decltype(op)>;
    if constexpr (Op::kFromOutput) {
      const DF d;
      Map2<Op::kBackwardHandlesNaN>(
          y, dy, dx, n, [&](VF vy, VF vdy) { return op.BackwardFromOutput(d, vy, vdy); });
    }
  });
}

// y[r, c] = f(x[r, c] + bias[c]) for rows [0, rows). NaN where the sum is NaN (a NaN bias, or
// inf + -inf), not only where x is.
void BiasRowsSpan(const ActivationSpec& spec, std::size_t rows, std::size_t cols, const float* x,
                  const float* bias, float* y) {
  VisitOp(spec, [&](const auto& op) {
    constexpr bool kKeeps = std::remove_cvref_t<decltype(op)>::kForwardKeepsNaN;
    const DF d;
    for (std::size_t r = 0; r < rows; ++r) {
      Map2<true>(x + r * cols, bias, y + r * cols, cols, [&](VF v, VF b) {  // NaN: on the sum
        const VF sum = hn::Add(v, b);
        return Finish<kKeeps>(sum, op.Forward(d, sum));
      });
    }
  });
}

// y[p, i] = f(x[p, i] + bias[p % channels]) for planes [first, first + planes) of hw floats.
void BiasPlanesSpan(const ActivationSpec& spec, std::size_t first, std::size_t planes,
                    std::size_t channels, std::size_t hw, const float* x, const float* bias,
                    float* y) {
  VisitOp(spec, [&](const auto& op) {
    constexpr bool kKeeps = std::remove_cvref_t<decltype(op)>::kForwardKeepsNaN;
    const DF d;
    for (std::size_t p = first; p < first + planes; ++p) {
      const VF b = hn::Set(d, bias[p % channels]);
      Map1<true>(x + p * hw, y + p * hw, hw, [&](VF v) {  // NaN checked on the sum
        const VF sum = hn::Add(v, b);
        return Finish<kKeeps>(sum, op.Forward(d, sum));
      });
    }
  });
}

// PReLU over the channels [c0, c1) of an [outer, channels, inner] tensor; with dy, also the
// backward pass and dslope[c] = sum of dy * min(x, 0) (per-plane float sums, added in double).
void PReluChannels(std::size_t outer, std::size_t channels, std::size_t inner, std::size_t c0,
                   std::size_t c1, const float* x, const float* slope, const float* dy, float* out,
                   float* dslope) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  for (std::size_t c = c0; c < c1; ++c) {
    const VF a = hn::Set(d, slope[c]);
    double slope_grad = 0.0;
    for (std::size_t o = 0; o < outer; ++o) {
      const std::size_t base = (o * channels + c) * inner;
      if (dy == nullptr) {
        Map1<true>(x + base, out + base, inner,  // v > 0 ? v : v a keeps NaN
                   [&](VF v) { return hn::IfThenElse(hn::Gt(v, hn::Zero(d)), v, hn::Mul(v, a)); });
        continue;
      }
      VF sum = hn::Zero(d);
      std::size_t i = 0;
      for (; i + N <= inner; i += N) {
        const VF v = hn::LoadU(d, x + base + i);
        const VF g = hn::LoadU(d, dy + base + i);
        sum = hn::MulAdd(g, hn::Min(v, hn::Zero(d)), sum);
      }
      float plane_sum = hn::GetLane(hn::SumOfLanes(d, sum));
      for (; i < inner; ++i) plane_sum += dy[base + i] * (x[base + i] > 0 ? 0.0f : x[base + i]);
      slope_grad += plane_sum;
      Map2<true>(x + base, dy + base, out + base, inner, [&](VF v, VF g) {  // NaN: slope dy
        return hn::IfThenElse(hn::Gt(v, hn::Zero(d)), g, hn::Mul(g, a));
      });
    }
    if (dslope != nullptr) dslope[c] = static_cast<float>(slope_grad);
  }
}

// ReLU that also writes bit (i % 8) of mask[i / 8] = !(x[i] <= 0). n is a multiple of 8 except
// for the last chunk of a call.
void ReluMaskForwardSpan(const float* x, float* y, std::uint8_t* mask, std::size_t n) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const std::size_t step = N >= 8 ? N : 8;  // whole bytes of mask per step
  const std::size_t whole = n - n % step;
  ForEachVector(whole, step, WalkDown({x}, y), [&](std::size_t i) {
    std::uint8_t byte = 0;
    for (std::size_t k = 0; k < step; k += N) {
      const VF v = hn::LoadU(d, x + i + k);
      const auto positive = hn::Not(hn::Le(v, hn::Zero(d)));
      hn::StoreU(hn::IfThenElseZero(positive, v), d, y + i + k);
      std::uint8_t bits[kMaxLanes / 8] = {};
      hn::StoreMaskBits(d, positive, bits);
      if (N >= 8) {
        std::memcpy(mask + (i + k) / 8, bits, N / 8);
      } else {
        byte = static_cast<std::uint8_t>(byte | (bits[0] << k));
      }
    }
    if (N < 8) mask[i / 8] = byte;
  });
  for (std::size_t i = whole; i < n; ++i) {
    const bool positive = !(x[i] <= 0.0f);
    const std::uint8_t bit = static_cast<std::uint8_t>(1u << (i % 8));
    mask[i / 8] = static_cast<std::uint8_t>(positive ? (mask[i / 8] | bit) : (mask[i / 8] & ~bit));
    y[i] = positive ? x[i] : 0.0f;
  }
}

void ReluMaskBackwardSpan(const std::uint8_t* mask, const float* dy, float* dx, std::size_t n) {
  const DF d;
  const std::size_t N = hn::Lanes(d);
  const std::size_t step = N >= 8 ? N : 8;
  const std::size_t whole = n - n % step;
  ForEachVector(whole, step, WalkDown({dy}, dx), [&](std::size_t i) {
    for (std::size_t k = 0; k < step; k += N) {
      // For targets with fewer than 8 lanes, shift this vector's bits to the bottom of a byte.
      std::uint8_t bits[kMaxLanes / 8] = {};
      if (N >= 8) {
        std::memcpy(bits, mask + (i + k) / 8, N / 8);
      } else {
        bits[0] = static_cast<std::uint8_t>(mask[i / 8] >> k);
      }
      const auto positive = hn::LoadMaskBits(d, bits);
      // AND, not IfThenElseZero, which becomes a slow masked load (see ReluOp::Backward).
      hn::StoreU(hn::And(hn::VecFromMask(d, positive), hn::LoadU(d, dy + i + k)), d, dx + i + k);
    }
  });
  for (std::size_t i = whole; i < n; ++i) dx[i] = (mask[i / 8] >> (i % 8)) & 1u ? dy[i] : 0.0f;
}

}  // namespace relulab::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <omp.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "relulab/activation.hpp"
#include "relulab/threads.hpp"

namespace relulab {

HWY_EXPORT(ForwardSpan);
HWY_EXPORT(BackwardSpan);
HWY_EXPORT(BackwardFromOutputSpan);
HWY_EXPORT(BiasRowsSpan);
HWY_EXPORT(BiasPlanesSpan);
HWY_EXPORT(PReluChannels);
HWY_EXPORT(ReluMaskForwardSpan);
HWY_EXPORT(ReluMaskBackwardSpan);

namespace {

// Calls body(begin, end) on contiguous chunks of [0, n) whose starts are multiples of `align`,
// one chunk per thread: one thread below kParallelThreshold total work, else thread_count().
// Elementwise work gives the same bits whatever the split.
template <class Body>
void parallel_chunks(std::size_t n, std::size_t work, std::size_t align, const Body& body) {
  const int threads = thread_count();
  if (threads <= 1 || work < kParallelThreshold) {
    body(std::size_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t count = static_cast<std::size_t>(omp_get_num_threads());
    std::size_t per = (n + count - 1) / count;
    per = (per + align - 1) / align * align;
    const std::size_t begin = std::min(n, t * per);
    const std::size_t end = std::min(n, begin + per);
    if (begin < end) body(begin, end);
  }
}

constexpr std::size_t kChunkAlign = 64;  // floats: a cache line of mask bits and of data

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

}  // namespace

void activation_forward(const ActivationSpec& spec, std::span<const float> x, std::span<float> y) {
  require(x.size() == y.size(), "activation_forward: x and y differ in size");
  parallel_chunks(x.size(), x.size(), kChunkAlign, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(ForwardSpan)(spec, x.data() + b, y.data() + b, e - b);
  });
}

void activation_backward(const ActivationSpec& spec, std::span<const float> x,
                         std::span<const float> dy, std::span<float> dx) {
  require(x.size() == dy.size() && x.size() == dx.size(),
          "activation_backward: x, dy and dx differ in size");
  parallel_chunks(x.size(), x.size(), kChunkAlign, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(BackwardSpan)(spec, x.data() + b, dy.data() + b, dx.data() + b, e - b);
  });
}

void activation_backward_from_output(const ActivationSpec& spec, std::span<const float> y,
                                     std::span<const float> dy, std::span<float> dx) {
  if (!activation_info(spec.kind).backward_from_output) {
    throw std::invalid_argument(std::string(activation_info(spec.kind).name) +
                                " has no backward from the output; use activation_backward");
  }
  require(y.size() == dy.size() && y.size() == dx.size(),
          "activation_backward_from_output: y, dy and dx differ in size");
  parallel_chunks(y.size(), y.size(), kChunkAlign, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(BackwardFromOutputSpan)
    (spec, y.data() + b, dy.data() + b, dx.data() + b, e - b);
  });
}

void bias_activation_forward_rows(const ActivationSpec& spec, std::size_t rows, std::size_t cols,
                                  std::span<const float> x, std::span<const float> bias,
                                  std::span<float> y) {
  require(x.size() == rows * cols && y.size() == x.size() && bias.size() == cols,
          "bias_activation_forward_rows: sizes do not match [rows, cols] and bias[cols]");
  parallel_chunks(rows, rows * cols, 1, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(BiasRowsSpan)
    (spec, e - b, cols, x.data() + b * cols, bias.data(), y.data() + b * cols);
  });
}

void bias_activation_forward_nchw(const ActivationSpec& spec, std::size_t n, std::size_t c,
                                  std::size_t hw, std::span<const float> x,
                                  std::span<const float> bias, std::span<float> y) {
  require(x.size() == n * c * hw && y.size() == x.size() && bias.size() == c,
          "bias_activation_forward_nchw: sizes do not match [n, c, hw] and bias[c]");
  parallel_chunks(n * c, x.size(), 1, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(BiasPlanesSpan)(spec, b, e - b, c, hw, x.data(), bias.data(), y.data());
  });
}

void prelu_forward(std::size_t outer, std::size_t channels, std::size_t inner,
                   std::span<const float> x, std::span<const float> slope, std::span<float> y) {
  require(x.size() == outer * channels * inner && y.size() == x.size() && slope.size() == channels,
          "prelu_forward: sizes do not match [outer, channels, inner] and slope[channels]");
  parallel_chunks(channels, x.size(), 1, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(PReluChannels)
    (outer, channels, inner, b, e, x.data(), slope.data(), nullptr, y.data(), nullptr);
  });
}

void prelu_backward(std::size_t outer, std::size_t channels, std::size_t inner,
                    std::span<const float> x, std::span<const float> slope,
                    std::span<const float> dy, std::span<float> dx, std::span<float> dslope) {
  require(x.size() == outer * channels * inner && dy.size() == x.size() && dx.size() == x.size() &&
              slope.size() == channels && dslope.size() == channels,
          "prelu_backward: sizes do not match [outer, channels, inner] and slope[channels]");
  parallel_chunks(channels, x.size(), 1, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(PReluChannels)
    (outer, channels, inner, b, e, x.data(), slope.data(), dy.data(), dx.data(), dslope.data());
  });
}

void relu_forward_mask(std::span<const float> x, std::span<float> y, std::span<std::uint8_t> mask) {
  require(x.size() == y.size() && mask.size() == relu_mask_bytes(x.size()),
          "relu_forward_mask: y must match x and mask must hold relu_mask_bytes(x.size())");
  parallel_chunks(x.size(), x.size(), kChunkAlign, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(ReluMaskForwardSpan)
    (x.data() + b, y.data() + b, mask.data() + b / 8, e - b);
  });
}

void relu_backward_mask(std::span<const std::uint8_t> mask, std::span<const float> dy,
                        std::span<float> dx) {
  require(dy.size() == dx.size() && mask.size() == relu_mask_bytes(dy.size()),
          "relu_backward_mask: dx must match dy and mask must hold relu_mask_bytes(dy.size())");
  parallel_chunks(dy.size(), dy.size(), kChunkAlign, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(ReluMaskBackwardSpan)
    (mask.data() + b / 8, dy.data() + b, dx.data() + b, e - b);
  });
}

std::string simd_target_name() {
  // Highway orders targets best-first: the first supported one is what dispatch picks.
  const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
  return targets.empty() ? "none" : hwy::TargetName(targets.front());
}

}  // namespace relulab
#endif  // HWY_ONCE
