"""Unit tests of the certified simplex-head solver."""

import numpy as np
import pytest
from scipy.optimize import minimize

from core.divergences import floor
from core.errors import InvalidInputError
from theory.families import make_domain, simplex_representation
from theory.simplex_head import frank_wolfe_gap, objective_and_gradient, solve_simplex


def _problem(seed, m=60, d=5, k=3, gamma=1e-2):
    rng = np.random.default_rng(seed)
    dom = make_domain(rng, m, 3)
    H = simplex_representation(dom.z, d, rng)
    T = floor(rng.dirichlet(np.ones(k), size=m), gamma)
    return H, T, dom.weights, gamma


def _slsqp(H, T, w, gamma, objective):
    k, d = T.shape[1], H.shape[1]

    def fun(x):
        J, G = objective_and_gradient(objective, x.reshape(k, d), H, T, w)
        return J, G.ravel()

    cons = {
        "type": "eq",
        "fun": lambda x: x.reshape(k, d).sum(0) - 1,
        "jac": lambda x: np.kron(np.ones((1, k)), np.eye(d)),
    }
    r = minimize(
        fun,
        np.full(k * d, 1 / k),
        jac=True,
        method="SLSQP",
        bounds=[(gamma, 1)] * (k * d),
        constraints=[cons],
        options={"ftol": 1e-14, "maxiter": 2000},
    )
    return r.fun


@pytest.mark.parametrize("objective", ["reverse_kl", "forward_kl", "reverse_ce"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solution_is_feasible_certified_and_optimal(objective, seed):
    H, T, w, gamma = _problem(seed)
    sol = solve_simplex(H, T, gamma, objective, w)
    assert sol.certified
    assert sol.W.min() >= gamma - 1e-15
    assert np.allclose(sol.W.sum(axis=0), 1.0, atol=1e-14)
    assert sol.F.min() >= gamma - 1e-15
    # the certificate bounds the suboptimality: an independent solver cannot beat J - g
    assert _slsqp(H, T, w, gamma, objective) >= sol.value - sol.gap - 1e-12


def test_frank_wolfe_gap_is_zero_at_the_vertex_minimiser_and_positive_elsewhere():
    H, T, w, gamma = _problem(4)
    W = np.full((3, 5), 1 / 3)
    J, G = objective_and_gradient("reverse_kl", W, H, T, w)
    assert frank_wolfe_gap(G, W, gamma) > 1e-4  # the centre is not optimal
    S = np.full((3, 5), gamma)
    S[G.argmin(axis=0), np.arange(5)] += 1 - 3 * gamma
    assert abs(frank_wolfe_gap(G, S, gamma)) < 1e-15
    # g >= J(W) - J(W*) (convexity)
    assert frank_wolfe_gap(G, W, gamma) >= J - solve_simplex(H, T, gamma, "reverse_kl", w).value - 1e-12


def test_a_sample_is_a_weighted_domain():
    """Solving on a sample with repeated points equals solving on the distinct points with counts as
    weights."""
    H, T, w, gamma = _problem(5, m=20)
    idx = np.random.default_rng(0).integers(0, 20, size=200)
    on_sample = solve_simplex(H[idx], T[idx], gamma, "reverse_kl")
    weights = np.bincount(idx, minlength=20) / 200
    on_domain = solve_simplex(H, T, gamma, "reverse_kl", weights)
    assert abs(on_sample.value - on_domain.value) < 1e-10
    np.testing.assert_allclose(on_sample.W, on_domain.W, atol=1e-6)


def test_bad_inputs():
    H, T, w, gamma = _problem(6)
    with pytest.raises(InvalidInputError, match="unknown objective"):
        solve_simplex(H, T, gamma, "js", w)
    with pytest.raises(InvalidInputError, match="shape mismatch"):
        solve_simplex(H[:10], T, gamma, "reverse_kl")
    with pytest.raises(InvalidInputError, match="gamma"):
        solve_simplex(H, T, 0.5, "reverse_kl", w)
    with pytest.raises(InvalidInputError, match="representation"):
        solve_simplex(H * 2, T, gamma, "reverse_kl", w)
