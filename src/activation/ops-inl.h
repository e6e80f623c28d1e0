// The SIMD math of every activation: one struct per table entry with Forward(x),
// Backward(x, dy) = dy * f'(x) and, where the table allows, BackwardFromOutput(y, dy).
// Formulas are the table's (PyTorch's); the comments give the form used for accuracy.
// NaN propagation is done once, by the loops in kernels.cpp, so ops need not care about NaN; an op
// whose Forward returns NaN for a NaN x by itself (kForwardKeepsNaN: every comparison with NaN is
// false, so the selects pass on their false branch; clamps keep NaN where kClampKeepsNaN), or
// whose Backward and BackwardFromOutput give the table's answer at a NaN x or y by themselves
// (kBackwardHandlesNaN), says so, which saves the loop a compare and a blend per vector: a quarter
// of the work of the cheapest ops in cache, a tenth of a sigmoid's. The select activations (relu,
// leaky_relu, prelu, relu6, hardsigmoid) do not return NaN from their backward at a NaN x but
// what their select gives, as PyTorch's kernels and the relu mask do (formula::select_slope_at_nan:
// dy, slope dy, 0, 0).

#if defined(RELULAB_OPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RELULAB_OPS_INL_H_
#undef RELULAB_OPS_INL_H_
#else
#define RELULAB_OPS_INL_H_
#endif

#include "activation/gaussian-inl.h"
#include "activation/simd_math-inl.h"
#include "hwy/highway.h"
#include "relulab/activation.hpp"

HWY_BEFORE_NAMESPACE();
namespace relulab::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// PyTorch's SELU constants, rounded to float; kSeluScaleAlpha is their product.
inline constexpr float kSeluScale = 1.0507009873554804934193349852946f;
inline constexpr float kSeluScaleAlpha = 1.7580993408473768599402175208123f;
// scale = kSeluScaleDown + kSeluScaleUp exactly to float precision, the first the float below
// it: x scale = fma(x, kSeluScaleDown, x kSeluScaleUp) rounds once, so it overflows exactly
// where x scale does (x kSeluScale, 3.3e-8 too large, gave inf at x = 3.2386e38, where the exact
// value rounds to FLT_MAX), and both parts are positive, so x = +inf gives inf + inf.
inline constexpr float kSeluScaleDown = 1.0507009029388428f;
inline constexpr float kSeluScaleUp = 8.441664078873146e-08f;

// ReLU: max(0, x); f' = x > 0 (0 at 0, as PyTorch).
struct ReluOp {
  static constexpr bool kFromOutput = true;
  static constexpr bool kForwardKeepsNaN = true;
  static constexpr bool kBackwardHandlesNaN = true;
  explicit ReluOp(const ActivationSpec&) {}
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    return hn::IfThenZeroElse(hn::Le(x, hn::Zero(d)), x);
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    // +0 where x <= 0 (also for NaN or infinite dy), else dy (x = NaN included, as the mask bit
    // !(x <= 0) and PyTorch's threshold_backward), as a bitwise AND-NOT with the mask: with
    // IfThenZeroElse the compiler folds the load of dy into an AVX-512 zero-masking load, which
    // ran at 0.72 of PyTorch's ReLU backward on 2^22 floats (DRAM, one thread, Zen 4), against
    // 1.2x this way.
    return hn::AndNot(hn::VecFromMask(d, hn::Le(x, hn::Zero(d))), dy);
  }
  template <class D, class V>
  HWY_INLINE V BackwardFromOutput(D d, V y, V dy) const {
    return Backward(d, y, dy);
  }
};

