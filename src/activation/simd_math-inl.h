// SIMD building blocks shared by the activation kernels (Highway, compiled once per target).
// Each helper states its accuracy; the activation ops in ops-inl.h are built from these.

#if defined(RELULAB_SIMD_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RELULAB_SIMD_MATH_INL_H_
#undef RELULAB_SIMD_MATH_INL_H_
#else
#define RELULAB_SIMD_MATH_INL_H_
#endif

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relulab::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Returns r, except NaN where x is NaN: clamps and selects in the ops drop NaN on x86
// (MAXPS returns its second operand), so every transcendental op ends with this.
template <class V>
HWY_INLINE V KeepNaN(V x, V r) {
  return hn::IfThenElse(hn::IsNaN(x), x, r);
}

// a * b = p + e exactly (for finite a * b without underflow). With FMA, e = fma(a, b, -p);
// without, Dekker's product on Veltkamp halves (splitter 2^12 + 1).
template <class D, class V>
HWY_INLINE void TwoProd(D d, V a, V b, V& p, V& e) {
  p = hn::Mul(a, b);
#if HWY_NATIVE_FMA
  (void)d;
  e = hn::MulSub(a, b, p);
#else
  const V splitter = hn::Set(d, 4097.0f);
  const V ca = hn::Mul(splitter, a);
  const V a_hi = hn::Sub(ca, hn::Sub(ca, a));
  const V a_lo = hn::Sub(a, a_hi);
  const V cb = hn::Mul(splitter, b);
  const V b_hi = hn::Sub(cb, hn::Sub(cb, b));
  const V b_lo = hn::Sub(b, b_hi);
  e = hn::Add(
      hn::Add(hn::Add(hn::Sub(hn::Mul(a_hi, b_hi), p), hn::Mul(a_hi, b_lo)), hn::Mul(a_lo, b_hi)),
      hn::Mul(a_lo, b_lo));
#endif
}

// a + b = s + e exactly (Knuth's TwoSum, no ordering requirement).
template <class V>
HWY_INLINE void TwoSum(V a, V b, V& s, V& e) {
  s = hn::Add(a, b);
  const V bb = hn::Sub(s, a);
  e = hn::Add(hn::Sub(a, hn::Sub(s, bb)), hn::Sub(b, bb));
}

// x = n ln 2 + r for x <= 0, n = round(x / ln 2) <= 0, |r| <= ln(2) / 2, and expm1(r):
//   n is read from the low mantissa bits of t = x log2(e) + (1.5 * 2^23 + 151), so that t's bits
//   shifted into the exponent field are 2^(n + 24);
//   r = x - n ln 2 (Cody-Waite, two FMAs, exact);
//   expm1(r) = r + r^2 P(r), Highway's degree-5 P of Exp (1 ULP).
// x must be clamped to [-104, 0] by the caller.
template <class D, class V>
HWY_INLINE void ExpReduced(D d, V x, V& t, V& expm1_r) {
  const V shift = hn::Set(d, 12583063.0f);  // 1.5 * 2^23 + 127 + 24
  t = hn::MulAdd(x, hn::Set(d, 1.44269504088896341f), shift);
  const V n = hn::Sub(t, shift);
  V r = hn::MulAdd(n, hn::Set(d, -0.693145751953125f), x);
  r = hn::MulAdd(n, hn::Set(d, -1.428606765330187045e-6f), r);
  const V r2 = hn::Mul(r, r);
  const V r4 = hn::Mul(r2, r2);
  const V p01 = hn::MulAdd(hn::Set(d, 0.166666671633720397949219f), r, hn::Set(d, 0.5f));
  const V p23 = hn::MulAdd(hn::Set(d, 0.00833336077630519866943359f), r,
                           hn::Set(d, 0.0416664853692054748535156f));
  const V p45 = hn::MulAdd(hn::Set(d, 0.000198527617612853646278381f), r,
                           hn::Set(d, 0.00139304355252534151077271f));
  const V p = hn::MulAdd(p45, r4, hn::MulAdd(p23, r2, p01));
  expm1_r = hn::MulAdd(p, r2, r);
}

// 2^(n + 24) from ExpReduced's t: normal for n >= -150.
template <class D, class V>
HWY_INLINE V ScaleFromReduced(D d, V t) {
  const hn::RebindToSigned<D> di;
  return hn::BitCast(d, hn::ShiftLeft<23>(hn::BitCast(di, t)));
}

