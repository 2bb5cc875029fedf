"""The softmax-linear head F(x) = softmax(V phi(x)) (sigmoid for k = 2): convex in logit space only (R8).

- Forward KL fit, J(V) = E_x KL(T(x), softmax(V phi(x))): an exponential family, so J is convex; the last row
  of V is fixed at 0 (k - 1 free rows), which makes it strictly convex for full-rank features. Solved by
  Newton's method with a line search; certificate: the gradient norm (docs/theory.md R8). The student is not
  floored here (the teacher is), as the dual Pythagorean identity needs the exact family.
- Reverse KL fit, J(V) = E_x KL(F(x), T(x)) with the floored student F = (1 - k gamma) softmax(V phi) + gamma:
  non-convex. Solved by L-BFGS from many starts; certified when at least `agree` starts reach the best value
  to within 1e-10 (docs/theory.md R8), and only the best start's solution is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from core.divergences import check_distributions, check_gamma, check_weights
from core.errors import InvalidInputError
from core.numerics import gamma_floor
from core.tolerances import NONCONVEX_AGREE_STARTS, NONCONVEX_AGREE_TOL, SOFTMAX_GRAD_TOL


def predict(V: np.ndarray, Phi: np.ndarray, gamma: float = 0.0) -> np.ndarray:
    """(1 - k gamma) softmax(Phi V^T) + gamma; gamma = 0 is the unfloored family."""
    k = V.shape[0]
    return gamma_floor(softmax(Phi @ V.T, axis=1), gamma, k)


@dataclass
class SoftmaxSolution:
    V: np.ndarray  # (k, p), last row 0
    F: np.ndarray  # (m, k) on the fitting domain
    objective: str
    value: float
    grad_norm: float
    gamma: float  # 0 for the unfloored forward student
    starts: int = 1
    agreeing: int = 1  # starts within NONCONVEX_AGREE_TOL of the best value

    def certified(self, grad_tol: float = SOFTMAX_GRAD_TOL, agree: int = NONCONVEX_AGREE_STARTS) -> bool:
        if self.objective == "forward_kl":
            return self.grad_norm <= grad_tol
        return self.agreeing >= min(agree, self.starts) and self.grad_norm <= 1e-6


def _check(Phi, T, weights):
    Phi = np.asarray(Phi, np.float64)
    T = check_distributions(T, "target")
    if Phi.ndim != 2 or Phi.shape[0] != T.shape[0] or not np.all(np.isfinite(Phi)):
        raise InvalidInputError(
            f"features must be a finite (m, p) array matching the target's m; got {Phi.shape}"
        )
    return Phi, T, check_weights(weights, Phi.shape[0])


def _full(theta: np.ndarray, k: int, p: int) -> np.ndarray:
    return np.vstack([theta.reshape(k - 1, p), np.zeros((1, p))])


# ---------------------------------------------------------------------------------------------- forward
def _forward_terms(theta, Phi, T, w, k):
    p = Phi.shape[1]
    Z = Phi @ _full(theta, k, p).T
    logs = log_softmax(Z, axis=1)
    s = np.exp(logs)
    with np.errstate(divide="ignore", invalid="ignore"):
        J = float(np.sum(w[:, None] * np.where(T > 0, T * (np.log(T) - logs), 0.0)))
    G = ((s - T) * w[:, None]).T @ Phi  # (k, p)
    return J, G[:-1].ravel(), s


def fit_softmax_forward(Phi, T, weights=None, max_iter: int = 100) -> SoftmaxSolution:
    """argmin_V E_x KL(T(x), softmax(V phi(x))) by Newton's method (strictly convex with k - 1 free rows)."""
    Phi, T, w = _check(Phi, T, weights)
    k, p = T.shape[1], Phi.shape[1]
    theta = np.zeros((k - 1) * p)
    J, g, s = _forward_terms(theta, Phi, T, w, k)
    for _ in range(max_iter):
        sw = s[:, :-1] * w[:, None]
        # Hessian: sum_x w (diag(s) - s s^T)_{ij} phi phi^T over free rows i, j
        Hs = -np.einsum("xi,xj,xa,xb->iajb", sw, s[:, :-1], Phi, Phi)
        Hs[np.arange(k - 1), :, np.arange(k - 1), :] += np.einsum("xi,xa,xb->iab", sw, Phi, Phi)
        Hm = Hs.reshape((k - 1) * p, (k - 1) * p)
        step = -np.linalg.solve(Hm + 1e-300 * np.eye(len(theta)), g)
        dec = -float(g @ step)
        if dec < 1e-24:
            break
        t = 1.0
        while t > 1e-10:
            Jn, gn, sn = _forward_terms(theta + t * step, Phi, T, w, k)
            if Jn <= J - 0.25 * t * dec:
                break
            t *= 0.5
        theta, J, g, s = theta + t * step, Jn, gn, sn
    V = _full(theta, k, p)
    return SoftmaxSolution(V, predict(V, Phi), "forward_kl", J, float(np.linalg.norm(g)), 0.0)


# ---------------------------------------------------------------------------------------------- reverse
def _reverse_terms(theta, Phi, T, w, k, gamma):
    p = Phi.shape[1]
    s = softmax(Phi @ _full(theta, k, p).T, axis=1)
    F = gamma_floor(s, gamma, k)
    logr = np.log(F) - np.log(T)
    J = float(np.sum(w[:, None] * F * logr))
    b = (1 - k * gamma) * w[:, None] * (logr + 1.0)  # dJ/ds
    dz = s * (b - np.sum(s * b, axis=1, keepdims=True))  # softmax Jacobian
    return J, (dz.T @ Phi)[:-1].ravel()


def fit_softmax_reverse(
    Phi, T, gamma: float, weights=None, starts: int = 12, seed: int = 0, scale: float = 1.0
) -> SoftmaxSolution:
    """argmin_V E_x KL((1 - k gamma) softmax(V phi) + gamma, T) from `starts` starts (the first at the forward
    solution, the rest random with entries N(0, scale^2)); returns the best, with how many starts agree."""
    Phi, T, w = _check(Phi, T, weights)
    k, p = T.shape[1], Phi.shape[1]
    g = check_gamma(gamma, k)
    rng = np.random.default_rng(seed)
    inits = [fit_softmax_forward(Phi, T, w).V[:-1].ravel()]
    inits += [scale * rng.standard_normal((k - 1) * p) for _ in range(starts - 1)]
    runs = []
    for th0 in inits:
        res = minimize(
            _reverse_terms,
            th0,
            args=(Phi, T, w, k, g),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 20000, "ftol": 1e-16, "gtol": 1e-12, "maxcor": 30},
        )
        runs.append((float(res.fun), res.x))
    best_val, best_x = min(runs, key=lambda r: r[0])
    agreeing = sum(abs(v - best_val) <= NONCONVEX_AGREE_TOL for v, _ in runs)
    J, grad = _reverse_terms(best_x, Phi, T, w, k, g)
    V = _full(best_x, k, p)
    return SoftmaxSolution(
        V, predict(V, Phi, g), "reverse_kl", J, float(np.linalg.norm(grad)), g, len(runs), agreeing
    )
