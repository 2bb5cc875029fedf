"""Seeded synthetic families for the last-layer theorems (docs/theory.md R4-R9).

A finite domain of m points x with weights and a latent z(x) in R^q. From it:
- the strong representation h_s(x) = softmax(A z(x) / tau) in the simplex Delta_d (a fixed map, part of h_s);
- softmax-head features phi(x) = [z(x), 1];
- a ground truth F* realizable in the simplex class (F* = W* h_s, W* column-stochastic >= gamma), or in the
  softmax class, or at a controlled distance from the simplex class (mixed with a function it cannot express);
- weak teachers built outside the student's class: a model fit to F* on a weaker, lower-dimensional
  representation (the weak model trained on ground truth), additive noise in logit space, and label noise
  p -> u + alpha (p - u) on a seeded fraction rho of points (u uniform; for k = 2, 1/2 + alpha (p - 1/2),
  alpha = -1 flips, alpha = 0 erases).
Teachers are floored at gamma by mixing with the uniform distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

from core.divergences import floor
from core.errors import InvalidInputError

from .simplex_head import solve_simplex

TEACHER_KINDS = ("weak_representation", "logit_noise", "label_noise")


@dataclass
class Domain:
    z: np.ndarray  # (m, q) latent
    weights: np.ndarray  # (m,)

    @property
    def m(self) -> int:
        return self.z.shape[0]

    @property
    def features(self) -> np.ndarray:
        """phi(x) = [z(x), 1] for softmax heads."""
        return np.hstack([self.z, np.ones((self.m, 1))])


def make_domain(rng: np.random.Generator, m: int, q: int, uniform: bool = False) -> Domain:
    w = np.full(m, 1.0 / m) if uniform else rng.dirichlet(np.full(m, 5.0))
    return Domain(rng.standard_normal((m, q)), w)


def simplex_representation(z: np.ndarray, d: int, rng: np.random.Generator, tau: float = 1.0) -> np.ndarray:
    """h(x) = softmax(A z(x) / tau), A with N(0, 1) entries: a fixed map into Delta_d."""
    A = rng.standard_normal((d, z.shape[1]))
    return softmax(z @ A.T / tau, axis=1)


def simplex_truth(H: np.ndarray, k: int, gamma: float, rng: np.random.Generator, concentration: float = 1.0):
    """(W*, F* = H W*^T) with W*'s columns floored Dirichlet draws: realizable in the simplex class."""
    W = floor(rng.dirichlet(np.full(k, concentration), size=H.shape[1]), gamma).T
    return W, H @ W.T


def softmax_truth(Phi: np.ndarray, k: int, rng: np.random.Generator, scale: float = 1.5):
    """(V*, F* = softmax(V* phi)) with V*'s last row 0: realizable in the (unfloored) softmax class."""
    V = np.vstack([scale * rng.standard_normal((k - 1, Phi.shape[1])), np.zeros((1, Phi.shape[1]))])
    return V, softmax(Phi @ V.T, axis=1)


def off_class_truth(F_in: np.ndarray, z: np.ndarray, lam: float, rng: np.random.Generator) -> np.ndarray:
    """(1 - lam) F_in + lam Q with Q(x) = softmax(3 * tanh(C z(x))): a non-linear function the class
    misses."""
    C = rng.standard_normal((F_in.shape[1], z.shape[1]))
    Q = softmax(3.0 * np.tanh(z @ C.T), axis=1)
    return (1 - lam) * F_in + lam * Q


# ---------------------------------------------------------------------------------------------- teachers
def weak_representation_teacher(f_star, z, gamma, rng, q_weak: int = 1, d_weak: int = 2, weights=None):
    """The weak model: the moment projection of F* onto a simplex head over a weaker representation built from
    only the first q_weak latent coordinates (a weak model trained on the truth, outside the strong class)."""
    H_w = simplex_representation(z[:, :q_weak], d_weak, rng)
    return solve_simplex(H_w, f_star, gamma, "forward_kl", weights).F


