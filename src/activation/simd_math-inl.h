// SIMD building blocks shared by the activation kernels (Highway, compiled once per target).
// Each helper states its accuracy; the activation ops in ops-inl.h are built from these.

#if defined(RELULAB_SIMD_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RELULAB_SIMD_MATH_INL_H_
#undef RELULAB_SIMD_MATH_INL_H_
#else
#define RELULAB_SIMD_MATH_INL_H_
#endif

#include <array>
#include <cstddef>
#include <iterator>

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

// Clamps that pass NaN on where the hardware does so for free. x86's MAXPS and MINPS return their
// second operand when either one is NaN, and Highway passes the operands in order, so
// Max(limit, x) keeps a NaN x; Highway's emulated targets return the other operand instead.
// kClampKeepsNaN says which applies: an op whose only NaN-dropping steps are these clamps (every
// other step is arithmetic, or a select whose false branch carries the NaN) declares its NaN flags
// with it, and the loops then skip their per-vector NaN compare and blend, two of the ~20 vector
// instructions of a sigmoid (this Zen 4 retires about one 512-bit instruction per cycle).
#if HWY_ARCH_X86 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
inline constexpr bool kClampKeepsNaN = true;
#else
inline constexpr bool kClampKeepsNaN = false;
#endif

// max(x, lo) and min(x, hi), NaN kept where kClampKeepsNaN.
template <class D, class V>
HWY_INLINE V AtLeast(D d, V x, float lo) {
  return hn::Max(hn::Set(d, lo), x);
}
template <class D, class V>
HWY_INLINE V AtMost(D d, V x, float hi) {
  return hn::Min(hn::Set(d, hi), x);
}

// -|x|: x with its sign bit set (one OR, where Neg(Abs(x)) takes two).
template <class D, class V>
HWY_INLINE V NegAbs(D d, V x) {
  return hn::Or(x, hn::Set(d, -0.0f));
}

// exp(x) for x in [-104, 0] (the caller clamps) in three steps, so that an op whose argument is a
// double-float can add its low part into r:
//   t = x log2(e) + (1.5 * 2^23 + 151) rounds n = round(x / ln 2) into t's low mantissa bits,
//   so that t's bits shifted into the exponent field are 2^(n + 24) (ExpRoundShift);
//   r = x - n ln 2, |r| <= ln(2) / 2, Cody-Waite with ln 2 = ln2_hi + ln2_lo: n ln2_hi is exact
//   (ln2_hi has 16 significant bits) and x - n ln2_hi is exact by Sterbenz (ExpRemainder);
//   e^x = (2^-24 exp(r)) 2^(n + 24), exp(r) a polynomial of degree 6 (ExpFromRemainder).
inline constexpr float kExpShift = 12583063.0f;  // 1.5 * 2^23 + 127 + 24

// With a power-of-two factor k, the same steps for e^(k x) without forming k x: the rounding of
// k x log2(e) is that of x (k log2(e)), and the remainder comes out as r / k, each bit for bit.
template <class D, class V>
HWY_INLINE V ExpRoundShift(D d, V x, float shift = kExpShift, float factor = 1.0f) {
  return hn::MulAdd(x, hn::Set(d, 1.44269504088896341f * factor), hn::Set(d, shift));
}

template <class D, class V>
HWY_INLINE V ExpRemainder(D d, V x, V t, float shift = kExpShift, float factor = 1.0f) {
  const V n = hn::Sub(t, hn::Set(d, shift));
  const V r = hn::MulAdd(n, hn::Set(d, -0.693145751953125f / factor), x);
  return hn::MulAdd(n, hn::Set(d, -1.428606765330187045e-6f / factor), r);
}

// exp(s / 2) - 1 ~= s P(s) for s in [-0.71, 0.71] (past ln 2); max error 3.7e-9 relative to
// exp(s / 2) (fit_exp in scripts/fit_gaussian.py). gaussian-inl.h evaluates it at s = -t^2 - ...;
// ExpScaledSmall at s = 2r.
inline constexpr float kHalfExpm1[6] = {0.5f,          0.12499998f,    0.020833135f,
                                        0.0026043034f, 0.00026157184f, 2.1556209e-05f};