// exp(x) for x <= 0; below -104 (and at -inf) 0. Leaner than hn::Exp, which must cover the
// whole float range: with x <= 0 the scale 2^n is one shift and one multiply.
//   e^x = (1 + expm1(r)) * 2^(n + 24) * 2^-24: the last product rounds once into the subnormal
//   range.
template <class D, class V>
HWY_INLINE V ExpNonPositive(D d, V x) {
  V t, expm1_r;
  ExpReduced(d, hn::Max(hn::Min(x, hn::Zero(d)), hn::Set(d, -104.0f)), t, expm1_r);
  const V er = hn::Add(expm1_r, hn::Set(d, 1.0f));
  return hn::Mul(hn::Mul(er, ScaleFromReduced(d, t)), hn::Set(d, 5.9604644775390625e-8f));
}

// log1p(u) for u in [0, 1], as softplus needs for log1p(exp(-|z|)). With y = 1 + u rounded,
// y = 2^k m, k in {0, 1}, m in [sqrt(2)/2, sqrt(2)]:
//   log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716, = 2s (1 + s^2/3 + s^4/5 + s^6/7
//   + s^8/9) (the next term is below 2^-28 relative); m - 1 is exact (Sterbenz);
//   the rounding of 1 + u adds c = (u - (y - 1)) / y, taken as (u - (y - 1)) (2 - y): c is at
//   most half an ULP of y, and the approximation of 1/y costs < 0.2 ULP of the result.
// About 1.5 ULP, with one division; hn::Log1p costs a general Log (a division) and a division.
template <class D, class V>
HWY_INLINE V Log1pUnit(D d, V u) {
  const V one = hn::Set(d, 1.0f);
  const V y = hn::Add(one, u);
  const auto above = hn::Gt(y, hn::Set(d, 1.41421356f));
  const V f = hn::Sub(hn::IfThenElse(above, hn::Mul(y, hn::Set(d, 0.5f)), y), one);
  const V s = hn::Div(f, hn::Add(f, hn::Set(d, 2.0f)));
  const V s2 = hn::Mul(s, s);
  V p = hn::MulAdd(hn::Set(d, 1.0f / 9.0f), s2, hn::Set(d, 1.0f / 7.0f));
  p = hn::MulAdd(p, s2, hn::Set(d, 1.0f / 5.0f));
  p = hn::MulAdd(p, s2, hn::Set(d, 1.0f / 3.0f));
  const V two_s = hn::Add(s, s);
  const V log_m = hn::MulAdd(hn::Mul(two_s, s2), p, two_s);
  const V c = hn::Mul(hn::Sub(u, hn::Sub(y, one)), hn::Sub(hn::Set(d, 2.0f), y));
  return hn::Add(hn::IfThenElseZero(above, hn::Set(d, 0.693147182f)), hn::Add(log_m, c));
}

// The two pieces of the logistic function that every sigmoid-like op needs, with no overflow:
// e = exp(-|x|) in [0, 1] and r = 1 / (1 + e). Then sigmoid(x) = x >= 0 ? r : e * r and
// sigmoid'(x) = sigmoid(x) * sigmoid(-x) = e * r^2. Each is within ~2.5 ULP (exp 1 ULP, division
// 0.5, product 0.5). Arguments below -104 give e = 0 (exp(-104) is below the smallest float).
template <class D, class V>
HWY_INLINE void LogisticParts(D d, V x, V& e, V& r) {
  e = ExpNonPositive(d, hn::Neg(hn::Abs(x)));
  r = hn::Div(hn::Set(d, 1.0f), hn::Add(hn::Set(d, 1.0f), e));
}

template <class D, class V>
HWY_INLINE V SigmoidFromParts(D d, V x, V e, V r) {
  return hn::IfThenElse(hn::Ge(x, hn::Zero(d)), r, hn::Mul(e, r));
}

// expm1(x) for x <= 0 (-inf gives -1): expm1(x) = 2^n expm1(r) + (2^n - 1), one FMA, where
// 2^n - 1 is exact for n >= -24 and rounds to -1 below, as expm1(x) does from x = -17.4 on (the
// clamp at -30 keeps 2^n normal). About 1 ULP; hn::Expm1 (4 ULP) costs an Exp and a Log.
template <class D, class V>
HWY_INLINE V Expm1NonPositive(D d, V x) {
  V t, expm1_r;
  ExpReduced(d, hn::Max(hn::Min(x, hn::Zero(d)), hn::Set(d, -30.0f)), t, expm1_r);
  const V scale = hn::Mul(ScaleFromReduced(d, t), hn::Set(d, 5.9604644775390625e-8f));  // 2^n
  return hn::MulAdd(scale, expm1_r, hn::Sub(scale, hn::Set(d, 1.0f)));
}

}  // namespace relulab::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // RELULAB_SIMD_MATH_INL_H_