// LeakyReLU and single-slope PReLU: x > 0 ? x : a x; f' = x > 0 ? 1 : a. From the output,
// y > 0 exactly when x > 0 because a >= 0.
template <bool kAllowFromOutput>
struct SlopeOp {
  static constexpr bool kFromOutput = kAllowFromOutput;
  static constexpr bool kForwardKeepsNaN = true;
  static constexpr bool kBackwardHandlesNaN = true;  // NaN > 0 is false: slope dy
  explicit SlopeOp(const ActivationSpec& s) : slope(s.params[0]) {}
  float slope;
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    return hn::IfThenElse(hn::Gt(x, hn::Zero(d)), x, hn::Mul(x, hn::Set(d, slope)));
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    return hn::IfThenElse(hn::Gt(x, hn::Zero(d)), dy, hn::Mul(dy, hn::Set(d, slope)));
  }
  template <class D, class V>
  HWY_INLINE V BackwardFromOutput(D d, V y, V dy) const {
    return Backward(d, y, dy);
  }
};
using LeakyReluOp = SlopeOp<true>;
using PReluOp = SlopeOp<false>;

// ReLU6: min(max(0, x), 6); f' = 0 < x < 6 (0 at both kinks, as PyTorch's hardtanh_backward).
struct Relu6Op {
  static constexpr bool kFromOutput = true;
  static constexpr bool kForwardKeepsNaN = true;
  static constexpr bool kBackwardHandlesNaN = true;  // NaN is not inside: 0
  explicit Relu6Op(const ActivationSpec&) {}
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    const V six = hn::Set(d, 6.0f);
    return hn::IfThenElse(hn::Ge(x, six), six, hn::IfThenZeroElse(hn::Le(x, hn::Zero(d)), x));
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    const auto inside = hn::And(hn::Gt(x, hn::Zero(d)), hn::Lt(x, hn::Set(d, 6.0f)));
    return hn::And(hn::VecFromMask(d, inside), dy);  // not IfThenElseZero: see ReluOp
  }
  template <class D, class V>
  HWY_INLINE V BackwardFromOutput(D d, V y, V dy) const {
    return Backward(d, y, dy);
  }
};

// ELU, SELU and CELU share one shape: x > 0 ? p x : n expm1(x / a), with
// f' = x > 0 ? p : (n / a) exp(x / a) = y / a + n / a for x <= 0.
//   ELU:  p = 1,     n = alpha,         a = 1
//   SELU: p = scale, n = scale * alpha, a = 1
//   CELU: p = 1,     n = alpha,         a = alpha
// The kind is a template argument so that the multiplies by p = 1 and 1 / a = 1 are not emitted:
// at two of ELU's ten FMA-pipe operations they are a fifth of its time in cache.
template <Activation kKind>
struct ExponentialLinearOp {
  static constexpr bool kFromOutput = true;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = kClampKeepsNaN;
  static constexpr bool kScalesPositive = kKind == Activation::kSELU;
  static constexpr bool kDividesInput = kKind == Activation::kCELU;
  float positive = 1.0f, negative, inv_a = 1.0f;
  explicit ExponentialLinearOp(const ActivationSpec& s) {
    if constexpr (kScalesPositive) {
      positive = kSeluScale, negative = kSeluScaleAlpha;
    } else {
      negative = s.params[0];
    }
    if constexpr (kDividesInput) inv_a = 1.0f / s.params[0];
  }
  template <class D, class V>
  HWY_INLINE V Scaled(D d, V x) const {
    if constexpr (kDividesInput) {
      return hn::Mul(x, hn::Set(d, inv_a));
    } else {
      return x;
    }
  }
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    // The branch is chosen on x / a >= 0, so that +-0, and for CELU an x / alpha that rounds to
    // -0 (x = -2^-149, alpha = 2), return p x with its sign, where the expm1 reduction would give
    // +0 (f(x) ~ p x there, within half a step of the exact value).
    const V xs = Scaled(d, x);
    const V neg = hn::Mul(hn::Set(d, negative), Expm1NonPositive(d, AtMost(d, xs, 0.0f)));
    V pos = x;
    if constexpr (kScalesPositive) {
      pos = hn::MulAdd(x, hn::Set(d, kSeluScaleDown), hn::Mul(x, hn::Set(d, kSeluScaleUp)));
    }
    return hn::IfThenElse(hn::Ge(xs, hn::Zero(d)), pos, neg);
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    const V slope = hn::Mul(hn::Set(d, negative * inv_a), ExpNonPositive(d, Scaled(d, x)));
    const V dfdx = hn::IfThenElse(hn::Gt(x, hn::Zero(d)), hn::Set(d, positive), slope);
    return hn::Mul(dy, dfdx);
  }
  template <class D, class V>
  HWY_INLINE V BackwardFromOutput(D d, V y, V dy) const {
    const V slope = hn::MulAdd(y, hn::Set(d, inv_a), hn::Set(d, negative * inv_a));
    const V dfdx = hn::IfThenElse(hn::Gt(y, hn::Zero(d)), hn::Set(d, positive), slope);
    return hn::Mul(dy, dfdx);
  }
};

