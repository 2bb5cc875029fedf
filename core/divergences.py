"""Validation, the checked gamma-floor, and KL / CE / entropy of *models* on a weighted finite domain.

The pointwise functions (kl, ce, entropy, sigmoid, logit, ...) are the vocabulary of :mod:`core.numerics`.

Conventions (docs/theory.md section 1 and 2):
- a distribution is a length-k vector; a *model* on a finite domain of m points is an (m, k) array whose
  rows are distributions, and expectations over x are weighted sums with weights w (a distribution on the
  m points, uniform by default);
- KL(p, q) = sum_j p_j log(p_j / q_j) and CE(p, q) = -sum_j p_j log q_j, with 0 log 0 = 0, so the first
  argument may have zeros (a one-hot ground truth);
- "forward" puts the teacher first, KL(F_w, student); "reverse" puts the student first, KL(student, F_w);
- everything is float64; invalid input raises :class:`InvalidInputError` with a specific message.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidInputError
from .numerics import ce, entropy, expected_kl, gamma_floor, logit, sigmoid
from .tolerances import ROW_SUM_TOL

# the objectives the certified head solvers minimise (convex in the head's output): E_x of
# KL(student, F_w), KL(F_w, student) and CE(student, F_w), named by their direction as below
OBJECTIVES = ("reverse_kl", "forward_kl", "reverse_ce")


# ---------------------------------------------------------------------------------------------- validation
def _as_float_array(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: not numeric ({exc})") from None
    if arr.size and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InvalidInputError(
            f"{name}: entry {tuple(int(i) for i in bad)} is {arr[tuple(bad)]}, not finite"
        )
    return arr


def check_distributions(p, name: str = "p", tol: float = ROW_SUM_TOL) -> np.ndarray:
    """Return p as float64 after checking it is a distribution (1-D) or a stack of them (last axis)."""
    arr = _as_float_array(p, name)
    if arr.ndim == 0 or arr.shape[-1] < 2:
        raise InvalidInputError(f"{name}: needs at least 2 classes on its last axis, got shape {arr.shape}")
    if np.any(arr < 0):
        bad = np.argwhere(arr < 0)[0]
        raise InvalidInputError(
            f"{name}: negative probability {arr[tuple(bad)]} at {tuple(int(i) for i in bad)}"
        )
    sums = arr.sum(axis=-1)
    off = np.abs(sums - 1.0)
    if np.any(off > tol):
        row = np.unravel_index(int(np.argmax(off)), off.shape)
        raise InvalidInputError(
            f"{name}: row {tuple(int(i) for i in row)} sums to {float(np.asarray(sums)[row]):.12g}, not 1 "
            f"(tolerance {tol:g})"
        )
    return arr


def check_gamma(gamma: float, k: int) -> float:
    """The floor gamma must satisfy 0 < gamma < 1/k (docs/theory.md section 1)."""
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise InvalidInputError(f"gamma: not a number: {gamma!r}") from None
    if not math.isfinite(g) or not (0.0 < g < 1.0 / k):
        raise InvalidInputError(f"gamma = {gamma!r} is outside (0, 1/k) = (0, {1.0 / k:.6g}) for k = {k}")
    return g


def check_weights(weights, m: int) -> np.ndarray:
    """Weights of the m domain points: non-negative and summing to 1. ``None`` means uniform."""
    if weights is None:
        return np.full(m, 1.0 / m)
    w = _as_float_array(weights, "weights")
    if w.shape != (m,):
        raise InvalidInputError(f"weights: shape {w.shape} does not match the {m} domain points")
    if np.any(w < 0):
        raise InvalidInputError(f"weights: negative weight {w.min()}")
    if abs(w.sum() - 1.0) > ROW_SUM_TOL:
        raise InvalidInputError(f"weights: sum to {w.sum():.12g}, not 1: they must be a distribution")
    return w


def check_same_shape(**arrays: np.ndarray) -> None:
    shapes = {name: np.shape(a) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        raise InvalidInputError("shape mismatch: " + ", ".join(f"{n} {s}" for n, s in shapes.items()))


def check_floored(p: np.ndarray, gamma: float, name: str, tol: float = 1e-12) -> None:
    """Models the bounds speak of must put at least gamma on every class."""
    low = float(np.min(p))
    if low < gamma - tol:
        raise InvalidInputError(f"{name}: minimum probability {low:.6g} is below the floor gamma = {gamma:g}")


# ---------------------------------------------------------------------------------------------- the floor
def floor(p, gamma: float, method: str = "mix") -> np.ndarray:
    """Floor probabilities at gamma.

    ``mix`` (every k): p -> (1 - k gamma) p + gamma, the mixture with the uniform distribution; for k = 2 this
    is label smoothing y(1 - eps) + eps/2 with eps = 2 gamma. ``clip`` (k = 2 only): clip to [gamma, 1 -
    gamma]. Never clip-and-renormalise."""
    arr = check_distributions(p, "p")
    k = arr.shape[-1]
    g = check_gamma(gamma, k)
    if method == "mix":
        return gamma_floor(arr, g, k)
    if method == "clip":
        if k != 2:
            raise InvalidInputError(f"floor method 'clip' is for k = 2 only; got k = {k} (use 'mix')")
        p1 = np.clip(arr[..., 1], g, 1.0 - g)
        return np.stack([1.0 - p1, p1], axis=-1)
    raise InvalidInputError(f"unknown floor method {method!r}; choose 'mix' or 'clip'")


# ---------------------------------------------------------------------------------------------- models
def _model_pair(a, b, weights, names=("A", "B")):
    a = check_distributions(a, names[0])
    b = check_distributions(b, names[1])
    check_same_shape(**{names[0]: a, names[1]: b})
    a2, b2 = np.atleast_2d(a), np.atleast_2d(b)
    return a2, b2, check_weights(weights, a2.shape[0])


def kl_models(a, b, weights=None) -> float:
    """KL(A, B) = E_x KL(A(x), B(x)) over a weighted finite domain."""
    a2, b2, w = _model_pair(a, b, weights)
    return expected_kl(a2, b2, w)


def ce_models(a, b, weights=None) -> float:
    """CE(A, B) = E_x CE(A(x), B(x)) over a weighted finite domain."""
    a2, b2, w = _model_pair(a, b, weights)
    return float(w @ ce(a2, b2))


def entropy_model(a, weights=None) -> float:
    """H(A) = E_x H(A(x))."""
    a2 = np.atleast_2d(check_distributions(a, "A"))
    return float(check_weights(weights, a2.shape[0]) @ entropy(a2))


def divergence(loss: str, a, b, weights=None) -> float:
    """L(A, B) for L in {"kl", "ce"}."""
    if loss == "kl":
        return kl_models(a, b, weights)
    if loss == "ce":
        return ce_models(a, b, weights)
    raise InvalidInputError(f"unknown loss {loss!r}; choose 'kl' or 'ce'")


def forward_kl(teacher, student, weights=None) -> float:
    """Forward KL objective KL(F_w, student)."""
    return kl_models(teacher, student, weights)


def reverse_kl(teacher, student, weights=None) -> float:
    """Reverse KL objective KL(student, F_w)."""
    return kl_models(student, teacher, weights)


def forward_ce(teacher, student, weights=None) -> float:
    """Forward CE objective CE(F_w, student), the standard W2SG loss."""
    return ce_models(teacher, student, weights)


def reverse_ce(teacher, student, weights=None) -> float:
    """Reverse CE objective CE(student, F_w)."""
    return ce_models(student, teacher, weights)


# ---------------------------------------------------------------------------------------------- binary
def grad_forward(z, y) -> np.ndarray:
    """d/dz of forward CE (and forward KL) CE(y, sigma(z)): s - y."""
    return sigmoid(z) - np.asarray(y, np.float64)


def grad_reverse_kl(z, y) -> np.ndarray:
    """d/dz of reverse KL KL(sigma(z), y): s (1 - s) (z - logit y)."""
    s = sigmoid(z)
    return s * (1.0 - s) * (np.asarray(z, np.float64) - logit(y))


def grad_reverse_ce(z, y) -> np.ndarray:
    """d/dz of reverse CE CE(sigma(z), y): -s (1 - s) logit y."""
    s = sigmoid(z)
    return -s * (1.0 - s) * logit(y)