// c[0] + c[1] x + ... by Horner's rule: size - 1 FMAs. These kernels are bound by the FMA pipes,
// not by latency, so Horner beats Estrin (one more multiply, for x^2) wherever x^2 is not at hand.
template <class D, class V, class Coefficients>
HWY_INLINE V Horner(D d, V x, const Coefficients& c) {
  constexpr std::size_t kN = std::size(Coefficients{});
  V acc = hn::MulAdd(hn::Set(d, c[kN - 1]), x, hn::Set(d, c[kN - 2]));
  for (std::size_t k = kN - 2; k-- > 0;) acc = hn::MulAdd(acc, x, hn::Set(d, c[k]));
  return acc;
}

// exp(r) = 1 + r Q(r) for |r| <= 0.355 with Q(r) = 2 P(2r), P = kHalfExpm1, so Q[k] =
// kHalfExpm1[k] 2^(k + 1): the same rounded coefficients and the same 3.7e-9, and Q(0) = 1
// exactly. Five FMAs, where Estrin's scheme on r + r^2 P(r) took eight. The table is scaled by a
// power of two so that it can also give 2^-24 Q; with a factor f (a power of two), it gives
// Q_f(h) = f Q(f h), so that r Q(r) = h Q_f(h) for h = r / f, each Horner step scaled exactly.
constexpr std::array<float, 6> ExpQ(float scale, float factor = 1.0f) {
  std::array<float, 6> q{};
  float power = 2.0f * scale * factor;
  for (std::size_t k = 0; k < q.size(); ++k, power *= 2.0f * factor) q[k] = kHalfExpm1[k] * power;
  return q;
}
inline constexpr float kTwoToMinus24 = 5.9604644775390625e-8f;
inline constexpr std::array<float, 6> kExpQ24 = ExpQ(kTwoToMinus24);

// 2^-24 exp(r) = 2^-24 + r (2^-24 Q(r)): 2^-24 keeps the product with ExpRoundShift's
// 2^(n + 24) to one rounding; no term underflows.
template <class D, class V>
HWY_INLINE V ExpScaledSmall(D d, V r) {
  return hn::MulAdd(Horner(d, r, kExpQ24), r, hn::Set(d, kTwoToMinus24));
}

// expm1(r) = r Q(r) from h = r / kFactor: relative accuracy near r = 0 (the fit's error vanishes
// there with P(0) = 1/2).
template <int kFactor, class D, class V>
HWY_INLINE V Expm1Small(D d, V h) {
  static constexpr std::array<float, 6> kQ = ExpQ(1.0f, kFactor);
  return hn::Mul(h, Horner(d, h, kQ));
}

// 2^(n + 24) from t (2^n with Expm1NonPositive's shift): normal for n >= -150.
template <class D, class V>
HWY_INLINE V ScaleFromRoundShift(D d, V t) {
  const hn::RebindToSigned<D> di;
  return hn::BitCast(d, hn::ShiftLeft<23>(hn::BitCast(di, t)));
}

// e^x = (2^-24 exp(r)) 2^(n + 24): the product rounds once, into the subnormal range where it
// must.
template <class D, class V>
HWY_INLINE V ExpFromRemainder(D d, V t, V r) {
  return hn::Mul(ExpScaledSmall(d, r), ScaleFromRoundShift(d, t));
}

// The same exp scaled by 2^48, for the lower tails whose results are subnormal: e_s = 2^48 e^x
// stays normal down to n = -174 (x = -120), so that a product like x e^x is formed from normal
// operands and rounds once into the subnormal range when it is finally multiplied by 2^-48
// (ExpRoundShift and ExpRemainder with kExpShift48; the offset 175 is 127 + 48).
inline constexpr float kExpShift48 = 12583087.0f;  // 1.5 * 2^23 + 127 + 48
inline constexpr float kTwoTo48 = 281474976710656.0f;
inline constexpr float kTwoToMinus48 = 3.5527136788005009e-15f;
inline constexpr std::array<float, 6> kExpQ1 = ExpQ(1.0f);
template <class D, class V>
HWY_INLINE V ExpTimes2To48FromRemainder(D d, V t, V r) {
  return hn::Mul(hn::MulAdd(Horner(d, r, kExpQ1), r, hn::Set(d, 1.0f)), ScaleFromRoundShift(d, t));
}

