// The exact GELU x Phi(x) and its derivative from the standard normal CDF Phi and density phi, in
// float SIMD (Highway, compiled once per target). Unlike Phi = (1 + erf(x / sqrt 2)) / 2, every
// result keeps RELATIVE accuracy in the lower tail, where gelu(x) is tiny but not zero (x down to
// -13).
//
// With t = |x| (clamped to 14), everything comes from the lower tail and the density:
//   phi(t) = exp(-t^2 / 2) / sqrt(2 pi),  Phi(-t) = phi(t) M(t),  Phi(t) = 1 - Phi(-t)
// (no cancellation: Phi(-t) <= 1/2), with the Mills ratio M(t) = B(t) / (t B(t) + A(t)) one
// rational on [0, 14] (one division, no per-interval selects) and Phi(-t) = 1/2 - t S(t^2) for
// t < 1/2, where the ULP of Phi(-t) ~ 1/2 is finest. exp(-t^2 / 2) takes its argument as a
// double-float, t^2 = w + w_lo exactly (FMA, or Dekker's product without FMA), so the ~t^2 ULP
// that rounding t^2 would cost at t = 13 never appear. One exp, no table lookups.
//
// Max error vs a long-double reference (2.1e7 points on [-20, 20],
// random bit patterns, +-0, denormals, +-FLT_MAX, +-inf, NaN), where |result| >= 1e-30:
//   AVX3 / AVX2 (FMA):                Phi 3.1 ULP, gelu 3.9 ULP, gelu' 2.5, phi 1.5
//   SSE4 / SSSE3 / SCALAR (no FMA):   Phi 3.8 ULP, gelu 4.1 ULP, gelu' 3.3, phi 1.6
// Below 1e-30 the absolute error is < 2.4e-37 (< 1e-37 below 1e-32: ~1 ULP of 1e-30 is 9e-38).
// gelu'(x) has a zero at x = -0.7518; its error is measured relative to the size of its terms,
// max(ulp(gelu'), 2^-24 (Phi(x) + |x| phi(x))). gelu(-inf) = 0, gelu(+inf) = +inf,
// gelu'(-inf) = 0, gelu'(+inf) = 1.
//
// Coefficients: scripts/fit_gaussian.py (numpy + mpmath): minimax of the relative error (Lawson's
// iteratively reweighted least squares on Chebyshev nodes; the rational linearised as
// B - M (t B + A)), rounded to float one coefficient at a time with refitting of the rest.

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
// 1.3e-9 (fit.py: degrees 5 / 4; the fit also absorbs the rounding of kInvSqrt2Pi, and B(0) is just
// below 2 so that B and A round with the least relative error near t = 0). All coefficients are
// positive, so Horner's rule in t >= 0 has no cancellation, and B's rounding cancels in the ratio.
inline constexpr float kMillsB[6] = {1.9978248f,  2.1490023f,  1.111699f,
                                     0.33271188f, 0.05756636f, 0.0047461744f};
inline constexpr float kMillsA[5] = {1.5940336f, 0.9886858f, 0.3238798f, 0.057532854f,
                                     0.0047469954f};
// Near 0, where Phi(-t) is just below 1/2 and its ULP the finest: Phi(-t) = 1/2 - t S(t^2) for
// t < 0.5, S of degree 4, max relative error 2.8e-8 (the rounding of S(0) = 1 / sqrt(2 pi)).
inline constexpr float kCenterMax = 0.5f;
inline constexpr float kCenterS[5] = {0.3989423f, -0.06649104f, 0.00998335f, -0.0012401243f,
                                      0.00020721744f};
inline constexpr float kInvSqrt2Pi = 0.398942280401432677939946059934f;

// c[0] + c[1] x + ... as (c0 + c1 x) + x2 ((c2 + c3 x) + x2 (c4 + c5 x)), x2 = x^2 given
// (Estrin: half the dependent latency of Horner's rule for the same number of FMAs).
template <class D, class V>
HWY_INLINE V Estrin6(D d, V x, V x2, const float (&c)[6]) {
  const V c01 = hn::MulAdd(hn::Set(d, c[1]), x, hn::Set(d, c[0]));
  const V c23 = hn::MulAdd(hn::Set(d, c[3]), x, hn::Set(d, c[2]));
  const V c45 = hn::MulAdd(hn::Set(d, c[5]), x, hn::Set(d, c[4]));
  return hn::MulAdd(x2, hn::MulAdd(x2, c45, c23), c01);
}
template <class D, class V>
HWY_INLINE V Estrin5(D d, V x, V x2, const float (&c)[5]) {
  const V c01 = hn::MulAdd(hn::Set(d, c[1]), x, hn::Set(d, c[0]));
  const V c23 = hn::MulAdd(hn::Set(d, c[3]), x, hn::Set(d, c[2]));
  return hn::MulAdd(x2, hn::MulAdd(x2, hn::Set(d, c[4]), c23), c01);
}

