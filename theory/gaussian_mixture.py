"""Figure 1 (docs/theory.md R7): fitting one Gaussian q = N(m, s^2) to a Gaussian mixture p.

- Forward KL(p || q) is minimised by moment matching (closed form); :func:`forward_fit_direct` minimises
  the quadrature value of CE(p, q) = -int p log q instead, so the two can be compared independently.
- Reverse KL(q || p) = -H(q) - E_q[log p] with E_q[log p] by adaptive quadrature (scipy ``quad``) in the
  standardised variable t = (x - m) / s, with breakpoints at the component means and at 0; the gradient
  uses Stein's identities, d/dm E_q f = E_q f' and d/ds E_q f = E_q[t f'(m + s t)], by the same quadrature.
  It has several local minima: :func:`reverse_local_minima` finds them from many starts and certifies each
  by its gradient norm and the eigenvalues of its Hessian.
- For 1/2 N(-a, 1) + 1/2 N(a, 1): :func:`saddle_node_separation` (where mode-seeking minima appear, a_sn)
  and :func:`mode_seeking_global_separation` (where they become global, a*).

Parameters are (m, log s); log s keeps s > 0 without constraints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq, minimize, minimize_scalar

from core.errors import InvalidInputError
from core.tolerances import FIGURE1_GRAD_TOL

T_RANGE = 14.0  # integrate t over [-14, 14]: the normal mass outside is below 1e-43
MIN_STD, MAX_SCALE, MAX_STD_RATIO = 1e-3, 1e3, 1e3  # the scales Figure 1's fits are computed for
QUAD_OPTS = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 400}
LOG_2PI_E = math.log(2 * math.pi * math.e)
A_RANGE_THREE_MINIMA = (2.42, 4.0)  # docs/theory.md R7: exactly three local minima for a in this range


MAX_COMPONENTS = 8  # measured: 4 components 7 s, 8 components 38 s (figure1 on a 2-core CPU)


@dataclass(frozen=True)
class Mixture:
    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def __post_init__(self):
        w, mu, sd = (np.asarray(v, np.float64) for v in (self.weights, self.means, self.stds))
        if not (len(w) == len(mu) == len(sd)) or len(w) == 0:
            raise InvalidInputError(
                f"mixture: weights, means and stds need the same non-zero length, got {len(w)}, {len(mu)}, "
                f"{len(sd)}"
            )
        if len(w) > MAX_COMPONENTS:  # the reverse fit's quadrature and starts grow with each component
            raise InvalidInputError(
                f"mixture: at most {MAX_COMPONENTS} components (about a minute on 2 cores; the work grows "
                f"with the square of their number), got {len(w)}"
            )
        for name, v in (("weights", w), ("means", mu), ("stds", sd)):
            if not np.all(np.isfinite(v)):
                raise InvalidInputError(f"mixture: {name} must be finite, got {v.tolist()}")
        if np.any(w <= 0) or abs(w.sum() - 1) > 1e-9:
            raise InvalidInputError(f"mixture: weights must be positive and sum to 1, got {w.tolist()}")
        if np.any(sd <= 0):
            raise InvalidInputError(f"mixture: stds must be positive, got {sd.tolist()}")
        # the quadrature and the fits are accurate for these scales; outside them, refuse rather than overflow
        if np.any(sd < MIN_STD) or np.any(sd > MAX_SCALE) or np.any(np.abs(mu) > MAX_SCALE):
            raise InvalidInputError(
                f"mixture: stds must lie in [{MIN_STD:g}, {MAX_SCALE:g}] and |means| <= {MAX_SCALE:g} "
                f"(rescale x), got stds {sd.tolist()}, means {mu.tolist()}"
            )
        if sd.max() / sd.min() > MAX_STD_RATIO:
            raise InvalidInputError(
                f"mixture: stds differ by a factor {sd.max() / sd.min():.3g} > {MAX_STD_RATIO:g}; "
                "the quadrature cannot resolve both components"
            )
        object.__setattr__(self, "_log_w", [math.log(x) for x in w])

    @classmethod
    def symmetric(cls, a: float) -> "Mixture":
        """1/2 N(-a, 1) + 1/2 N(a, 1)."""
        return cls((0.5, 0.5), (-a, a), (1.0, 1.0))

    def logpdf_and_score(self, x: float) -> tuple[float, float]:
        """log p(x) (log-sum-exp over components) and its derivative d/dx log p(x)."""
        logs = [
            lw - 0.5 * ((x - mu) / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)
            for lw, mu, sd in zip(self._log_w, self.means, self.stds, strict=True)
        ]
        top = max(logs)
        resp = [math.exp(v - top) for v in logs]
        total = sum(resp)
        score = (
            sum(r * (mu - x) / sd**2 for r, mu, sd in zip(resp, self.means, self.stds, strict=True)) / total
        )
        return top + math.log(total), score

    def logpdf(self, x) -> np.ndarray:
        x = np.asarray(x, np.float64)[..., None]
        w, mu, sd = (np.asarray(v) for v in (self.weights, self.means, self.stds))
        comp = np.log(w) - 0.5 * ((x - mu) / sd) ** 2 - np.log(sd) - 0.5 * math.log(2 * math.pi)
        top = comp.max(axis=-1, keepdims=True)
        return (top + np.log(np.exp(comp - top).sum(axis=-1, keepdims=True)))[..., 0]

    def moments(self) -> tuple[float, float]:
        w, mu, sd = (np.asarray(v) for v in (self.weights, self.means, self.stds))
        mean = float(w @ mu)
        return mean, float(math.sqrt(w @ (sd**2 + mu**2) - mean**2))

    @property
    def breakpoints(self) -> list[float]:
        return sorted(set(self.means) | {0.0})


# ---------------------------------------------------------------------------------------------- forward
def forward_fit_closed_form(mix: Mixture) -> tuple[float, float]:
    """argmin_q KL(p || q) over Gaussians: moment matching."""
    return mix.moments()


def _quad_x(mix: Mixture, f) -> float:
    lo = min(mu - T_RANGE * sd for mu, sd in zip(mix.means, mix.stds, strict=True))
    hi = max(mu + T_RANGE * sd for mu, sd in zip(mix.means, mix.stds, strict=True))
    return quad(f, lo, hi, points=mix.breakpoints, **QUAD_OPTS)[0]


def forward_cross_entropy(mix: Mixture, m: float, log_s: float) -> tuple[float, np.ndarray]:
    """CE(p, q) = -int p log q by quadrature, and its gradient in (m, log s), also by quadrature."""
    s = math.exp(log_s)

    def p(x):
        return math.exp(mix.logpdf_and_score(x)[0])

    value = _quad_x(mix, lambda x: p(x) * (0.5 * math.log(2 * math.pi) + log_s + 0.5 * ((x - m) / s) ** 2))
    d_m = _quad_x(mix, lambda x: -p(x) * (x - m) / s**2)
    d_log_s = _quad_x(mix, lambda x: p(x) * (1.0 - ((x - m) / s) ** 2))
    return value, np.array([d_m, d_log_s])


def forward_fit_direct(mix: Mixture) -> tuple[float, float, float]:
    """Minimise the quadrature CE(p, q) (equivalently KL(p || q)) directly: returns (m, s, |grad|)."""
    res = minimize(
        lambda th: forward_cross_entropy(mix, th[0], th[1]),
        np.zeros(2),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-11, "maxiter": 500},
    )
    grad = forward_cross_entropy(mix, *res.x)[1]
    return float(res.x[0]), float(math.exp(res.x[1])), float(np.linalg.norm(grad))


# ---------------------------------------------------------------------------------------------- reverse
def _quad_t(mix: Mixture, m: float, s: float, g) -> float:
    pts = [b for b in ((v - m) / s for v in mix.breakpoints) if -T_RANGE < b < T_RANGE]
    return quad(lambda t: math.exp(-0.5 * t * t) * g(t), -T_RANGE, T_RANGE, points=pts or None, **QUAD_OPTS)[
        0
    ] / math.sqrt(2 * math.pi)


def reverse_kl(mix: Mixture, m: float, log_s: float) -> float:
    """KL(q || p) for q = N(m, exp(log_s)^2)."""
    s = math.exp(log_s)
    e_log_p = _quad_t(mix, m, s, lambda t: mix.logpdf_and_score(m + s * t)[0])
    return -0.5 * LOG_2PI_E - log_s - e_log_p


def reverse_kl_grad(mix: Mixture, m: float, log_s: float) -> np.ndarray:
    """Gradient of KL(q || p) in (m, log s) by Stein's identities."""
    s = math.exp(log_s)
    e1 = _quad_t(mix, m, s, lambda t: mix.logpdf_and_score(m + s * t)[1])
    e2 = _quad_t(mix, m, s, lambda t: t * mix.logpdf_and_score(m + s * t)[1])
    return np.array([-e1, -1.0 - s * e2])