// GELU (exact): x Phi(x); the normal CDF with relative accuracy in the tail is in gaussian-inl.h.
struct GeluOp {
  static constexpr bool kFromOutput = false;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = kClampKeepsNaN;
  explicit GeluOp(const ActivationSpec&) {}
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    return GeluExact(d, x);
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    return hn::Mul(dy, GeluExactDerivative(d, x));
  }
};

// GELU, tanh approximation: x (1 + tanh(u)) / 2 = x sigmoid(w), w = 2u = x q, q = k1 + k3 x^2 > 0.
// For x << 0 the result is ~x exp(w) and an absolute error in w becomes a relative error in f, so
// q is carried as a double-float (q + q_lo) and -|w| = -|x| q enters the exp's reduction exactly:
// r = (-|x| q - n ln2_hi) + (-|x| q)_lo + (-|x| q_lo) - n ln2_lo, the first term exact (TwoProd's
// high part minus an exact multiple of ln2_hi: Sterbenz). The exp is carried as e_s = 2^48 e,
// e = exp(-|w|), which stays normal where e itself is subnormal (x < -10.05: |w| > 87.3), so that
// x e and f' are formed from normal numbers and round once into the subnormals (or to -0) when
// they are scaled back by 2^-48; r = 1 / (1 + e).
// f' = sigmoid(w) + x sigmoid(w) sigmoid(-w) (k1 + 3 k3 x^2).
struct GeluTanhOp {
  static constexpr bool kFromOutput = false;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = kClampKeepsNaN;
  explicit GeluTanhOp(const ActivationSpec&) {}
  // k1 = 2 sqrt(2 / pi), k3 = k1 * 0.044715, each split as hi + lo.
  static constexpr float kK1Hi = 1.59576912160573071175f;
  static constexpr float kK1Lo = static_cast<float>(1.59576912160573071175 - double{kK1Hi});
  static constexpr float kK3Hi = 0.0713548162726008080f;
  static constexpr float kK3Lo = static_cast<float>(0.0713548162726008080 - double{kK3Hi});
  // |x| is clamped to 11, where w = -112.5 keeps e_s normal (n >= -174): from x = -10.8 on f, and
  // from x = -10.9 on f', round to -0 (their limit at -inf), and for x > 11 sigmoid(w) rounds to 1
  // and the derivative's second term to 0.
  static constexpr float kClamp = 11.0f;

