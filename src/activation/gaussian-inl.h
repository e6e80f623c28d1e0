// The standard normal CDF Phi, density phi and exact GELU x Phi(x) with its derivative, in float
// SIMD (Highway, compiled once per target). Unlike Phi = (1 + erf(x / sqrt 2)) / 2, every result
// keeps RELATIVE accuracy in the lower tail, where gelu(x) is tiny but not zero (x down to -13).
//
// For t = |x| the lower tail is factored as
//   Phi(-t) = exp(-t^2 / 2) R(t),  R(t) = erfcx(t / sqrt 2) / 2  (smooth, 0.5 at 0, ~0.4 / t at oo)
// and Phi(t) = 1 - Phi(-t) (no cancellation: Phi(-t) <= 1/2). R is one polynomial in
// v = 1 / (t + K) - Q0 on [0, T]: one division and no per-interval selects. exp(-t^2 / 2) takes its
// argument as a double-float, w = t * t + w_lo exactly (FMA, or Dekker's product without FMA), so
// the ~t^2 ULP that rounding t^2 would cost at t = 13 never appear.
//
// Measured max error vs a long-double reference (/tmp/gauss/gauss_check.cc during development,
// 2e7 points on [-20, 20] plus edges, AVX3 / AVX2 / SSE4 / EMU128 alike): see the constants below.
// Results under 1e-30 in magnitude are within 1e-37 absolute. gelu'(x) has a zero at x = -0.7518;
// its error there is relative to the size of its terms, Phi(x) + |x| phi(x).
//
// Coefficients: /tmp/gauss/fit.py (numpy + mpmath): Lawson minimax of the relative error on
// Chebyshev nodes, rounded to float one coefficient at a time with refitting of the rest.

#if defined(RELULAB_GAUSSIAN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RELULAB_GAUSSIAN_INL_H_
#undef RELULAB_GAUSSIAN_INL_H_
#else
#define RELULAB_GAUSSIAN_INL_H_
#endif

#include "activation/simd_math-inl.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relulab::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// |x| is clamped to 14: exp(-14^2 / 2) / sqrt(2 pi) = 1.4e-43 is far below the float range of
// the scale factor below, which is then exactly 0; at +-inf every function gets its limit.
inline constexpr float kNormalClamp = 14.0f;

// Mills ratio M(t) = Phi(-t) / phi(t) ~= B(t) / (t B(t) + A(t)) on [0, 13.3]; max relative error
// 2.5e-9 (fit.py: degrees 5 / 4, B(0) / A(0) = sqrt(pi / 2) to 1e-10). Positive coefficients, so
// Horner's rule in t >= 0 has no cancellation, and the rounding errors of B cancel in the ratio.
inline constexpr float kMillsB[6] = {1.0038269f,  1.0853934f,   0.5638675f,
                                     0.16951716f, 0.029481933f, 0.0024473588f};
inline constexpr float kMillsA[5] = {0.80093795f, 0.5012478f, 0.164915f, 0.029468212f,
                                     0.0024476382f};
// exp(s / 2) - 1 ~= s P(s) for s in [-ln 2, ln 2]; max error 3.7e-9 relative to exp(s / 2).
inline constexpr float kHalfExpm1[6] = {0.5f,          0.12499998f,     0.020833135f,
                                        0.0026043034f, 0.00026157184f, 2.1556209e-05f};
inline constexpr float kInvSqrt2Pi = 0.398942280401432677939946059934f;

// Horner's rule for the polynomial with coefficients c[0..N-1] (c[0] constant).
template <size_t N, class D, class V>
HWY_INLINE V EvalPoly(D d, V x, const float (&c)[N]) {
  V acc = hn::Set(d, c[N - 1]);
  for (size_t j = N - 1; j-- > 0;) acc = hn::MulAdd(acc, x, hn::Set(d, c[j]));
  return acc;
}

