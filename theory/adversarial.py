"""Adversarial search for the largest |gap| / sqrt(d) of Lemma 1 / Theorem 1 (docs/theory.md R2).

By Jensen over x, a multi-point instance never needs a larger constant than its worst single point, so the
search is over single-point instances (F*, F_w, F_sw) with k classes. Parametrisation, for every model:
F = (1 - k gamma) x / sum(x) + gamma with x in [0, 1]^k (L-BFGS-B bounds), so the floor itself is reachable
(the supremum sits on it); F* = x / sum(x) may be one-hot.

Numerics (docs/theory.md R2): the objective uses the cancellation-free KL of :func:`kl_bregman`, it is damped
when max_j |log(F_sw,j / F_w,j)| < 1e-4 (below that, float64 cannot be trusted to find a true witness), and
every final candidate is re-evaluated in 50-digit arithmetic from its normalised inputs. Only the 50-digit
numbers are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from core.divergences import check_gamma
from core.tolerances import FLOAT_GUIDANCE_REL

from .bounds import c1, c2, c_sharp, pointwise_ratio, ratio_mp

MIN_LOG_RATIO = 1e-4  # keep the instance where float64 evaluation is trustworthy


@dataclass
class SearchResult:
    gamma: float
    k: int
    direction: str
    best_ratio: float  # 50-digit |gap| / sqrt(d) of the best instance
    best_instance: dict
    starts: int
    converged: int  # starts whose L-BFGS-B run reported success
    candidates_verified: int
    c_sharp: float = field(init=False)
    c2: float = field(init=False)
    c1: float = field(init=False)

    def __post_init__(self):
        self.c_sharp, self.c2, self.c1 = c_sharp(self.gamma), c2(self.gamma), c1(self.gamma)

    @property
    def ratio_to_sharp(self) -> float:
        return self.best_ratio / self.c_sharp

    def to_json(self) -> dict:
        return {
            "gamma": self.gamma,
            "k": self.k,
            "direction": self.direction,
            "best_ratio": self.best_ratio,
            "c_sharp": self.c_sharp,
            "c2": self.c2,
            "c1": self.c1,
            "ratio_to_c_sharp": self.ratio_to_sharp,
            "starts": self.starts,
            "converged": self.converged,
            "candidates_verified": self.candidates_verified,
            "best_instance": self.best_instance,
        }


def _models(theta: np.ndarray, k: int, gamma: float):
    x = np.clip(theta.reshape(3, k), 0.0, 1.0) + 1e-300
    fs = x[0] / x[0].sum()
    # the search's coordinates: x in the box -> (1 - k gamma) x / sum(x) + gamma on the floored simplex (a map
    # of its own, not the floor of a distribution; its rounding order is what the saved suprema were found
    # with)
    fw = (1 - k * gamma) * x[1] / x[1].sum() + gamma
    fsw = (1 - k * gamma) * x[2] / x[2].sum() + gamma
    return fs, fw, fsw


def _objective(theta, k, gamma, direction) -> float:
    fs, fw, fsw = _models(theta, k, gamma)
    r = float(pointwise_ratio(fs[None], fw[None], fsw[None], direction)[0])
    spread = float(np.max(np.abs(np.log(fsw) - np.log(fw))))
    damp = min(1.0, spread / MIN_LOG_RATIO) ** 2
    return -r * damp


def search(
    gamma: float, k: int = 2, direction: str = "forward", starts: int = 24, seed: int = 0
) -> SearchResult:
    """Multi-start L-BFGS-B maximisation of |gap| / sqrt(d) from random starts on the floored simplex."""
    g = check_gamma(gamma, k)
    rng = np.random.default_rng(seed)
    # Screen random instances cheaply, start from the best of them and from fresh random points.
    pool = rng.uniform(0, 1, size=(4000, 3 * k))
    fs, fw, fsw = (np.stack(m) for m in zip(*(_models(t, k, g) for t in pool), strict=True))
    screened = pool[np.argsort(-pointwise_ratio(fs, fw, fsw, direction))[: starts // 2]]
    inits = np.vstack([screened, rng.uniform(0, 1, size=(starts - len(screened), 3 * k))])
    best, best_inst, converged, verified = -1.0, {}, 0, 0
    for theta0 in inits:
        res = minimize(
            _objective,
            theta0,
            args=(k, g, direction),
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * (3 * k),
            options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12},
        )
        converged += bool(res.success)
        fs1, fw1, fsw1 = _models(res.x, k, g)
        r = float(ratio_mp(fs1, fw1, fsw1, direction))
        r64 = float(pointwise_ratio(fs1[None], fw1[None], fsw1[None], direction)[0])
        verified += abs(r64 - r) <= FLOAT_GUIDANCE_REL * r  # the float64 search saw what 50 digits see
        if r > best:
            best = r
            best_inst = {"F_star": fs1.tolist(), "F_w": fw1.tolist(), "F_sw": fsw1.tolist()}
    return SearchResult(g, k, direction, best, best_inst, len(inits), converged, verified)
