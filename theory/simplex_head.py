"""The linear head into the simplex and its certified projections (docs/theory.md R4).

Class (a): F(x) = W h(x) with h(x) in the simplex Delta_d and W a k x d column-stochastic matrix with entries
>= gamma; on a finite domain of m points, H is (m, d) and F = H W^T is (m, k), always >= gamma. The class is
convex as a set of probability-valued functions, which is what Theorem 2 needs.

Projections of a target T (m, k) onto the class, over weights w on the m points (a sample is a domain whose
weights are the empirical frequencies):
- ``reverse_kl``: J(W) = E_x KL(W h(x), T(x))     (information projection; the paper's reverse-KL student)
- ``forward_kl``: J(W) = E_x KL(T(x), W h(x))     (moment projection; the forward-KL / forward-CE student)
- ``reverse_ce``: J(W) = E_x CE(W h(x), T(x))     (linear in W: the minimising vertex, exactly)

Solver: a log-barrier interior-point method. Both the barrier and the objective's Hessian in W are block
diagonal over classes i (H_i = H^T diag(w * d2J/dF_i^2) H, d x d), and the k equality constraints per column
couple classes only through a d x d Schur complement, so a Newton step costs k d x d solves after forming
the H_i (O(m d^2 k)).

Certificate (independent of the method): the Frank-Wolfe gap
    g = <G, W - S> = sum_l [sum_i G_il W_il - gamma sum_i G_il - (1 - k gamma) min_i G_il],  G = dJ/dW,
which bounds J(W) - min J, and for every member W' of the class <G, W' - W> >= -g.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.barrier import barrier_solve, fraction_to_boundary
from core.divergences import OBJECTIVES, check_distributions, check_gamma, check_weights
from core.errors import InvalidInputError
from core.tolerances import REQUIRED_GAP_REL


def _terms(objective: str, F: np.ndarray, T: np.ndarray, w: np.ndarray):
    """(J, dJ/dF, d2J/dF2) for the F-space objective; its Hessian is diagonal in (x, i)."""
    wc = w[:, None]
    if objective == "reverse_kl":
        logr = np.log(F) - np.log(T)
        return float(np.sum(wc * F * logr)), wc * (logr + 1.0), wc / F
    if objective == "forward_kl":
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = np.where(T > 0, T * (np.log(T) - np.log(F)), 0.0)
        return float(np.sum(wc * ent)), -wc * T / F, wc * T / F**2
    if objective == "reverse_ce":
        logt = np.log(T)
        return float(-np.sum(wc * F * logt)), -wc * logt, np.zeros_like(F)
    raise InvalidInputError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}")


def frank_wolfe_gap(G: np.ndarray, W: np.ndarray, gamma: float) -> float:
    """g = <G, W - S>, S the class's vertex minimising <G, .> (column l: gamma + (1 - k gamma) e_argmin)."""
    k = W.shape[0]
    G = G - G.mean(
        axis=0, keepdims=True
    )  # g is invariant to a constant per column; centring avoids cancellation
    return float(np.sum(G * W) - gamma * np.sum(G) - (1 - k * gamma) * np.sum(G.min(axis=0)))


@dataclass
class SimplexSolution:
    W: np.ndarray  # (k, d)
    F: np.ndarray  # (m, k) = H W^T on the domain it was fit on
    objective: str
    value: float  # J(W)
    gap: float  # Frank-Wolfe gap, the certificate
    newton_steps: int
    gamma: float

    @property
    def certified(self) -> bool:
        return self.gap <= REQUIRED_GAP_REL * max(1.0, abs(self.value))

    @property
    def interior(self) -> bool:
        """Every entry of W is strictly above the floor (with margin 1e-6): then Theorem 2 holds with
        equality."""
        return bool(self.W.min() > self.gamma + 1e-6)

    def predict(self, H: np.ndarray) -> np.ndarray:
        return H @ self.W.T


