"""The tightness of Lemma 1 / Theorem 1: single-point ratios in float64 and 50 digits, the binary witness
whose ratio tends to C*, and the verdict on a user's constant (docs/theory.md R2).

The bound's formulas themselves (C_1, C_2, C*, both sides of an instance) are core/bounds.py, shared with the
empirical audit, and re-exported here for the theory's checks.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import mpmath
import numpy as np

from core.bounds import (  # noqa: F401  (re-exported: the theory's statements of Lemma 1 / Theorem 1)
    CONSTANTS,
    DIRECTIONS,
    LOSSES,
    MP_DIGITS,
    BoundEvaluation,
    c1,
    c2,
    c_sharp,
    confirmed_sides,
    disagreement,
    evaluate_bound,
    evaluate_bound_mp,
    mp_normalised,
)
from core.divergences import check_gamma
from core.errors import InvalidInputError
from core.io import atomic_write_text
from core.numerics import kl_bregman

WITNESS_MAX_EXPONENT = 30  # eps down to 1e-30: 50 digits resolve it with 20 to spare


def pointwise_ratio(f_star: np.ndarray, f_w: np.ndarray, f_sw: np.ndarray, direction: str) -> np.ndarray:
    """|gap| / sqrt(d) for many single-point instances at once (rows), with the cancellation-free KL.

    For float64 search guidance only; candidates near the supremum are re-evaluated by :func:`ratio_mp`.
    """
    gap = np.abs((f_star * (np.log(f_w) - np.log(f_sw))).sum(axis=-1))
    d = kl_bregman(f_w, f_sw) if direction == "forward" else kl_bregman(f_sw, f_w)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, gap / np.sqrt(np.maximum(d, 0.0)), 0.0)


# ---------------------------------------------------------------------------------------------- mpmath
def ratio_mp(f_star, f_w, f_sw, direction: str, digits: int = MP_DIGITS) -> mpmath.mpf:
    """|gap| / sqrt(d) of one single-point instance in `digits`-digit arithmetic, inputs normalised in
    mpmath."""
    with mpmath.workdps(digits):
        fs, fw, fsw = mp_normalised(f_star), mp_normalised(f_w), mp_normalised(f_sw)
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
