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

// The two pieces of the logistic function that every sigmoid-like op needs, with no overflow:
// e = exp(-|x|) in [0, 1] and r = 1 / (1 + e). Then sigmoid(x) = x >= 0 ? r : e * r and
// sigmoid'(x) = sigmoid(x) * sigmoid(-x) = e * r^2. Each is within ~2.5 ULP (exp 1 ULP, division
// 0.5, product 0.5). Arguments below -104 give e = 0 (exp(-104) is below the smallest float).
template <class D, class V>
HWY_INLINE void LogisticParts(D d, V x, V& e, V& r) {
  const V neg_abs = hn::Max(hn::Neg(hn::Abs(x)), hn::Set(d, -104.0f));
  e = hn::Exp(d, neg_abs);
  r = hn::Div(hn::Set(d, 1.0f), hn::Add(hn::Set(d, 1.0f), e));
}

template <class D, class V>
HWY_INLINE V SigmoidFromParts(D d, V x, V e, V r) {
  return hn::IfThenElse(hn::Ge(x, hn::Zero(d)), r, hn::Mul(e, r));
}

// exp(x) for x <= 0, with arguments below -104 giving 0 (Highway's Exp is specified down to
// -FLT_MAX; the clamp also maps -inf to 0). 1 ULP.
template <class D, class V>
HWY_INLINE V ExpNonPositive(D d, V x) {
  return hn::Exp(d, hn::Max(hn::Min(x, hn::Zero(d)), hn::Set(d, -104.0f)));
}

// expm1(x) for x <= 0 (-inf gives -1). 4 ULP per Highway.
template <class D, class V>
HWY_INLINE V Expm1NonPositive(D d, V x) {
  return hn::Expm1(d, hn::Max(hn::Min(x, hn::Zero(d)), hn::Set(d, -104.0f)));
}

}  // namespace relulab::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // RELULAB_SIMD_MATH_INL_H_