  // e_s = 2^48 exp(-|w|), xa = -min(|x|, kClamp), x2 = xa^2 rounded.
  template <class D, class V>
  HWY_INLINE void Parts(D d, V x, V& e_s, V& xa, V& x2) const {
    xa = AtLeast(d, NegAbs(d, x), -kClamp);
    V x2_lo;
    TwoProd(d, xa, xa, x2, x2_lo);
    V t, t_lo;  // k3 x^2
    TwoProd(d, hn::Set(d, kK3Hi), x2, t, t_lo);
    t_lo = hn::MulAdd(hn::Set(d, kK3Hi), x2_lo, hn::MulAdd(hn::Set(d, kK3Lo), x2, t_lo));
    V q, q_lo;
    TwoSum(hn::Set(d, kK1Hi), t, q, q_lo);
    q_lo = hn::Add(q_lo, hn::Add(t_lo, hn::Set(d, kK1Lo)));
    V w, w_lo;  // -|w| = w + w_lo + xa q_lo
    TwoProd(d, xa, q, w, w_lo);
    const V shift = ExpRoundShift(d, w, kExpShift48);
    const V rem = hn::Add(ExpRemainder(d, w, shift, kExpShift48), hn::MulAdd(xa, q_lo, w_lo));
    e_s = ExpTimes2To48FromRemainder(d, shift, rem);
  }
  // 1 + e, from e_s.
  template <class D, class V>
  HWY_INLINE V OnePlusE(D d, V e_s) const {
    return hn::MulAdd(e_s, hn::Set(d, kTwoToMinus48), hn::Set(d, 1.0f));
  }
  // f = x r for x >= 0, x e r for x < 0 (sign(w) = sign(x)), with x e = (xa e_s) 2^-48: xa, not
  // x, so that x = -inf gives -0.
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    V e_s, xa, x2;
    Parts(d, x, e_s, xa, x2);
    const V neg = hn::Mul(hn::Mul(xa, e_s), hn::Set(d, kTwoToMinus48));
    return hn::Div(hn::IfThenElse(hn::Ge(x, hn::Zero(d)), x, neg), OnePlusE(d, e_s));
  }
  // f' = s + x (e r) r dw, s = sigmoid(w) = r or e r, all in units of 2^-48.
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    V e_s, xa, x2;
    Parts(d, x, e_s, xa, x2);
    const V r = hn::Div(hn::Set(d, 1.0f), OnePlusE(d, e_s));
    const V xc = hn::CopySign(xa, x);  // x clamped to [-kClamp, kClamp]
    const V dw = hn::MulAdd(hn::Set(d, 3.0f * kK3Hi), x2, hn::Set(d, kK1Hi));
    const V er_s = hn::Mul(e_s, r);
    const V s_s = hn::IfThenElse(hn::Ge(x, hn::Zero(d)), hn::Mul(r, hn::Set(d, kTwoTo48)), er_s);
    const V dfdx_s = hn::MulAdd(hn::Mul(xc, r), hn::Mul(er_s, dw), s_s);
    return hn::Mul(dy, hn::Mul(dfdx_s, hn::Set(d, kTwoToMinus48)));
  }
};

// SiLU: x sigmoid(x); f' = s + x s (1 - s) with s = sigmoid(x), e = exp(-|x|), r = 1 / (1 + e).
// x is clamped at -200, where e = 0 already: -inf gives -0, not -inf * 0. Below -80, where e
// reaches the subnormals, f = x e^x and f' = (1 + x) e^x (WithXExpTail).
struct SiluOp {
  static constexpr bool kFromOutput = false;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = kClampKeepsNaN;
  explicit SiluOp(const ActivationSpec&) {}
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    return WithXExpTail(d, x, SigmoidTimes(d, x, ExpNegAbs(d, x), AtLeast(d, x, -200.0f)), 0.0f);
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    // With t = |x| and u = sigmoid(-t) = e / (1 + e): f'(-t) = u (1 - t (1 - u)) =
    // u ((1 - t) + t u), where 1 - t is exact where it cancels and t u enters through the FMA, and
    // f'(t) = 1 - f'(-t) (s' is even). u is one quotient, where s + x e r^2 rounded r twice
    // (4.5 ULP at x = -7.57).
    const V one = hn::Set(d, 1.0f);
    const V e = ExpNegAbs(d, x);
    const V u = hn::Div(e, hn::Add(one, e));
    const V t = AtMost(d, hn::Abs(x), 200.0f);  // +inf: t u = 200 * 0
    const V g = hn::Mul(u, hn::MulAdd(t, u, hn::Sub(one, t)));
    const V dfdx = hn::IfThenElse(hn::Ge(x, hn::Zero(d)), hn::Sub(one, g), g);
    return hn::Mul(dy, WithXExpTail(d, x, dfdx, 1.0f));
  }
};

