#!/usr/bin/python3
"""Fits the float32 coefficients of relulab's src/activation/gaussian-inl.h.

  Mills ratio M(t) = Phi(-t) / phi(t) = sqrt(2 pi) exp(t^2 / 2) Phi(-t), t in [0, T]
  M(t) C / C_F ~= B(t) / (t B(t) + A(t)),  deg B = MB, deg A = MA, all coefficients > 0
  (C = 1 / sqrt(2 pi), C_F = C rounded to float32: the kernel computes phi with C_F)
  exp(s / 2) - 1 ~= s P(s) on s in [-ln 2, ln 2] (a bit wider), deg P = DEG_P
  (1/2 - Phi(-t)) / t ~= S(t^2) on t in [0, TAU], deg S = DEG_S

Each fit minimises the maximum relative error (for P: the error of 1 + s P(s) relative to
exp(s / 2)): Lawson's iteratively reweighted least squares on Chebyshev nodes; the rational fit is
linearised as B - M (t B + A), weighted by 1 / (M D_previous) (Loeb / Sanathanan-Koerner), exact
values from mpmath at 40 digits. The coefficients are then rounded to float32 one at a time, lowest
order first, refitting the rest after each rounding.
Run: /usr/bin/python3 fit.py  (numpy + mpmath); prints the C++ constants and the max relative
error of the rounded coefficients (evaluated exactly).
"""
import numpy as np
import mpmath as mp

mp.mp.dps = 40
T = 13.3  # a little past the clamp of |x| (13.2 + rounding of the exp argument)
MB, MA = 5, 4
# The kernel multiplies by C_F = float32(1 / sqrt(2 pi)); the fit absorbs its rounding.
C_OVER_CF = float(1 / mp.sqrt(2 * mp.pi) / mp.mpf(float(np.float32(1 / mp.sqrt(2 * mp.pi)))))
DEG_P = 5
TAU, DEG_S = 0.5, 4  # near 0: Phi(-t) = 1/2 - t S(t^2) for t < TAU


def f32(x):
    return float(np.float32(x))


def chebyshev_nodes(a, b, n):
    k = np.arange(n)
    return (a + b) / 2 - (b - a) / 2 * np.cos(np.pi * (k + 0.5) / n)


def lawson(build, y, fixed, nunk, iters=150):
    """Minimax of the relative error of a model linear in its unknowns.

    build(x_prev) -> (A, target, value_fn): rows A x ~= target (already weighted to relative
    error); value_fn(x) -> model values. fixed: {index: value}.
    """
    free = [j for j in range(nunk) if j not in fixed]
    w = np.ones(len(y)) / len(y)
    x = np.zeros(nunk)
    for j, v in fixed.items():
        x[j] = v
    best = (None, np.inf)
    for _ in range(iters):
        A, target, value = build(x)
        target = target - sum(A[:, j] * fixed[j] for j in fixed)
        sw = np.sqrt(w)
        x[free] = np.linalg.lstsq(A[:, free] * sw[:, None], target * sw, rcond=None)[0]
        err = value(x) / y - 1
        m = np.max(np.abs(err))
        if m < best[1]:
            best = (x.copy(), m)
        w = w * np.abs(err) ** 0.5 + 1e-300
        w /= w.sum()
    return best


def fit_rounded(build, y, fixed, nunk, scales):
    """Rounds unknown j to float32 (unscaled value x_j / scales[j]) in index order."""
    fixed = dict(fixed)
    for j in range(nunk):
        if j in fixed:
            continue
        x, _ = lawson(build, y, fixed, nunk)
        fixed[j] = f32(x[j] / scales[j]) * scales[j]
    x, err = lawson(build, y, fixed, nunk, iters=1)
    return [x[j] / scales[j] for j in range(nunk)], err


def normalization():
    """b0, a0 floats with b0 / a0 = M(0) C / C_F to ~1e-10 (the fit cannot fix M(0)).

    b0 just below 2 so that B(t) and A(t) near t = 0 round with the smallest relative error.
    """
    best = None
    for k in range(1 << 16):
        b0 = 2.0 - (k + 1) * 2.0**-23
        a0 = b0 / (float(mp.sqrt(mp.pi / 2)) * C_OVER_CF)
        e = abs(f32(a0) / a0 - 1)
        if best is None or e < best[0]:
            best = (e, b0, f32(a0))
    return best[1], best[2]


def fit_mills():
    ts = chebyshev_nodes(0.0, T, 4000)
    ts[0], ts[-1] = 0.0, T
    y = np.array([float(mp.sqrt(2 * mp.pi) * mp.erfc(mp.mpf(t) / mp.sqrt(2)) / 2
                        * mp.exp(mp.mpf(t) ** 2 / 2)) for t in ts]) * C_OVER_CF
    s = ts / T  # fitted in t / T for conditioning
    vb = np.vander(s, MB + 1, increasing=True)
    va = np.vander(s, MA + 1, increasing=True)
    nunk = (MB + 1) + (MA + 1)  # b_0..b_MB, a_0..a_MA

    def split(x):
        return x[:MB + 1], x[MB + 1:]

    def value(x):
        b, a = split(x)
        bv = vb @ b
        return bv / (ts * bv + va @ a)

    def build(x_prev):
        b, a = split(x_prev)
        d_prev = ts * (vb @ b) + va @ a
        A = np.hstack([vb * (1 - y * ts)[:, None], -y[:, None] * va]) / (y * d_prev)[:, None]
        return A, np.zeros_like(y), value

    b0, a0 = normalization()
    scales = [T**j for j in range(MB + 1)] + [T**j for j in range(MA + 1)]
    c, err = fit_rounded(build, y, {0: b0, MB + 1: a0}, nunk, scales)
    return c[:MB + 1], c[MB + 1:], err


def fit_exp():
    a = 0.71
    s = chebyshev_nodes(-a, a, 2000)
    y = np.exp(s / 2)
    v = np.vander(s / a, DEG_P + 1, increasing=True) * s[:, None]

    def build(_):
        return v / y[:, None], (y - 1) / y, lambda x: 1 + v @ x

    c, err = fit_rounded(build, y, {}, DEG_P + 1, [a**j for j in range(DEG_P + 1)])
    return c, err


def fit_center():
    ts = chebyshev_nodes(0.0, TAU, 1000)
    w = ts * ts
    y = np.array([float((mp.mpf(1) / 2 - mp.ncdf(-mp.mpf(t))) / t) for t in ts])
    v = np.vander(w / TAU**2, DEG_S + 1, increasing=True)

    def build(_):
        return v / y[:, None], np.ones_like(y), lambda x: v @ x

    return fit_rounded(build, y, {}, DEG_S + 1, [TAU**(2 * j) for j in range(DEG_S + 1)])


def show(name, coefs):
    body = ", ".join(f"{np.float32(c)!r}f" for c in coefs)
    print(f"inline constexpr float {name}[{len(coefs)}] = {{{body}}};")


if __name__ == "__main__":
    b, a, em = fit_mills()
    print(f"// M = B / (t B + A) on [0, {T}], degrees {MB}/{MA}: max relative error {em:.3g}")
    show("kMillsB", b)
    show("kMillsA", a)
    cp, ep = fit_exp()
    print(f"// exp(s / 2) = 1 + s P(s), degree {DEG_P}: max relative error {ep:.3g}")
    show("kHalfExpm1", cp)
    cs, es = fit_center()
    print(f"// (1/2 - Phi(-t)) / t = S(t^2) on [0, {TAU}], degree {DEG_S}: max relative error {es:.3g}")
    show("kCenterS", cs)