def check_problem(H, T, weights, gamma: float):
    H = check_distributions(H, "h (representation)")
    T = check_distributions(T, "target")
    if H.ndim != 2 or T.ndim != 2 or H.shape[0] != T.shape[0]:
        raise InvalidInputError(
            f"shape mismatch: representation {H.shape}, target {T.shape} (need (m, d), (m, k))"
        )
    return H, T, check_weights(weights, H.shape[0]), check_gamma(gamma, T.shape[1])


def objective_and_gradient(objective: str, W: np.ndarray, H: np.ndarray, T: np.ndarray, w: np.ndarray):
    """J(W) and G = dJ/dW (k, d)."""
    J, dF, _ = _terms(objective, H @ W.T, T, w)
    return J, dF.T @ H


def solve_simplex(
    H,
    T,
    gamma: float,
    objective: str = "reverse_kl",
    weights=None,
    W0=None,
    mu0: float = 1e-2,
    mu_final: float = 1e-14,
    shrink: float = 0.1,
    max_newton: int = 400,
) -> SimplexSolution:
    """Project T onto the simplex-head class; the returned solution carries its Frank-Wolfe certificate."""
    H, T, w, g = check_problem(H, T, weights, gamma)
    k, d = T.shape[1], H.shape[1]
    if objective == "reverse_ce":  # linear in W: the minimising vertex is exact (and the barrier ill-posed)
        _, G = objective_and_gradient(objective, np.full((k, d), 1.0 / k), H, T, w)
        W = np.full((k, d), g)
        W[G.argmin(axis=0), np.arange(d)] += 1 - k * g
        J, G = objective_and_gradient(objective, W, H, T, w)
        return SimplexSolution(W, H @ W.T, objective, J, max(frank_wolfe_gap(G, W, g), 0.0), 0, g)
    W0 = np.full((k, d), 1.0 / k) if W0 is None else np.array(W0, np.float64)

    def phi(Wc, mu):
        return _terms(objective, H @ Wc.T, T, w)[0] - mu * np.sum(np.log(Wc - g))

    def newton(Wc, mu):
        J, dF, d2F = _terms(objective, H @ Wc.T, T, w)
        Y = Wc - g
        grad_j = dF.T @ H
        grad = grad_j - mu / Y
        grad -= grad.mean(axis=0, keepdims=True)  # steps keep column sums: only the centred part matters
        Minv = np.empty((k, d, d))
        for i in range(k):  # the Hessian is block diagonal over classes
            Mi = (H * d2F[:, i : i + 1]).T @ H
            Mi[np.diag_indices(d)] += mu / Y[i] ** 2
            Minv[i] = np.linalg.inv(Mi)
        # column sums fixed: step_i = M_i^-1 (lam - grad_i) with sum_i step_i = 0 (a d x d Schur complement)
        lam = np.linalg.solve(Minv.sum(axis=0), np.einsum("iab,ib->a", Minv, grad))
        step = np.einsum("iab,ib->ia", Minv, lam[None, :] - grad)
        return J - mu * np.sum(np.log(Y)), step, -float(np.sum(grad * step)), grad_j

    W, steps = barrier_solve(
        W0,
        newton,
        lambda Wc, st: fraction_to_boundary(Wc - g, st),
        phi,
        lambda G, Wc: frank_wolfe_gap(G, Wc, g),
        lambda Wc: objective_and_gradient(objective, Wc, H, T, w)[0],
        lambda J: REQUIRED_GAP_REL * max(1.0, abs(J)),
        mu0,
        mu_final,
        shrink,
        max_newton,
    )
    W = np.maximum(W, g)  # exact feasibility (the barrier keeps W > gamma; this only guards rounding)
    W /= W.sum(axis=0, keepdims=True)
    J, G = objective_and_gradient(objective, W, H, T, w)
    return SimplexSolution(W, H @ W.T, objective, J, max(frank_wolfe_gap(G, W, g), 0.0), steps, g)