// Mish: x tanh(softplus(x)). With e = exp(-|x|) <= 1, so that every exp argument is
// non-positive (the lean exp, no overflow), and for x <= 0 (e = exp(x)):
//   tanh(log(1 + e)) = A / B, A = e (e + 2), B = A + 2,
//   f' = A / B + 4 x e (1 + e) / B^2;
// for x > 0 the same, multiplied through by exp(-2x) = e^2:
//   A = 1 + 2e, B = A + 2e^2, f' = A / B + 4 x e^2 (1 + e) / B^2.
// x is clamped at -200, where e = 0 already: -inf gives -0, not -inf * 0. Below -80, where e
// reaches the subnormals, f = x e^x and f' = (1 + x) e^x (WithXExpTail).
struct MishOp {
  static constexpr bool kFromOutput = false;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = kClampKeepsNaN;
  explicit MishOp(const ActivationSpec&) {}
  template <class D, class V>
  HWY_INLINE void Parts(D d, V x, V& e, V& a, V& b) const {
    e = ExpNegAbs(d, x);
    const V two = hn::Set(d, 2.0f);
    const auto positive = hn::Gt(x, hn::Zero(d));
    a = hn::IfThenElse(positive, hn::MulAdd(two, e, hn::Set(d, 1.0f)), hn::Mul(e, hn::Add(e, two)));
    b = hn::Add(a, hn::IfThenElse(positive, hn::Mul(two, hn::Mul(e, e)), two));
  }
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    V e, a, b;
    Parts(d, x, e, a, b);
    return WithXExpTail(d, x, hn::Mul(AtLeast(d, x, -200.0f), hn::Div(a, b)), 0.0f);
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    V e, a, b;
    Parts(d, x, e, a, b);
    const V q = hn::Div(hn::Set(d, 1.0f), b);
    // e (1 + e), times e again for x > 0; inf * 0 cannot occur: x = +-inf gives e = 0 and the
    // clamp keeps 4x finite.
    const V g = hn::MulAdd(e, e, e);
    const V weight = hn::IfThenElse(hn::Gt(x, hn::Zero(d)), hn::Mul(g, e), g);
    const V xc = AtLeast(d, AtMost(d, x, 1e30f), -1e30f);
    const V second = hn::Mul(hn::Mul(hn::Set(d, 4.0f), xc), hn::Mul(weight, hn::Mul(q, q)));
    return hn::Mul(dy, WithXExpTail(d, x, hn::MulAdd(a, q, second), 1.0f));
  }
};

// Softplus: z = beta x; z > threshold ? x : log1p(exp(z)) / beta; f' = z > threshold ? 1 :
// sigmoid(z). beta = 1, PyTorch's default, is its own instance (kUnitBeta): its two multiplies
// by 1 are two of the ~30 vector instructions of the forward pass.
template <bool kUnitBeta>
struct SoftplusOp {
  static constexpr bool kFromOutput = false;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = kClampKeepsNaN;
  float beta, inv_beta, threshold;
  explicit SoftplusOp(const ActivationSpec& s)
      : beta(s.params[0]), inv_beta(1.0f / s.params[0]), threshold(s.params[1]) {}
  template <class D, class V>
  HWY_INLINE V Scaled(D d, V v, float factor) const {
    if constexpr (kUnitBeta) {
      return v;
    } else {
      return hn::Mul(v, hn::Set(d, factor));
    }
  }
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    // log1p(exp(z)) = max(z, 0) + log1p(exp(-|z|)): no overflow whatever the threshold.
    const V z = Scaled(d, x, beta);
    const V log_term = Log1pUnit(d, ExpNegAbs(d, z));
    const V soft = Scaled(d, hn::Add(hn::Max(z, hn::Zero(d)), log_term), inv_beta);
    return hn::IfThenElse(hn::Gt(z, hn::Set(d, threshold)), x, soft);
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    const V z = Scaled(d, x, beta);
    const V dfdx =
        hn::IfThenElse(hn::Gt(z, hn::Set(d, threshold)), hn::Set(d, 1.0f), Sigmoid(d, z));
    return hn::Mul(dy, dfdx);
  }
};

