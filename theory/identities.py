"""The exact identities of docs/theory.md section 2 (I1, I2, I3) and Proposition 1 (R3).

Each identity holds class by class, so the symbolic proof is of one class's term with positive symbols
(sympy simplifies logarithms only then), extended to k classes by linearity; :func:`symbolic_difference`
also expands the k-class sums for a small k as a second, literal proof. Numerically every identity is
evaluated as "left side" and "right side" separately so a check can compare them.

Provenance: I1-I3 are standard facts the paper relies on; Proposition 1's form is a reconstruction
(docs/theory.md R3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from core.divergences import check_distributions, check_same_shape, check_weights
from core.numerics import ce, entropy, kl


@dataclass(frozen=True)
class Identity:
    key: str
    item: str
    statement: str
    provenance: str
    # per-class symbolic terms (lhs, rhs) in the symbols f (truth), w (teacher), s (student)
    symbolic: Callable[[sp.Symbol, sp.Symbol, sp.Symbol], tuple[sp.Expr, sp.Expr]]
    # numeric sides for models (m, k) and weights (m,)
    numeric: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[float, float]]


def _kl_t(p, q):  # one class's term of KL(p, q)
    return p * sp.log(p / q)


def _ce_t(p, q):  # one class's term of CE(p, q)
    return -p * sp.log(q)


def _h_t(p):  # one class's term of H(p)
    return -p * sp.log(p)


IDENTITIES: tuple[Identity, ...] = (
    Identity(
        "I1",
        "Definitions 1-2 (I1)",
        "forward CE = forward KL + H(F_w):  CE(F_w, F_sw) = KL(F_w, F_sw) + H(F_w)",
        "standard identity used by the paper",
        lambda f, w, s: (_ce_t(w, s), _kl_t(w, s) + _h_t(w)),
        lambda fs, fw, fsw, x: (x @ ce(fw, fsw), x @ (kl(fw, fsw) + entropy(fw))),
    ),
    Identity(
        "I2",
        "Definitions 1-2 (I2)",
        "reverse CE = reverse KL + H(F_sw):  CE(F_sw, F_w) = KL(F_sw, F_w) + H(F_sw)",
        "standard identity used by the paper",
        lambda f, w, s: (_ce_t(s, w), _kl_t(s, w) + _h_t(s)),
        lambda fs, fw, fsw, x: (x @ ce(fsw, fw), x @ (kl(fsw, fw) + entropy(fsw))),
    ),
    Identity(
        "I3",
        "Definitions 1-2 (I3)",
        "KL(F*, F_sw) - KL(F*, F_w) = CE(F*, F_sw) - CE(F*, F_w)  (H(F*) cancels)",
        "standard identity used by the paper",
        lambda f, w, s: (_kl_t(f, s) - _kl_t(f, w), _ce_t(f, s) - _ce_t(f, w)),
        lambda fs, fw, fsw, x: (x @ (kl(fs, fsw) - kl(fs, fw)), x @ (ce(fs, fsw) - ce(fs, fw))),
    ),
    Identity(
        "R3",
        "Proposition 1",
        "KL(F*, F_sw) = KL(F*, F_w) - KL(F_sw, F_w) - E_x <F* - F_sw, log F_sw - log F_w>",
        "reconstruction (docs/theory.md R3)",
        lambda f, w, s: (
            _kl_t(f, s),
            _kl_t(f, w) - _kl_t(s, w) - (f - s) * (sp.log(s) - sp.log(w)),
        ),
        lambda fs, fw, fsw, x: (
            x @ kl(fs, fsw),
            x @ (kl(fs, fw) - kl(fsw, fw) - ((fs - fsw) * (np.log(fsw) - np.log(fw))).sum(axis=-1)),
        ),
    ),
)


def identity(key: str) -> Identity:
    for ident in IDENTITIES:
        if ident.key == key:
            return ident
    raise KeyError(f"unknown identity {key!r}; known: {[i.key for i in IDENTITIES]}")


def _simplified(expr: sp.Expr) -> sp.Expr:
    return sp.simplify(sp.expand(sp.expand_log(expr, force=True)))


def symbolic_difference(key: str, k: int | None = None) -> sp.Expr:
    """lhs - rhs simplified with positive symbols: 0 proves the identity.

    With ``k=None`` the per-class term is used; with an integer k the k-class sums are written out with
    independent positive symbols per class (no normalisation needed: every identity holds class by class).
    """
    ident = identity(key)
    if k is None:
        f, w, s = sp.symbols("f w s", positive=True)
        lhs, rhs = ident.symbolic(f, w, s)
        return _simplified(lhs - rhs)
    fs = sp.symbols(f"f0:{k}", positive=True)
    ws = sp.symbols(f"w0:{k}", positive=True)
    ss = sp.symbols(f"s0:{k}", positive=True)
    terms = [ident.symbolic(f, w, s) for f, w, s in zip(fs, ws, ss, strict=True)]
    return _simplified(sum(lhs for lhs, _ in terms) - sum(rhs for _, rhs in terms))


def numeric_sides(key: str, f_star, f_w, f_sw, weights=None) -> tuple[float, float]:
    """(lhs, rhs) of the identity for models given as (m, k) arrays. F_w and F_sw must be > 0."""
    fs = np.atleast_2d(check_distributions(f_star, "F*"))
    fw = np.atleast_2d(check_distributions(f_w, "F_w"))
    fsw = np.atleast_2d(check_distributions(f_sw, "F_sw"))
    check_same_shape(F_star=fs, F_w=fw, F_sw=fsw)
    x = check_weights(weights, fs.shape[0])
    lhs, rhs = identity(key).numeric(fs, fw, fsw, x)
    return float(lhs), float(rhs)