def reverse_kl_hessian(mix: Mixture, m: float, log_s: float, h: float = 1e-4) -> np.ndarray:
    """Central differences of the quadrature gradient."""
    cols = []
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        cols.append(
            (
                reverse_kl_grad(mix, *(np.array([m, log_s]) + e))
                - reverse_kl_grad(mix, *(np.array([m, log_s]) - e))
            )
            / (2 * h)
        )
    hess = np.array(cols)
    return 0.5 * (hess + hess.T)


@dataclass(frozen=True)
class LocalMinimum:
    m: float
    s: float
    kl: float
    grad_norm: float
    hessian_eigenvalues: tuple[float, float]
    is_global: bool = False

    def to_json(self) -> dict:
        return {
            "m": self.m,
            "s": self.s,
            "kl": self.kl,
            "grad_norm": self.grad_norm,
            "hessian_eigenvalues": list(self.hessian_eigenvalues),
            "is_global": self.is_global,
        }


def _descend(mix: Mixture, m0: float, log_s0: float):
    return minimize(
        lambda th: (reverse_kl(mix, *th), reverse_kl_grad(mix, *th)),
        np.array([m0, log_s0]),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-9, "maxiter": 400},
    )


def default_starts(mix: Mixture) -> list[tuple[float, float]]:
    mean, sd = mix.moments()
    ms = sorted(set(mix.means) | {mean, 0.0} | {0.5 * (a + b) for a in mix.means for b in mix.means if a < b})
    ss = sorted(set(mix.stds) | {sd, 1.0})
    return [(m, math.log(s)) for m in ms for s in ss]