// HardSigmoid: min(max(x + 3, 0), 6) / 6; f' = -3 < x < 3 ? 1/6 : 0.
// Forward as min(max(x + 3, 0), 6) times 1/6 rounded: 6 fl(1/6) = 1 + 2^-25 rounds to 1, so
// x >= 3 gives 1 exactly, with two clamps where two compares and two selects took four.
struct HardSigmoidOp {
  static constexpr bool kFromOutput = false;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = true;  // NaN is not inside: 0
  explicit HardSigmoidOp(const ActivationSpec&) {}
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    const V clamped = AtMost(d, AtLeast(d, hn::Add(x, hn::Set(d, 3.0f)), 0.0f), 6.0f);
    return hn::Mul(clamped, hn::Set(d, 1.0f / 6.0f));
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    const auto inside = hn::And(hn::Gt(x, hn::Set(d, -3.0f)), hn::Lt(x, hn::Set(d, 3.0f)));
    return hn::And(hn::VecFromMask(d, inside), hn::Mul(dy, hn::Set(d, 1.0f / 6.0f)));
  }
};

// HardSwish: x min(max(x + 3, 0), 6) / 6; f' = x < -3 ? 0 : x <= 3 ? (2x + 3) / 6 : 1.
// Forward as xc t with xc = max(x, -3) and t = min(xc + 3, 6) fl(1/6): t is 1 exactly from x = 3
// on (as in HardSigmoidOp) and 0 at x <= -3, where xc keeps -inf * 0 from giving NaN; the result
// there is -0, as x * 0 / 6 is in PyTorch. Five instructions where compares and selects took seven.
struct HardSwishOp {
  static constexpr bool kFromOutput = false;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = true;
  explicit HardSwishOp(const ActivationSpec&) {}
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    const V xc = AtLeast(d, x, -3.0f);
    const V t = hn::Mul(AtMost(d, hn::Add(xc, hn::Set(d, 3.0f)), 6.0f), hn::Set(d, 1.0f / 6.0f));
    return hn::Mul(xc, t);
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    // (2x + 3) / 6: 2x + 3 is exact near the zero at x = -1.5, so no cancellation error.
    const V middle =
        hn::Mul(hn::MulAdd(x, hn::Set(d, 2.0f), hn::Set(d, 3.0f)), hn::Set(d, 1.0f / 6.0f));
    const V dfdx = hn::IfThenElse(hn::Gt(x, hn::Set(d, 3.0f)), hn::Set(d, 1.0f),
                                  hn::IfThenZeroElse(hn::Lt(x, hn::Set(d, -3.0f)), middle));
    return hn::Mul(dy, dfdx);
  }
};

// Sigmoid: 1 / (1 + exp(-x)); f' = e r^2 from the input, y (1 - y) from the output.
struct SigmoidOp {
  static constexpr bool kFromOutput = true;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = kClampKeepsNaN;
  explicit SigmoidOp(const ActivationSpec&) {}
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    return Sigmoid(d, x);
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    // e / (1 + e)^2 with one division and (1 + e)^2 = fma(e, e + 2, 1) rounded once.
    const V e = ExpNegAbs(d, x);
    const V q2 = hn::MulAdd(e, hn::Add(e, hn::Set(d, 2.0f)), hn::Set(d, 1.0f));
    return hn::Mul(dy, hn::Div(e, q2));
  }
  template <class D, class V>
  HWY_INLINE V BackwardFromOutput(D d, V y, V dy) const {
    return hn::Mul(dy, hn::Mul(y, hn::Sub(hn::Set(d, 1.0f), y)));
  }
};