// (x + plus) e^x, for x below kXExpTailBelow: there silu(x) = x e^x / (1 + e^x) and
// mish(x) = x tanh(log1p(e^x)) both equal x e^x, and their slopes (1 + x) e^x (plus = 1), to a
// relative 1e-33 (e^x < 2e-35), while their general forms round e^x into the subnormals from
// x = -87.3 on and lose it at the exp's clamp. x is clamped at -116, where both round to -0:
// (x + plus) e^x is negative, so an underflow keeps the sign.
inline constexpr float kXExpTailBelow = -80.0f;
template <class D, class V>
HWY_INLINE V XExpTail(D d, V x, float plus) {
  const V xc = AtLeast(d, x, -116.0f);
  const V t = ExpRoundShift(d, xc, kExpShift48);
  const V e_s = ExpTimes2To48FromRemainder(d, t, ExpRemainder(d, xc, t, kExpShift48));
  return hn::Mul(hn::Mul(hn::Add(xc, hn::Set(d, plus)), e_s), hn::Set(d, kTwoToMinus48));
}

// `fast`, with XExpTail in the lanes below kXExpTailBelow. Activations hardly ever go there, so
// a vector without such a lane pays a compare and a predicted branch, not the tail's exp.
template <class D, class V>
HWY_INLINE V WithXExpTail(D d, V x, V fast, float plus) {
  const auto tail = hn::Lt(x, hn::Set(d, kXExpTailBelow));
  if (HWY_LIKELY(hn::AllFalse(d, tail))) return fast;
  return hn::IfThenElse(tail, XExpTail(d, x, plus), fast);
}

// exp(x) for x in [-104, 0].
template <class D, class V>
HWY_INLINE V ExpClamped(D d, V x) {
  const V t = ExpRoundShift(d, x);
  return ExpFromRemainder(d, t, ExpRemainder(d, x, t));
}

// exp(x) for x <= 0; below -104 (and at -inf) 0. Leaner than hn::Exp, which must cover the
// whole float range: with x <= 0 the scale 2^n is one shift and one multiply.
template <class D, class V>
HWY_INLINE V ExpNonPositive(D d, V x) {
  return ExpClamped(d, AtLeast(d, AtMost(d, x, 0.0f), -104.0f));
}

// exp(-|x|), the form every sigmoid-like op needs: 0 for |x| > 104.
template <class D, class V>
HWY_INLINE V ExpNegAbs(D d, V x) {
  return ExpClamped(d, AtLeast(d, NegAbs(d, x), -104.0f));
}

// log1p(u) for u in [0, 1], as softplus needs for log1p(exp(-|z|)). 1 + u = 2^k (1 + f) with
// k = 0, f = u for u <= 1/2 and k = 1, f = (u - 1) / 2 above: f in (-1/4, 1/2] comes from u
// exactly (u - 1 by Sterbenz, then a power of two), so 1 + u is never rounded. Then
//   log(1 + f) = 2 atanh(s), s = f / (f + 2), |s| <= 1/5, = 2s (1 + s^2/3 + s^4/5 + s^6/7 + s^8/9)
// (the next term is below 1e-8 relative). About 1.5 ULP, with one division; hn::Log1p costs a
// general Log (a division) and a division.
template <class D, class V>
HWY_INLINE V Log1pUnit(D d, V u) {
  const V half = hn::Set(d, 0.5f);
  const auto above = hn::Gt(u, half);
  const V f = hn::IfThenElse(above, hn::MulSub(u, half, half), u);
  const V s = hn::Div(f, hn::Add(f, hn::Set(d, 2.0f)));
  const V s2 = hn::Mul(s, s);
  V p = hn::MulAdd(hn::Set(d, 1.0f / 9.0f), s2, hn::Set(d, 1.0f / 7.0f));
  p = hn::MulAdd(p, s2, hn::Set(d, 1.0f / 5.0f));
  p = hn::MulAdd(p, s2, hn::Set(d, 1.0f / 3.0f));
  const V two_s = hn::Add(s, s);
  const V log_m = hn::MulAdd(hn::Mul(two_s, s2), p, two_s);
  return hn::Add(hn::IfThenElseZero(above, hn::Set(d, 0.693147182f)), log_m);
}