def reverse_local_minima(mix: Mixture, starts=None, dedupe_tol: float = 1e-4) -> list[LocalMinimum]:
    """All local minima of KL(q || p) reached from the starts, each certified (gradient, Hessian)."""
    found: list[LocalMinimum] = []
    for m0, ls0 in starts or default_starts(mix):
        res = _descend(mix, m0, ls0)
        m, ls = (float(v) for v in res.x)
        if any(abs(m - f.m) < dedupe_tol and abs(ls - math.log(f.s)) < dedupe_tol for f in found):
            continue
        grad = float(np.linalg.norm(reverse_kl_grad(mix, m, ls)))
        eig = np.linalg.eigvalsh(reverse_kl_hessian(mix, m, ls))
        if grad <= FIGURE1_GRAD_TOL and eig.min() > 0:  # saddles and unconverged runs are not minima
            found.append(
                LocalMinimum(m, math.exp(ls), reverse_kl(mix, m, ls), grad, (float(eig[0]), float(eig[1])))
            )
    if not found:
        return []
    best = min(f.kl for f in found)
    return sorted(
        (
            LocalMinimum(f.m, f.s, f.kl, f.grad_norm, f.hessian_eigenvalues, f.kl <= best + 1e-10)
            for f in found
        ),
        key=lambda f: f.m,
    )


# ------------------------------------------------------------------------------------------- symmetric sweep
def _profile_log_s(mix: Mixture, m: float, guess: float | None = None) -> float:
    """argmin over log s of KL(q || p) at fixed m: the root of the log-s derivative, which is < 0 at tiny s
    (the entropy term) and > 0 at huge s. A guess narrows the bracket when it brackets the root."""

    def d_log_s(ls):
        return reverse_kl_grad(mix, m, ls)[1]

    if guess is not None:
        lo, hi = guess - 0.2, guess + 0.2
        if d_log_s(lo) < 0 < d_log_s(hi):
            return brentq(d_log_s, lo, hi, xtol=1e-12)
    return brentq(d_log_s, math.log(0.02), math.log(50.0), xtol=1e-12)


def profile_slope(mix: Mixture, m: float, guess: float | None = None) -> float:
    """G(m) = d/dm min_s KL(q || p): by the envelope theorem, the m-derivative at the optimal s."""
    return float(reverse_kl_grad(mix, m, _profile_log_s(mix, m, guess))[0])


def _min_profile_slope(a: float, m_lo: float = 0.5, grid: int = 12) -> float:
    """min over m in [m_lo, a + 1] of G(m): negative exactly when a local minimum with m > 0 exists
    (G > 0 for large m; near m = 0 the central minimum makes G > 0 for a < 4)."""
    mix = Mixture.symmetric(a)
    ms = np.linspace(m_lo, a + 1.0, grid)
    vals = [profile_slope(mix, m) for m in ms]
    i = int(np.argmin(vals))
    guess = _profile_log_s(mix, ms[i])
    res = minimize_scalar(
        lambda m: profile_slope(mix, m, guess),
        method="bounded",
        bounds=(ms[max(i - 1, 0)], ms[min(i + 1, grid - 1)]),
        options={"xatol": 1e-6},
    )
    return float(min(res.fun, min(vals)))


def saddle_node_separation(lo: float = 2.3, hi: float = 2.5, xtol: float = 1e-4) -> float:
    """a_sn: the separation where a local minimum with m > 0 first exists (min_m G(m) crosses 0)."""
    return brentq(_min_profile_slope, lo, hi, xtol=xtol)


def central_minimum(a: float) -> tuple[float, float]:
    """(log s, KL) of the symmetric fit m = 0."""
    mix = Mixture.symmetric(a)
    ls = _profile_log_s(mix, 0.0)
    return ls, reverse_kl(mix, 0.0, ls)


def mode_minimum(a: float) -> tuple[float, float, float]:
    """(m, log s, KL) of the mode-seeking local minimum, descending from the mode (a, 1)."""
    mix = Mixture.symmetric(a)
    res = _descend(mix, a, 0.0)
    return float(res.x[0]), float(res.x[1]), float(res.fun)


def mode_seeking_global_separation(lo: float = 2.6, hi: float = 3.0, xtol: float = 1e-5) -> float:
    """a*: the separation where the mode-seeking minimum's KL equals the central one's."""
    return brentq(lambda a: mode_minimum(a)[2] - central_minimum(a)[1], lo, hi, xtol=xtol)


def sweep_symmetric(separations) -> list[dict]:
    """All certified local minima of the reverse fit for each a in `separations`."""
    out = []
    for a in separations:
        minima = reverse_local_minima(Mixture.symmetric(float(a)))
        out.append({"a": float(a), "minima": [f.to_json() for f in minima]})
    return out
