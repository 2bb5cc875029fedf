"""The numerics vocabulary in NumPy (float64): xlogy, KL, CE, entropy, the gamma-floor, sigmoid and logit.

Defined once here, on ``scipy.special``; theory/ and empirics/ import them (the torch twins are in
:mod:`core.torch_numerics`). Conventions (docs/theory.md sections 1-2): a distribution lies on the last
axis, 0 log 0 = 0, "forward" puts the teacher first. Binary helpers take P(class 1) arrays."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, rel_entr, xlogy

__all__ = [
    "xlogy",
    "kl",
    "kl_bregman",
    "expected_kl",
    "ce",
    "entropy",
    "gamma_floor",
    "sigmoid",
    "logit",
    "binary_kl",
    "binary_ce_onehot",
    "binary_probs",
]


# ---------------------------------------------------------------------------------------------- k classes
def kl(p, q) -> np.ndarray:
    """KL(p, q) along the last axis (0 log 0 = 0; +inf where q_j = 0 < p_j)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    return rel_entr(p, q).sum(axis=-1)


def kl_bregman(p, q) -> np.ndarray:
    """KL(p, q) as sum_j q_j phi(p_j / q_j), phi(t) = t log t - t + 1 >= 0, computed through u = t - 1.

    Equal to :func:`kl` for normalised p, q, but without the cancellation of the plain sum when p ~ q
    (docs/theory.md R2, numerics): every term is non-negative. Needs q > 0.
    """
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    u = (p - q) / q
    phi = (1.0 + u) * np.log1p(u) - u
    small = np.abs(u) < 1e-4  # series phi = u^2/2 - u^3/6 + u^4/12: exact to rounding there
    phi = np.where(small, u * u * (0.5 - u / 6.0 + u * u / 12.0), phi)
    return (q * phi).sum(axis=-1)


def ce(p, q) -> np.ndarray:
    """CE(p, q) = -sum_j p_j log q_j along the last axis."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    return -xlogy(p, q).sum(axis=-1)


def entropy(p) -> np.ndarray:
    """H(p) = -sum_j p_j log p_j along the last axis."""
    p = np.asarray(p, np.float64)
    return -xlogy(p, p).sum(axis=-1)


def expected_kl(a, b, weights) -> float:
    """E_x KL(a(x), b(x)) for models (m, k) on a finite domain with point weights (m,)."""
    return float(np.asarray(weights, np.float64) @ kl(a, b))


def gamma_floor(p, gamma: float, k: int = 2) -> np.ndarray:
    """The gamma-floor by mixing with the uniform distribution, p -> (1 - k gamma) p + gamma (docs/theory.md
    section 1).

    ``p`` holds k-class distributions on its last axis, or, for k = 2, P(class 1) values. No validation:
    callers that take user input check gamma in (0, 1/k) first (core.divergences.floor does both)."""
    return (1.0 - k * gamma) * np.asarray(p, np.float64) + gamma


# ---------------------------------------------------------------------------------------------- binary
def sigmoid(z) -> np.ndarray:
    return expit(np.asarray(z, np.float64))


def logit(p) -> np.ndarray:
    """log p - log(1 - p), with log1p for accuracy near p = 0."""
    p = np.asarray(p, np.float64)
    return np.log(p) - np.log1p(-p)


def binary_probs(z) -> np.ndarray:
    """(m, 2) class probabilities [1 - s, s] of logits z, s = sigmoid(z), computed without 1 - s
    cancellation."""
    z = np.asarray(z, np.float64)
    return np.stack([expit(-z), expit(z)], axis=-1)


def binary_kl(p, q) -> np.ndarray:
    """Per-example KL(Bernoulli(p), Bernoulli(q)) from P(class 1) values in (0, 1), in log-difference form
    (log1p for the second class: accurate near 0 and 1)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    return p * (np.log(p) - np.log(q)) + (1 - p) * (np.log1p(-p) - np.log1p(-q))


def binary_ce_onehot(label, p) -> np.ndarray:
    """Per-example CE(one-hot label, Bernoulli(p)) = KL for a one-hot truth: -log p or -log(1 - p)."""
    p = np.asarray(p, np.float64)
    return -np.where(np.asarray(label) == 1, np.log(p), np.log1p(-p))