// phi(t) and Phi(-t) for t in [0, 14], each rounded as few times as possible:
//   phi(t) = scale (1 + expm1),   Phi(-t) = phi(t) M(t) = (scale M) + (scale M) expm1,
// and Phi(-t) = 1/2 - t S(t^2) for t < kCenterMax.
// exp(-w / 2) with w = t^2 + w_lo exact: n = round(-w log2(e) / 2), s = -w - 2 n ln 2 - w_lo
// (Cody-Waite, products exact), exp(-w / 2) = 2^n exp(s / 2) and scale = 2^n / sqrt(2 pi) is built
// in the exponent field. For n = -125 (t in [13.14, 13.19)) that field is 0 and scale is a
// subnormal within 2.4e-39 of its value; for n <= -126 the integer is negative and Max makes
// scale 0. There phi < 1.2e-38 and every GELU term is < 1e-37.
// The exp, the Mills ratio and S are independent chains (the out-of-order core overlaps them).
template <class D, class V>
HWY_INLINE void NormalTail(D d, V t, V& scale, V& expm1, V& lower) {
  const hn::RebindToSigned<D> di;
  V w, w_lo;
  TwoProd(d, t, t, w, w_lo);
  const V kRoundShift = hn::Set(d, 12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const V n_shifted = hn::MulAdd(w, hn::Set(d, -0.72134752044448170368f), kRoundShift);
  const V n = hn::Sub(n_shifted, kRoundShift);
  // 2 ln 2 = 1.38629150390625 (16 significant bits: n times it is exact) + 2.8572136e-6.
  const V s = hn::Sub(hn::NegMulSub(n, hn::Set(d, 1.38629150390625f), w),
                      hn::MulAdd(n, hn::Set(d, 2.8572136406e-06f), w_lo));
  expm1 = hn::Mul(s, Estrin6(d, s, hn::Mul(s, s), kHalfExpm1));
  const auto n_bits = hn::ShiftLeft<23>(hn::BitCast(di, n_shifted));  // n << 23
  scale = hn::Max(hn::BitCast(d, hn::Add(n_bits, hn::BitCast(di, hn::Set(d, kInvSqrt2Pi)))),
                  hn::Zero(d));

  const V mills_b = Estrin6(d, t, w, kMillsB);
  const V mills = hn::Div(mills_b, hn::MulAdd(t, mills_b, Estrin5(d, t, w, kMillsA)));
  const V scaled_mills = hn::Mul(mills, scale);
  const V center = hn::NegMulAdd(t, Horner(d, w, kCenterS), hn::Set(d, 0.5f));
  lower = hn::IfThenElse(hn::Lt(t, hn::Set(d, kCenterMax)), center,
                         hn::MulAdd(scaled_mills, expm1, scaled_mills));
}

// gelu(x) = x Phi(x) = max(x, 0) - t Phi(-t) (= -t Phi(-t) for x < 0, x - t Phi(-t) for x >= 0;
// one rounding: the error of Phi(-t) is not doubled by 1 - Phi(-t) landing just above 1/2).
// t = min(|x|, 14) and Phi(-14) = 0 exactly, so -inf gives 0 and +inf gives +inf. NaN gives NaN
// where kClampKeepsNaN (the clamps pass it on; the caller checks elsewhere).
template <class D, class V>
HWY_INLINE V GeluExact(D d, V x) {
  const V t = AtMost(d, hn::Abs(x), kNormalClamp);
  V scale, expm1, lower;
  NormalTail(d, t, scale, expm1, lower);
  return hn::NegMulAdd(t, lower, AtLeast(d, x, 0.0f));
}

// gelu'(x) = Phi(x) + x phi(x). With g = Phi(-t) - t phi(t): gelu'(x) = g for x < 0 and 1 - g
// for x >= 0 (g = 0 beyond the clamp: 0 at -inf, 1 at +inf). NaN as GeluExact.
template <class D, class V>
HWY_INLINE V GeluExactDerivative(D d, V x) {
  const V t = AtMost(d, hn::Abs(x), kNormalClamp);
  V scale, expm1, lower;
  NormalTail(d, t, scale, expm1, lower);
  const V g = hn::NegMulAdd(t, hn::MulAdd(expm1, scale, scale), lower);
  return hn::IfThenElse(hn::Lt(x, hn::Zero(d)), g, hn::Sub(hn::Set(d, 1.0f), g));
}

}  // namespace relulab::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // RELULAB_GAUSSIAN_INL_H_
