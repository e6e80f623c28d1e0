// The exact GELU x Phi(x) and its derivative from the standard normal CDF Phi and density phi, in
// float SIMD (Highway, compiled once per target). Unlike Phi = (1 + erf(x / sqrt 2)) / 2, every
// result keeps RELATIVE accuracy in the lower tail, where gelu(x) is tiny but not zero (x down to
// -13).
//
// With t = |x| (clamped to 15), everything comes from the lower tail and the density:
//   phi(t) = exp(-t^2 / 2) / sqrt(2 pi),  Phi(-t) = phi(t) M(t),  Phi(t) = 1 - Phi(-t)
// (no cancellation: Phi(-t) <= 1/2), with the Mills ratio M(t) = B(t) / (t B(t) + A(t)) one
// rational on [0, 14] (one division, no per-interval selects) and Phi(-t) = 1/2 - t S(t^2) for
// t < 1/2, where the ULP of Phi(-t) ~ 1/2 is finest. exp(-t^2 / 2) takes its argument as a
// double-float, t^2 = w + w_lo exactly (FMA, or Dekker's product without FMA), so the ~t^2 ULP
// that rounding t^2 would cost at t = 13 never appear. One exp, no table lookups.
//
// phi and Phi(-t) are carried scaled by 2^64, so that they stay normal down to t = 15, where
// exp(-t^2 / 2) = 1.9e-49: gelu and gelu' are formed from normal numbers and round once into the
// subnormals (or to -0, from x = -14.4 and -14.6 on) when scaled back. Their accuracy over every
// float is in docs/accuracy.md (scripts/accuracy). gelu'(x) has a zero at x = -0.7518; its error
// is measured relative to the size of its terms, max(ulp(gelu'), 2^-24 (Phi(x) + |x| phi(x))).
// gelu(-inf) = -0, gelu(+inf) = +inf, gelu'(-inf) = -0, gelu'(+inf) = 1.
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

#include <array>
#include <cstddef>

#include "activation/simd_math-inl.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relulab::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// |x| is clamped to 15, beyond which gelu and gelu' round to -0 for x < 0 (and to x and 1 for
// x > 0); at +-inf every function gets its limit. Results are scaled by 2^64 (kNormalUp) inside.
inline constexpr float kNormalClamp = 15.0f;
inline constexpr float kNormalUp = 18446744073709551616.0f;        // 2^64
inline constexpr float kNormalDown = 5.42101086242752217004e-20f;  // 2^-64

// Mills ratio M(t) = Phi(-t) / phi(t) ~= B(t) / (t B(t) + A(t)) on [0, 13.3] (beyond, where Phi's
// values are subnormal, the rational keeps M's 1/t - 1/t^3 asymptote); max relative error
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
// kCenterS and 1/2 times 2^64 (exact: powers of two), for the scaled Phi(-t) of the derivative.
constexpr std::array<float, 5> ScaledCenterS() {
  std::array<float, 5> c{};
  for (std::size_t k = 0; k < c.size(); ++k) c[k] = kCenterS[k] * kNormalUp;
  return c;
}
inline constexpr std::array<float, 5> kCenterSUp = ScaledCenterS();

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

// 2^64 phi(t) and Phi(-t) for t in [0, 15], each rounded as few times as possible:
//   2^64 phi(t) = scale (1 + expm1),   2^64 Phi(-t) = (scale M) + (scale M) expm1,
// and Phi(-t) = 1/2 - t S(t^2) for t < kCenterMax, times 2^64 where kCenterUp (else unscaled: the
// caller then knows that `lower` is scaled only where t >= kCenterMax).
// exp(-w / 2) with w = t^2 + w_lo exact: n = round(-w log2(e) / 2), s = -w - 2 n ln 2 - w_lo
// (Cody-Waite, products exact), exp(-w / 2) = 2^n exp(s / 2) and scale = 2^(n + 64) / sqrt(2 pi)
// is built in the exponent field: normal for n >= -188, and n >= -163 at t = 15.
// The exp, the Mills ratio and S are independent chains (the out-of-order core overlaps them).
template <bool kCenterUp, class D, class V>
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
  scale = hn::BitCast(d, hn::Add(n_bits, hn::BitCast(di, hn::Set(d, kInvSqrt2Pi * kNormalUp))));

  const V mills_b = Estrin6(d, t, w, kMillsB);
  const V mills = hn::Div(mills_b, hn::MulAdd(t, mills_b, Estrin5(d, t, w, kMillsA)));
  const V scaled_mills = hn::Mul(mills, scale);
  V center;
  if constexpr (kCenterUp) {
    center = hn::NegMulAdd(t, Horner(d, w, kCenterSUp), hn::Set(d, 0.5f * kNormalUp));
  } else {
    center = hn::NegMulAdd(t, Horner(d, w, kCenterS), hn::Set(d, 0.5f));
  }
  lower = hn::IfThenElse(hn::Lt(t, hn::Set(d, kCenterMax)), center,
                         hn::MulAdd(scaled_mills, expm1, scaled_mills));
}

// gelu(x) = x Phi(x) = max(x, 0) - t Phi(-t) (= -t Phi(-t) for x < 0, x - t Phi(-t) for x >= 0;
// one rounding: the error of Phi(-t) is not doubled by 1 - Phi(-t) landing just above 1/2).
// Where `lower` is 2^64 Phi(-t) (t >= kCenterMax), t enters as t 2^-64, exact there.
// t = min(|x|, 15), so -inf gives -0 and +inf gives +inf. NaN gives NaN where kClampKeepsNaN
// (the clamps pass it on; the caller checks elsewhere).
template <class D, class V>
HWY_INLINE V GeluExact(D d, V x) {
  const V t = AtMost(d, hn::Abs(x), kNormalClamp);
  V scale, expm1, lower;
  NormalTail<false>(d, t, scale, expm1, lower);
  const V t_down =
      hn::IfThenElse(hn::Lt(t, hn::Set(d, kCenterMax)), t, hn::Mul(t, hn::Set(d, kNormalDown)));
  const V f = hn::NegMulAdd(t_down, lower, AtLeast(d, x, 0.0f));
#if HWY_NATIVE_FMA
  return f;  // the fused 0 - t Phi(-t) rounds a negative value to -0
#else
  return hn::CopySign(f, x);  // 0 - fl(t Phi(-t)) is +0 where the product underflows
#endif
}

// gelu'(x) = Phi(x) + x phi(x). With g = Phi(-t) - t phi(t), formed at 2^64 scale and scaled
// back once: gelu'(x) = g for x < 0 and 1 - g for x >= 0 (-0 at -inf, 1 at +inf). NaN as
// GeluExact.
template <class D, class V>
HWY_INLINE V GeluExactDerivative(D d, V x) {
  const V t = AtMost(d, hn::Abs(x), kNormalClamp);
  V scale, expm1, lower;
  NormalTail<true>(d, t, scale, expm1, lower);
  const V g =
      hn::Mul(hn::NegMulAdd(t, hn::MulAdd(expm1, scale, scale), lower), hn::Set(d, kNormalDown));
  return hn::IfThenElse(hn::Lt(x, hn::Zero(d)), g, hn::Sub(hn::Set(d, 1.0f), g));
}

}  // namespace relulab::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // RELULAB_GAUSSIAN_INL_H_
