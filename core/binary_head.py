"""Binary heads affine in their parameters over a box: P(class 1 | x) = c(x) + G(x) . w, w in [gamma, 1 -
gamma]^d.

Two members of docs/theory.md R4's convex class (convex as sets of probability-valued functions):
- the k = 2 simplex head, F_1 = h(x) . W_1 (c = 0, G = h, w = W_1);
- the order-antisymmetric pair head of the empirics, F = 1/2 [W h(u)] + 1/2 flip[W h(-u)] with u = phi(first)
  - phi(second): F_1 = 1/2 + 1/2 sum_l w_l (h_l(u) - h_l(-u)), i.e. c = 1/2, G = (h(u) - h(-u)) / 2. Swapping
  the two texts maps F_1 to 1 - F_1 exactly. Both keep gamma <= F_1 <= 1 - gamma for every feasible w.
  Projections of soft targets y (floored at gamma) are solved by the shared barrier driver and certified by
  the box Frank-Wolfe gap g = sum_l [grad_l w_l - min(grad_l gamma, grad_l (1 - gamma))] >= J(w) - min J."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .barrier import barrier_solve, fraction_to_boundary
from .divergences import OBJECTIVES, check_gamma, check_weights
from .errors import InvalidInputError
from .numerics import xlogy
from .tolerances import REQUIRED_GAP_REL


def _reverse_kl(p, y, w):
    J = w @ (xlogy(p, p / y) + xlogy(1 - p, (1 - p) / (1 - y)))
    return float(J), w * (np.log(p / (1 - p)) - np.log(y / (1 - y))), w / (p * (1 - p))


def _forward_kl(p, y, w):
    J = w @ (xlogy(y, y / p) + xlogy(1 - y, (1 - y) / (1 - p)))
    return float(J), w * (-y / p + (1 - y) / (1 - p)), w * (y / p**2 + (1 - y) / (1 - p) ** 2)


def _reverse_ce(p, y, w):
    J = -(w @ (p * np.log(y) + (1 - p) * np.log(1 - y)))
    return float(J), -w * np.log(y / (1 - y)), np.zeros_like(p)


@dataclass(frozen=True)
class BinaryObjective:
    """A convex objective in P(class 1) = p against targets y with weights w: ``terms(p, y, w)`` gives (J,
    dJ/dp, d2J/dp2). `linear`: J is linear in p (the solution sits at the box's corners); `any_target`: the
    targets may be any probability (else they lie in [gamma, 1 - gamma])."""

    name: str
    terms: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[float, np.ndarray, np.ndarray]]
    linear: bool = False
    any_target: bool = False


BINARY_OBJECTIVES = {
    o.name: o
    for o in (
        BinaryObjective("reverse_kl", _reverse_kl),
        BinaryObjective("forward_kl", _forward_kl, any_target=True),
        BinaryObjective("reverse_ce", _reverse_ce, linear=True),
    )
}


def binary_objective(objective: str | BinaryObjective) -> BinaryObjective:
    if isinstance(objective, BinaryObjective):
        return objective
    if objective not in BINARY_OBJECTIVES:
        raise InvalidInputError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}")
    return BINARY_OBJECTIVES[objective]


def binary_terms(objective: str | BinaryObjective, p: np.ndarray, y: np.ndarray, w: np.ndarray):
    """(J, dJ/dp, d2J/dp2) for P(class 1) = p against targets y, weights w."""
    return binary_objective(objective).terms(p, y, w)


def box_gap(grad: np.ndarray, x: np.ndarray, gamma: float) -> float:
    return float(np.sum(grad * x - np.minimum(grad * gamma, grad * (1 - gamma))))


@dataclass
class BinarySolution:
    w: np.ndarray
    p: np.ndarray  # P(class 1) on the fitting points
    objective: str
    value: float
    gap: float
    newton_steps: int
    gamma: float

    @property
    def certified(self) -> bool:
        return self.gap <= REQUIRED_GAP_REL * max(1.0, abs(self.value))


def _checked_problem(c, G, y, gamma: float, objective: BinaryObjective):
    """(c, G, y, gamma) as float64 arrays, checked: finite G (m, d), targets y (m,) inside [gamma, 1 - gamma]
    (forward KL takes any target in [0, 1]: a one-hot truth, for Theorem 3's R)."""
    G = np.asarray(G, np.float64)
    c = np.broadcast_to(np.asarray(c, np.float64), (G.shape[0],))
    y = np.asarray(y, np.float64)
    g = check_gamma(gamma, 2)
    if G.ndim != 2 or y.shape != (G.shape[0],) or not (np.all(np.isfinite(G)) and np.all(np.isfinite(y))):
        raise InvalidInputError(f"need finite G (m, d) and targets y (m,); got {G.shape} and {y.shape}")
    lo = 0.0 if objective.any_target else g
    if np.any(y < lo - 1e-12) or np.any(y > 1 - lo + 1e-12):
        raise InvalidInputError(
            f"targets must lie in [{lo}, {1 - lo}] for {objective.name}: found [{y.min()}, {y.max()}]"
        )
    return c, G, y, g


def solve_binary(
    c,
    G,
    y,
    gamma: float,
    objective: str | BinaryObjective = "reverse_kl",
    weights=None,
    w0=None,
    mu0: float = 1e-2,
    mu_final: float = 1e-14,
) -> BinarySolution:
    """Project soft targets y (P(class 1), floored at gamma) onto {c + G w : w in [gamma, 1 - gamma]^d} by
    `objective` (a name of BINARY_OBJECTIVES, or a BinaryObjective of the caller's: a loss entry's own)."""
    objective = binary_objective(objective)
    c, G, y, g = _checked_problem(c, G, y, gamma, objective)
    wts = check_weights(weights, G.shape[0])
    d = G.shape[1]

    def value_grad(x):
        J, dp, d2p = objective.terms(c + G @ x, y, wts)
        return J, G.T @ dp, d2p

    if objective.linear:  # each coordinate at the bound its coefficient prefers
        _, grad, _ = value_grad(np.full(d, 0.5))
        x = np.where(grad > 0, g, 1 - g)
        J, grad, _ = value_grad(x)
        return BinarySolution(x, c + G @ x, objective.name, J, max(box_gap(grad, x, g), 0.0), 0, g)

    def barrier(x):
        return np.sum(np.log(x - g) + np.log(1 - g - x))

    def newton(x, mu):
        J, grad_j, d2p = value_grad(x)
        lo, hi = x - g, 1 - g - x
        grad = grad_j - mu / lo + mu / hi
        hess = (G * d2p[:, None]).T @ G
        hess[np.diag_indices(d)] += mu / lo**2 + mu / hi**2
        step = -np.linalg.solve(hess, grad)
        return J - mu * barrier(x), step, -float(grad @ step), grad_j

    x, steps = barrier_solve(
        np.full(d, 0.5) if w0 is None else np.asarray(w0, np.float64),
        newton,
        lambda x, st: min(fraction_to_boundary(x - g, st), fraction_to_boundary(1 - g - x, -st)),
        lambda x, mu: value_grad(x)[0] - mu * barrier(x),
        lambda gr, x: box_gap(gr, x, g),
        lambda x: value_grad(x)[0],
        lambda J: REQUIRED_GAP_REL * max(1.0, abs(J)),
        mu0,
        mu_final,
    )
    x = np.clip(x, g, 1 - g)
    J, grad, _ = value_grad(x)
    return BinarySolution(x, c + G @ x, objective.name, J, max(box_gap(grad, x, g), 0.0), steps, g)