// Tanh; f' = 1 - tanh^2 = 4 e / (1 + e)^2 with e = exp(-2|x|), free of the cancellation of
// 1 - t^2 for large |x|; from the output, (1 - y)(1 + y), where 1 -+ y is exact for |y| >= 1/2.
struct TanhOp {
  static constexpr bool kFromOutput = true;
  static constexpr bool kForwardKeepsNaN = kClampKeepsNaN;
  static constexpr bool kBackwardHandlesNaN = kClampKeepsNaN;
  explicit TanhOp(const ActivationSpec&) {}
  // tanh(|x|) = -u / (2 + u) with u = expm1(-2|x|) in [-1, 0], then x's sign (CopySign also
  // drops the minus): about 2 ULP (expm1 1, the sum and the quotient 0.5 each), with no
  // cancellation for small |x| and no overflow for large (expm1 clamps at -30, where u = -1).
  // hn::Tanh costs an Exp and a Log.
  template <class D, class V>
  HWY_INLINE V Forward(D d, V x) const {
    const V u = Expm1NonPositive<2>(d, NegAbs(d, x));
    return hn::CopySign(hn::Div(u, hn::Add(u, hn::Set(d, 2.0f))), x);
  }
  template <class D, class V>
  HWY_INLINE V Backward(D d, V x, V dy) const {
    const V e = ExpNegAbs(d, hn::Add(x, x));
    const V q2 = hn::MulAdd(e, hn::Add(e, hn::Set(d, 2.0f)), hn::Set(d, 1.0f));
    return hn::Mul(dy, hn::Div(hn::Mul(hn::Set(d, 4.0f), e), q2));
  }
  template <class D, class V>
  HWY_INLINE V BackwardFromOutput(D d, V y, V dy) const {
    const V one = hn::Set(d, 1.0f);
    return hn::Mul(dy, hn::Mul(hn::Sub(one, y), hn::Add(one, y)));
  }
};

// Calls visit(op) with the op of spec.kind: the one switch between a run-time activation and the
// compile-time loops.
template <class Visit>
HWY_INLINE void VisitOp(const ActivationSpec& spec, Visit&& visit) {
  switch (spec.kind) {
    case Activation::kReLU:
      return visit(ReluOp(spec));
    case Activation::kLeakyReLU:
      return visit(LeakyReluOp(spec));
    case Activation::kPReLU:
      return visit(PReluOp(spec));
    case Activation::kReLU6:
      return visit(Relu6Op(spec));
    case Activation::kELU:
      return visit(ExponentialLinearOp<Activation::kELU>(spec));
    case Activation::kSELU:
      return visit(ExponentialLinearOp<Activation::kSELU>(spec));
    case Activation::kCELU:
      return visit(ExponentialLinearOp<Activation::kCELU>(spec));
    case Activation::kGELU:
      return visit(GeluOp(spec));
    case Activation::kGELUTanh:
      return visit(GeluTanhOp(spec));
    case Activation::kSiLU:
      return visit(SiluOp(spec));
    case Activation::kMish:
      return visit(MishOp(spec));
    case Activation::kSoftplus:
      if (spec.params[0] == 1.0f) return visit(SoftplusOp<true>(spec));
      return visit(SoftplusOp<false>(spec));
    case Activation::kHardSigmoid:
      return visit(HardSigmoidOp(spec));
    case Activation::kHardSwish:
      return visit(HardSwishOp(spec));
    case Activation::kSigmoid:
      return visit(SigmoidOp(spec));
    case Activation::kTanh:
      return visit(TanhOp(spec));
  }
}

}  // namespace relulab::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // RELULAB_OPS_INL_H_