// The pieces of phi(t) and Phi(-t) for t in [0, 14], factored so that each result is rounded as
// few times as possible:
//   phi(t) = scale (1 + expm1),   Phi(-t) = phi(t) M(t) = scale (1 + expm1) B / den.
// exp(-w / 2) with w = t^2 + w_lo exact: n = round(-w log2(e) / 2), s = -w - 2 n ln 2 - w_lo
// (Cody-Waite, products exact), exp(-w / 2) = 2^n exp(s / 2) and scale = 2^n / sqrt(2 pi) is built
// in the exponent field; it is 0 (a negative integer, then Max) once 2^n / sqrt(2 pi) < 2^-126,
// i.e. t > 13.14, where phi < 1.2e-38 and the GELU terms are < 1e-37.
template <class D, class V>
HWY_INLINE void NormalTailParts(D d, V t, V& scale, V& expm1, V& mills_b, V& mills_den) {
  const hn::RebindToSigned<D> di;
  V w, w_lo;
  TwoProd(d, t, t, w, w_lo);
  const V kRoundShift = hn::Set(d, 12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const V n_shifted = hn::MulAdd(w, hn::Set(d, -0.72134752044448170368f), kRoundShift);
  const V n = hn::Sub(n_shifted, kRoundShift);
  // 2 ln 2 = 1.38629150390625 (16 significant bits: n times it is exact) + 2.8572136e-6.
  V s = hn::NegMulSub(n, hn::Set(d, 1.38629150390625f), w);
  s = hn::NegMulAdd(n, hn::Set(d, 2.8572136406e-06f), s);
  s = hn::Sub(s, w_lo);
  expm1 = hn::Mul(s, EvalPoly(d, s, kHalfExpm1));
  const auto n_bits = hn::ShiftLeft<23>(hn::BitCast(di, n_shifted));  // n << 23
  scale = hn::Max(hn::BitCast(d, hn::Add(n_bits, hn::BitCast(di, hn::Set(d, kInvSqrt2Pi)))),
                  hn::Zero(d));
  mills_b = EvalPoly(d, t, kMillsB);
  mills_den = hn::MulAdd(t, mills_b, EvalPoly(d, t, kMillsA));
}

// Phi(-t) from the parts: one division, B's rounding cancels, 2^n scaling exact unless subnormal.
template <class V>
HWY_INLINE V LowerTail(V scale, V expm1, V mills_b, V mills_den) {
  return hn::Mul(hn::Div(hn::MulAdd(expm1, mills_b, mills_b), mills_den), scale);
}

// Phi(x) = Phi(-t) for x < 0, else 1 - Phi(-t) (no cancellation: Phi(-t) <= 1/2); t = |x|.
template <class D, class V>
HWY_INLINE V NormalCdf(D d, V x) {
  const V t = hn::Min(hn::Abs(x), hn::Set(d, kNormalClamp));
  V scale, expm1, mills_b, mills_den;
  NormalTailParts(d, t, scale, expm1, mills_b, mills_den);
  const V lower = LowerTail(scale, expm1, mills_b, mills_den);
  return KeepNaN(x, hn::IfNegativeThenElse(x, lower, hn::Sub(hn::Set(d, 1.0f), lower)));
}

// phi(x) = exp(-x^2 / 2) / sqrt(2 pi); exactly 0 for |x| > 13.2.
template <class D, class V>
HWY_INLINE V NormalPdf(D d, V x) {
  const V t = hn::Min(hn::Abs(x), hn::Set(d, kNormalClamp));
  V scale, expm1, mills_b, mills_den;
  NormalTailParts(d, t, scale, expm1, mills_b, mills_den);
  return KeepNaN(x, hn::MulAdd(expm1, scale, scale));
}

// gelu(x) = x Phi(x). x is clamped below at -14 (where Phi = 0 exactly) so that -inf gives -0.
template <class D, class V>
HWY_INLINE V GeluExact(D d, V x) {
  const V t = hn::Min(hn::Abs(x), hn::Set(d, kNormalClamp));
  V scale, expm1, mills_b, mills_den;
  NormalTailParts(d, t, scale, expm1, mills_b, mills_den);
  const V lower = LowerTail(scale, expm1, mills_b, mills_den);
  const V cdf = hn::IfNegativeThenElse(x, lower, hn::Sub(hn::Set(d, 1.0f), lower));
  return KeepNaN(x, hn::Mul(hn::Max(x, hn::Set(d, -kNormalClamp)), cdf));
}

// gelu'(x) = Phi(x) + x phi(x). With g = Phi(-t) - t phi(t): gelu'(x) = g for x < 0 and 1 - g
// for x >= 0 (g = 0 beyond the clamp: 0 at -inf, 1 at +inf).
template <class D, class V>
HWY_INLINE V GeluExactDerivative(D d, V x) {
  const V t = hn::Min(hn::Abs(x), hn::Set(d, kNormalClamp));
  V scale, expm1, mills_b, mills_den;
  NormalTailParts(d, t, scale, expm1, mills_b, mills_den);
  const V pdf = hn::MulAdd(expm1, scale, scale);
  const V g = hn::NegMulAdd(t, pdf, LowerTail(scale, expm1, mills_b, mills_den));
  return KeepNaN(x, hn::IfNegativeThenElse(x, g, hn::Sub(hn::Set(d, 1.0f), g)));
}

}  // namespace relulab::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // RELULAB_GAUSSIAN_INL_H_
