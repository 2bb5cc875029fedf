"""Lemma 1 and Theorem 1: |L(F*, F_sw) - L(F*, F_w)| <= C * sqrt(d), d = KL(F_w, F_sw) or KL(F_sw, F_w).

Provenance (docs/theory.md R1, R2): the *form* of Lemma 1 is the paper's; both constants are reconstructions.
- C_1(gamma) = 1 / (sqrt(2) gamma)     (Lemma 1: log-Lipschitz on [gamma, 1] + Pinsker)
- C_2(gamma) = sqrt(2 / gamma)         (Theorem 1: log-mean >= geometric mean + Bernoulli kl lower bound)
- C*(gamma)  = sqrt(2 (1 - gamma) / gamma), the limit of the binary witness; numerically the supremum.

Every evaluation returns both sides and the slack rhs - lhs; nothing here asserts anything.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import mpmath
import numpy as np

from core.errors import InvalidInputError
from core.io import atomic_write_text
from core.numerics import kl_bregman

from .divergences import (
    check_distributions,
    check_floored,
    check_gamma,
    check_same_shape,
    check_weights,
    divergence,
)

DIRECTIONS = ("forward", "reverse")  # forward: d = KL(F_w, F_sw); reverse: d = KL(F_sw, F_w)
LOSSES = ("kl", "ce")
MP_DIGITS = 50
WITNESS_MAX_EXPONENT = 30  # eps down to 1e-30: 50 digits resolve it with 20 to spare


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


def pointwise_ratio(f_star: np.ndarray, f_w: np.ndarray, f_sw: np.ndarray, direction: str) -> np.ndarray:
    """|gap| / sqrt(d) for many single-point instances at once (rows), with the cancellation-free KL.

    For float64 search guidance only; candidates near the supremum are re-evaluated by :func:`ratio_mp`.
    """
    gap = np.abs((f_star * (np.log(f_w) - np.log(f_sw))).sum(axis=-1))
    d = kl_bregman(f_w, f_sw) if direction == "forward" else kl_bregman(f_sw, f_w)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, gap / np.sqrt(np.maximum(d, 0.0)), 0.0)


# ---------------------------------------------------------------------------------------------- mpmath
def _mp_normalised(p) -> list:
    """mpmath copies (a decimal string is read at full precision, a float as it is), normalised."""
    v = [t if isinstance(t, mpmath.mpf) else mpmath.mpf(t if isinstance(t, str) else float(t)) for t in p]
    total = mpmath.fsum(v)
    return [t / total for t in v]


def ratio_mp(f_star, f_w, f_sw, direction: str, digits: int = MP_DIGITS) -> mpmath.mpf:
    """|gap| / sqrt(d) of one single-point instance in `digits`-digit arithmetic, inputs normalised in
    mpmath."""
    with mpmath.workdps(digits):
        fs, fw, fsw = _mp_normalised(f_star), _mp_normalised(f_w), _mp_normalised(f_sw)
        gap = abs(
            mpmath.fsum(a * (mpmath.log(b) - mpmath.log(c)) for a, b, c in zip(fs, fw, fsw, strict=True))
        )
        p, q = (fw, fsw) if direction == "forward" else (fsw, fw)
        d = mpmath.fsum(a * mpmath.log(a / b) for a, b in zip(p, q, strict=True) if a > 0)
        return gap / mpmath.sqrt(d) if d > 0 else mpmath.mpf(0)


def witness(gamma: float, eps: float | str | mpmath.mpf, k: int = 2):
    """docs/theory.md R2 witness: F* = e_1, F_w(1) = gamma, F_sw(1) = gamma (1 + eps), the rest spread evenly.

    Returned as mpmath vectors (exact to the working precision, no float rounding of the tiny differences).
    """
    with mpmath.workdps(MP_DIGITS):
        g, e = mpmath.mpf(gamma), mpmath.mpf(eps)
        fs = [mpmath.mpf(0)] * k
        fs[0] = mpmath.mpf(1)
        fw = [g] + [(1 - g) / (k - 1)] * (k - 1)
        fsw = [g * (1 + e)] + [(1 - g * (1 + e)) / (k - 1)] * (k - 1)
        return fs, fw, fsw


def witness_ratio(gamma: float, eps, direction: str = "forward") -> mpmath.mpf:
    return ratio_mp(*witness(gamma, eps), direction)


# -------------------------------------------------------------------------------------------- user constants
@dataclass(frozen=True)
class ConstantVerdict:
    """Outcome for a user's constant C at gamma (docs/theory.md R2)."""

    constant: float
    gamma: float
    verdict: str  # "refuted" | "valid" | "not refuted"
    c_sharp: float
    witness_ratio: float | None  # the best verified ratio found when refuted
    witness: dict | None  # the saved instance

    def to_json(self) -> dict:
        return asdict(self)


def classify_constant(
    constant: float, gamma: float, witness_path: str | Path | None = None
) -> ConstantVerdict:
    """Refuted if a verified (50-digit) witness needs more than C; valid if C >= C*; else not refuted.

    The witness family's ratio increases to C* as eps -> 0, so eps is decreased until the ratio exceeds C
    (down to eps = 1e-30, where the family is within about 1e-30 of C*).
    """
    c = float(constant)
    if not math.isfinite(c) or c <= 0:
        raise InvalidInputError(f"constant must be a positive finite number, got {constant!r}")
    g = check_gamma(gamma, 2)
    cs = c_sharp(g)
    if c >= cs:
        return ConstantVerdict(c, g, "valid", cs, None, None)
    for exponent in range(1, WITNESS_MAX_EXPONENT + 1):
        eps = mpmath.mpf(10) ** (-exponent)
        for direction in DIRECTIONS:
            r = witness_ratio(g, eps, direction)
            if r > c:
                fs, fw, fsw = witness(g, eps)
                # saved at full working precision: the digits resolve eps (F_sw(1) - F_w(1) = gamma eps)
                digits = lambda v: mpmath.nstr(v, MP_DIGITS, strip_zeros=False)  # noqa: E731
                inst = {
                    "F_star": [digits(v) for v in fs],
                    "F_w": [digits(v) for v in fw],
                    "F_sw": [digits(v) for v in fsw],
                    "direction": direction,
                    "eps": f"1e-{exponent}",
                    "ratio": digits(r),
                    "gamma": g,
                    "constant": c,
                    "digits": MP_DIGITS,
                }
                if witness_path is not None:
                    atomic_write_text(witness_path, json.dumps(inst, indent=2))
                return ConstantVerdict(c, g, "refuted", cs, float(r), inst)
    return ConstantVerdict(c, g, "not refuted", cs, None, None)


def witness_file_ratio(path: str | Path) -> mpmath.mpf:
    """The 50-digit |gap| / sqrt(d) of a saved witness, recomputed from the file's digits alone."""
    inst = json.loads(Path(path).read_text())
    with mpmath.workdps(MP_DIGITS):
        vectors = [[mpmath.mpf(v) for v in inst[k]] for k in ("F_star", "F_w", "F_sw")]
        return ratio_mp(*vectors, inst["direction"])


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
        xs = _mp_normalised(x)
        gap, d = mpmath.mpf(0), mpmath.mpf(0)
        for xi, a, b, s in zip(xs, fs, fw, fsw, strict=True):
            a, b, s = _mp_normalised(a), _mp_normalised(b), _mp_normalised(s)
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