// The two pieces of the logistic function that every sigmoid-like op needs, with no overflow:
// e = exp(-|x|) in [0, 1] and r = 1 / (1 + e). Then sigmoid(x) = x >= 0 ? r : e * r and
// sigmoid'(x) = sigmoid(x) * sigmoid(-x) = e * r^2. Each is within ~2.5 ULP (exp 1 ULP, division
// 0.5, product 0.5). Arguments below -104 give e = 0 (exp(-104) is below the smallest float).
template <class D, class V>
HWY_INLINE void LogisticParts(D d, V x, V& e, V& r) {
  e = ExpNegAbs(d, x);
  r = hn::Div(hn::Set(d, 1.0f), hn::Add(hn::Set(d, 1.0f), e));
}

template <class D, class V>
HWY_INLINE V SigmoidFromParts(D d, V x, V e, V r) {
  return hn::IfThenElse(hn::Ge(x, hn::Zero(d)), r, hn::Mul(e, r));
}

// Where only sigmoid(x) m is needed: c / (1 + e) with c = x >= 0 ? m : e m, so the factor m
// (silu's x) is folded into the numerator: one rounding after the exp, not two, and one
// instruction fewer than r and a product. The caller passes both numerators, so that m = 1
// costs no multiply.
template <class D, class V>
HWY_INLINE V LogisticQuotient(D d, V x, V e, V if_positive, V if_negative) {
  return hn::Div(hn::IfThenElse(hn::Ge(x, hn::Zero(d)), if_positive, if_negative),
                 hn::Add(hn::Set(d, 1.0f), e));
}
template <class D, class V>
HWY_INLINE V SigmoidTimes(D d, V x, V e, V m) {
  return LogisticQuotient(d, x, e, m, hn::Mul(e, m));
}
template <class D, class V>
HWY_INLINE V Sigmoid(D d, V x) {
  const V e = ExpNegAbs(d, x);
  return LogisticQuotient(d, x, e, hn::Set(d, 1.0f), e);
}

// expm1(k x) for x <= 0 or NaN (the caller ensures it; -inf gives -1) and k = kFactor, 1 or 2:
// expm1(k x) = 2^n expm1(r) + (2^n - 1), one FMA, where 2^n - 1 is exact for n >= -24 and rounds
// to -1 below, as expm1 does from k x = -17.4 on (the clamp at k x = -30 keeps 2^n normal, so the
// shift builds 2^n itself, without the 2^24 offset). About 1 ULP; hn::Expm1 (4 ULP) costs an Exp
// and a Log. k = 2 (tanh) gives the bits of expm1(x + x) without the addition (ExpRoundShift).
template <int kFactor = 1, class D, class V>
HWY_INLINE V Expm1NonPositive(D d, V x) {
  static_assert(kFactor == 1 || kFactor == 2, "a power of two small enough for the clamp");
  constexpr float kShift = 12583039.0f;  // 1.5 * 2^23 + 127
  constexpr float kFactorF = kFactor;
  const V xc = AtLeast(d, x, -30.0f / kFactorF);
  const V t = ExpRoundShift(d, xc, kShift, kFactorF);
  const V scale = ScaleFromRoundShift(d, t);  // 2^n
  return hn::MulAdd(scale, Expm1Small<kFactor>(d, ExpRemainder(d, xc, t, kShift, kFactorF)),
                    hn::Sub(scale, hn::Set(d, 1.0f)));
}

}  // namespace relulab::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // RELULAB_SIMD_MATH_INL_H_
