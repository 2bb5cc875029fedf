"""Seeded random instances (F*, F_w, F_sw, gamma, weights) for the pointwise bounds (Lemma 1, Theorem 1).

They mix easy and hard cases: one-hot and diffuse truths, independent teacher/student pairs, and students
that are small perturbations of the teacher (the regime where the bounds are tight and float64 is fragile).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.divergences import floor


@dataclass(frozen=True)
class BoundInstance:
    f_star: np.ndarray  # (m, k), may have zeros
    f_w: np.ndarray  # (m, k), floored at gamma
    f_sw: np.ndarray  # (m, k), floored at gamma
    gamma: float
    weights: np.ndarray  # (m,)


def max_gamma(k: int) -> float:
    """Upper end of the gamma range of the checks: min(0.2, 0.9 / k)."""
    return min(0.2, 0.9 / k)


def random_bound_instance(
    rng: np.random.Generator, k: int | None = None, m: int | None = None
) -> BoundInstance:
    k = int(k or rng.integers(2, 11))
    m = int(m or rng.integers(1, 9))
    gamma = float(np.exp(rng.uniform(np.log(1e-4), np.log(max_gamma(k)))))
    if rng.random() < 0.3:
        f_star = np.eye(k)[rng.integers(0, k, size=m)]
    else:
        f_star = rng.dirichlet(np.full(k, rng.choice([0.1, 1.0, 10.0])), size=m)
    raw_w = rng.dirichlet(np.full(k, rng.choice([0.1, 1.0, 10.0])), size=m)
    if rng.random() < 0.5:  # a student near its teacher: multiplicative noise of scale 1e-6 .. 1e-1
        scale = 10 ** rng.uniform(-6, -1)
        raw_sw = raw_w * np.exp(scale * rng.standard_normal((m, k)))
        raw_sw /= raw_sw.sum(axis=1, keepdims=True)
    else:
        raw_sw = rng.dirichlet(np.full(k, rng.choice([0.1, 1.0, 10.0])), size=m)
    return BoundInstance(f_star, floor(raw_w, gamma), floor(raw_sw, gamma), gamma, rng.dirichlet(np.ones(m)))
