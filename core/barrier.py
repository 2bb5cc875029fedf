"""A log-barrier Newton driver shared by the certified head solvers.

The caller supplies, for the barrier problem  min J(x) - mu * B(x)  over the interior of a polytope:
- ``newton(x, mu) -> (phi, step, decrement, gradJ)``: barrier value at x, the Newton step (already respecting
  any equality constraints), the Newton decrement -<grad, step> computed without cancellation, and dJ/dx;
- ``max_step(x, step) -> t``: the largest t keeping x + t step strictly inside (before the 0.99 safety
  factor);
- ``phi(x, mu)``: the barrier value for the line search;
- ``gap(gradJ, x) -> g``: the Frank-Wolfe certificate (which bounds J(x) - min J). mu decreases geometrically;
  intermediate levels are centred approximately (decrement < 0.1 mu), the last one until the certificate
  itself is below 1 % of the required level (the decrement can be far smaller than the gap)."""

from __future__ import annotations

import numpy as np


def barrier_solve(
    x, newton, max_step, phi, gap, value_of, required, mu0=1e-2, mu_final=1e-14, shrink=0.1, max_newton=400
):
    """Returns (x, newton_steps)."""
    mu, steps = mu0, 0
    while True:
        for _ in range(60):
            phi0, step, decrement, grad_j = newton(x, mu)
            steps += 1
            if steps >= max_newton or decrement <= 0:
                break
            if mu > mu_final:
                if decrement < 0.1 * mu:
                    break
            elif gap(grad_j, x) <= 0.01 * required(value_of(x)):
                break
            t = min(1.0, 0.99 * max_step(x, step))
            tiny = decrement < 1e-12 * max(1.0, abs(phi0))  # Armijo would compare rounding errors: full step
            while t > 1e-12:
                xn = x + t * step
                if tiny or phi(xn, mu) <= phi0 - 0.25 * t * decrement:
                    break
                t *= 0.5
            x = xn
        if mu <= mu_final or steps >= max_newton:
            return x, steps
        mu = max(mu * shrink, mu_final)


def fraction_to_boundary(slack: np.ndarray, direction: np.ndarray) -> float:
    """Largest t with slack + t * direction >= 0 (slack > 0); inf if direction >= 0."""
    neg = direction < 0
    return float(np.min(-slack[neg] / direction[neg])) if np.any(neg) else np.inf
