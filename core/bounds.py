"""Lemma 1 and Theorem 1: |L(F*, F_sw) - L(F*, F_w)| <= C * sqrt(d), d = KL(F_w, F_sw) or KL(F_sw, F_w).

Provenance (docs/theory.md R1, R2): the *form* of Lemma 1 is the paper's; both constants are reconstructions.
- C_1(gamma) = 1 / (sqrt(2) gamma)     (Lemma 1: log-Lipschitz on [gamma, 1] + Pinsker)
- C_2(gamma) = sqrt(2 / gamma)         (Theorem 1: log-mean >= geometric mean + Bernoulli kl lower bound)
- C*(gamma)  = sqrt(2 (1 - gamma) / gamma), the limit of the binary witness; numerically the supremum.

The bound's formulas, here because the theory checks and the empirical audit both evaluate them; the search
for its tightness (witnesses, user constants) is theory/bounds.py. Every evaluation returns both sides and the
slack rhs - lhs; nothing here asserts anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from .divergences import (
    check_distributions,
    check_floored,
    check_gamma,
    check_same_shape,
    check_weights,
    divergence,
)
from .errors import InvalidInputError
from .numerics import kl_bregman

DIRECTIONS = ("forward", "reverse")  # forward: d = KL(F_w, F_sw); reverse: d = KL(F_sw, F_w)
LOSSES = ("kl", "ce")
MP_DIGITS = 50


def c1(gamma: float) -> float:
    """Lemma 1's constant (reconstructed): 1 / (sqrt(2) gamma)."""
    return 1.0 / (math.sqrt(2.0) * gamma)


def c2(gamma: float) -> float:
    """Theorem 1's constant (reconstructed): sqrt(2 / gamma); <= C_1 exactly when gamma <= 1/4."""
    return math.sqrt(2.0 / gamma)


def c_sharp(gamma: float) -> float:
    """The witness limit sqrt(2 (1 - gamma) / gamma); numerically the sharp constant (docs/theory.md R2)."""
    return math.sqrt(2.0 * (1.0 - gamma) / gamma)


CONSTANTS = {"C1": c1, "C2": c2, "C*": c_sharp}


@dataclass(frozen=True)
class BoundEvaluation:
    """Both sides of |gap| <= C sqrt(d) for one instance."""

    gap: float  # L(F*, F_sw) - L(F*, F_w), signed
    d: float  # the disagreement used
    constant: float
    direction: str
    loss: str

    @property
    def lhs(self) -> float:
        return abs(self.gap)

    @property
    def rhs(self) -> float:
        return self.constant * math.sqrt(max(self.d, 0.0))

    @property
    def slack(self) -> float:
        return self.rhs - self.lhs

    @property
    def ratio(self) -> float:
        """|gap| / sqrt(d): the constant this instance needs."""
        return self.lhs / math.sqrt(self.d) if self.d > 0 else (0.0 if self.lhs == 0 else math.inf)


def disagreement(f_w: np.ndarray, f_sw: np.ndarray, direction: str, weights: np.ndarray) -> float:
    """d = E_x KL(F_w, F_sw) (forward) or E_x KL(F_sw, F_w) (reverse), in the cancellation-free Bregman form:
    the plain sum goes negative at d ~ 1e-17 (docs/theory.md R2, numerics) where this stays accurate."""
    if direction == "forward":
        return float(weights @ kl_bregman(f_w, f_sw))
    if direction == "reverse":
        return float(weights @ kl_bregman(f_sw, f_w))
    raise InvalidInputError(f"unknown direction {direction!r}; choose one of {DIRECTIONS}")


def evaluate_bound(
    f_star,
    f_w,
    f_sw,
    gamma: float,
    constant: str | float = "C2",
    direction: str = "forward",
    loss: str = "kl",
    weights=None,
) -> BoundEvaluation:
    """Evaluate Lemma 1 / Theorem 1 on models given as (m, k) arrays (or single distributions).

    ``constant`` is "C1", "C2", "C*" or a number. F_w and F_sw must be floored at gamma; F* may have zeros.
    """
    fs = np.atleast_2d(check_distributions(f_star, "F*"))
    fw = np.atleast_2d(check_distributions(f_w, "F_w"))
    fsw = np.atleast_2d(check_distributions(f_sw, "F_sw"))
    check_same_shape(F_star=fs, F_w=fw, F_sw=fsw)
    g = check_gamma(gamma, fs.shape[-1])
    check_floored(fw, g, "F_w")
    check_floored(fsw, g, "F_sw")
    x = check_weights(weights, fs.shape[0])
    if isinstance(constant, str):
        if constant not in CONSTANTS:
            raise InvalidInputError(
                f"unknown constant {constant!r}; choose one of {list(CONSTANTS)} or a number"
            )
        c = CONSTANTS[constant](g)
    else:
        c = float(constant)
    gap = divergence(loss, fs, fsw, x) - divergence(loss, fs, fw, x)
    return BoundEvaluation(gap, disagreement(fw, fsw, direction, x), c, direction, loss)


def mp_normalised(p) -> list:
    """mpmath copies (a decimal string is read at full precision, a float as it is), normalised."""
    v = [t if isinstance(t, mpmath.mpf) else mpmath.mpf(t if isinstance(t, str) else float(t)) for t in p]
    total = mpmath.fsum(v)
    return [t / total for t in v]


def evaluate_bound_mp(
    f_star,
    f_w,
    f_sw,
    gamma: float,
    constant: str | float = "C2",
    direction: str = "forward",
    weights=None,
    digits: int = MP_DIGITS,
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(|gap|, C sqrt(d)) for (m, k) models in `digits`-digit arithmetic, every row and the weights normalised
    in mpmath. The confirmation step for a float64 evaluation that fails only at the level of rounding."""
    fs, fw, fsw = (np.atleast_2d(np.asarray(a, np.float64)) for a in (f_star, f_w, f_sw))
    x = check_weights(weights, fs.shape[0])
    with mpmath.workdps(digits):
        c = mpmath.mpf(CONSTANTS[constant](gamma)) if isinstance(constant, str) else mpmath.mpf(constant)
        xs = mp_normalised(x)
        gap, d = mpmath.mpf(0), mpmath.mpf(0)
        for xi, a, b, s in zip(xs, fs, fw, fsw, strict=True):
            a, b, s = mp_normalised(a), mp_normalised(b), mp_normalised(s)
            gap += xi * mpmath.fsum(
                t * (mpmath.log(u) - mpmath.log(v)) for t, u, v in zip(a, b, s, strict=True)
            )
            p, q = (b, s) if direction == "forward" else (s, b)
            d += xi * mpmath.fsum(u * mpmath.log(u / v) for u, v in zip(p, q, strict=True))
        return abs(gap), c * mpmath.sqrt(max(d, 0))


def confirmed_sides(
    f_star,
    f_w,
    f_sw,
    gamma: float,
    constant: str | float,
    direction: str,
    loss: str = "kl",
    weights=None,
    slack: float = 1e-12,
) -> tuple[float, float, bool]:
    """(lhs, rhs, rechecked) of the bound: float64 first; if that fails by more than `slack`, the 50-digit
    values (docs/theory.md R2: a float64 failure counts only once high precision confirms it)."""
    ev = evaluate_bound(f_star, f_w, f_sw, gamma, constant, direction, loss, weights)
    if ev.lhs <= ev.rhs + slack:
        return ev.lhs, ev.rhs, False
    lhs, rhs = evaluate_bound_mp(f_star, f_w, f_sw, gamma, constant, direction, weights)
    return float(lhs), float(rhs), True