def logit_noise_teacher(f_star, sigma: float, gamma: float, rng, floored: bool = True) -> np.ndarray:
    """floor(softmax(log F* + sigma xi)), xi standard normal per point and class (unfloored on request)."""
    logits = np.log(np.maximum(f_star, 1e-300)) + sigma * rng.standard_normal(f_star.shape)
    p = softmax(logits, axis=1)
    return floor(p, gamma) if floored else p


def label_noise(p: np.ndarray, rho: float, alpha: float, rng, gamma: float) -> np.ndarray:
    """p -> u + alpha (p - u) on a seeded fraction rho of the points, then the gamma-floor."""
    if not (0 <= rho <= 1):
        raise InvalidInputError(f"noise fraction rho = {rho} is outside [0, 1]")
    k = p.shape[1]
    if not (-1.0 / (k - 1) <= alpha <= 1.0):
        raise InvalidInputError(
            f"alpha = {alpha} must lie in [-1/(k-1), 1] = [{-1 / (k - 1):.3g}, 1] for k = {k}"
        )
    out = p.copy()
    hit = rng.permutation(p.shape[0])[: int(round(rho * p.shape[0]))]
    out[hit] = 1.0 / k + alpha * (p[hit] - 1.0 / k)
    return floor(out, gamma)


def make_teacher(kind: str, f_star, z, gamma, rng, level: float, weights=None) -> np.ndarray:
    """A weak teacher of the given kind; `level` is sigma (logit noise), rho (label flips, alpha = -1), or the
    number of latent coordinates the weak representation sees."""
    if kind == "logit_noise":
        return logit_noise_teacher(f_star, level, gamma, rng)
    if kind == "label_noise":
        base = logit_noise_teacher(f_star, 0.1, gamma, rng, floored=False)  # label_noise floors once
        alpha = -1.0 if f_star.shape[1] == 2 else -1.0 / (f_star.shape[1] - 1)
        return label_noise(base, level, alpha, rng, gamma)
    if kind == "weak_representation":
        return weak_representation_teacher(f_star, z, gamma, rng, q_weak=int(level), weights=weights)
    raise InvalidInputError(f"unknown teacher kind {kind!r}; choose one of {TEACHER_KINDS}")


@dataclass
class LastLayerInstance:
    H: np.ndarray  # strong simplex representation (m, d)
    W_star: np.ndarray | None  # (k, d) when F* = W* h_s is realizable, else None
    f_star: np.ndarray
    f_w: np.ndarray
    weights: np.ndarray
    gamma: float
    teacher: str
    level: float
    z: np.ndarray


def random_realizable_instance(
    rng: np.random.Generator,
    teacher: str | None = None,
    off_class: float = 0.0,
    level: float | None = None,
    k: int | None = None,
    m: int | None = None,
) -> LastLayerInstance:
    """F* in the simplex class of a random strong representation (or, with off_class = lam > 0, mixed with a
    function outside it); a weak teacher of a random kind and level, built from F*."""
    k = int(k or rng.integers(2, 5))
    q = int(rng.integers(2, 5))
    d = int(rng.integers(3, 9))
    gamma = float(rng.choice([1e-3, 1e-2]))
    dom = make_domain(rng, int(m or rng.integers(80, 200)), q)
    H = simplex_representation(dom.z, d, rng, tau=float(rng.uniform(0.5, 2.0)))
    W_star, f_star = simplex_truth(H, k, gamma, rng, concentration=float(rng.choice([0.3, 1.0, 3.0])))
    if off_class > 0:
        W_star, f_star = None, off_class_truth(f_star, dom.z, off_class, rng)
    teacher = teacher or str(rng.choice(TEACHER_KINDS))
    if level is None:
        level = {
            "logit_noise": float(rng.uniform(0.1, 2.0)),
            "label_noise": float(rng.uniform(0.05, 0.5)),
            "weak_representation": float(rng.integers(1, q)),
        }[teacher]
    f_w = make_teacher(teacher, f_star, dom.z, gamma, rng, level, dom.weights)
    return LastLayerInstance(H, W_star, f_star, f_w, dom.weights, gamma, teacher, level, dom.z)
