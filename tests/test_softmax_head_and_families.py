"""Unit tests of the softmax-head fits and the synthetic families."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from core.errors import InvalidInputError
from core.numerics import kl
from theory import families as fam
from theory.softmax_head import _reverse_terms, fit_softmax_forward, fit_softmax_reverse, predict


def _softmax_problem(seed=0, k=3):
    rng = np.random.default_rng(seed)
    dom = fam.make_domain(rng, 120, 2)
    Phi = dom.features
    V, f_star = fam.softmax_truth(Phi, k, rng)
    return Phi, V, f_star, fam.logit_noise_teacher(f_star, 0.5, 1e-2, rng), dom.weights


def test_forward_fit_recovers_the_truth_when_the_teacher_is_in_the_family():
    Phi, V, f_star, _, w = _softmax_problem()
    sol = fit_softmax_forward(Phi, f_star, w)
    assert sol.certified()
    assert np.abs(sol.V - V).max() < 1e-6


def test_forward_fit_dual_pythagorean_identity():
    Phi, V, f_star, f_w, w = _softmax_problem(1)
    sol = fit_softmax_forward(Phi, f_w, w)
    diff = w @ kl(f_w, f_star) - w @ kl(f_w, sol.F) - w @ kl(sol.F, f_star)
    assert abs(diff) <= np.linalg.norm(sol.V - V) * sol.grad_norm + 1e-12


def test_reverse_gradient_matches_finite_differences():
    Phi, _, _, f_w, w = _softmax_problem(2)
    theta = np.random.default_rng(0).standard_normal(2 * Phi.shape[1])
    g = _reverse_terms(theta, Phi, f_w, w, 3, 1e-2)[1]
    fd = approx_fprime(theta, lambda t: _reverse_terms(t, Phi, f_w, w, 3, 1e-2)[0], 1e-7)
    np.testing.assert_allclose(g, fd, atol=1e-6)


def test_reverse_fit_reports_agreeing_starts_and_floors_the_student():
    Phi, _, _, f_w, w = _softmax_problem(3)
    sol = fit_softmax_reverse(Phi, f_w, 1e-2, w, starts=12)
    assert sol.starts == 12
    assert 1 <= sol.agreeing <= 12
    assert sol.F.min() >= 1e-2 - 1e-15
    np.testing.assert_allclose(predict(sol.V, Phi, 1e-2), sol.F)


def test_label_noise_flips_erases_and_rejects_bad_parameters():
    rng = np.random.default_rng(0)
    p = np.array([[0.9, 0.1]] * 10)
    flipped = fam.label_noise(p, 1.0, -1.0, rng, 1e-3)
    np.testing.assert_allclose(flipped[:, 1], 0.9 * (1 - 2e-3) + 1e-3)
    erased = fam.label_noise(p, 0.5, 0.0, np.random.default_rng(1), 1e-3)
    assert np.isclose(erased[:, 1], 0.5).sum() == 5
    with pytest.raises(InvalidInputError, match="rho"):
        fam.label_noise(p, 1.5, -1.0, rng, 1e-3)
    with pytest.raises(InvalidInputError, match="alpha"):
        fam.label_noise(np.full((4, 3), 1 / 3), 0.5, -1.0, rng, 1e-3)
    with pytest.raises(InvalidInputError, match="unknown teacher kind"):
        fam.make_teacher("oracle", p, np.zeros((10, 1)), 1e-3, rng, 0.1)


def test_instances_are_seeded_and_realizable():
    a = fam.random_realizable_instance(np.random.default_rng(9))
    b = fam.random_realizable_instance(np.random.default_rng(9))
    np.testing.assert_array_equal(a.f_w, b.f_w)
    np.testing.assert_allclose(a.H @ a.W_star.T, a.f_star)
    assert a.W_star.min() >= a.gamma - 1e-15
    assert a.f_w.min() >= a.gamma - 1e-15


def test_weak_representation_teacher_is_outside_the_strong_class():
    """A weak teacher built on a weaker representation is not reproduced by the strong class (KL > 0)."""
    from theory.simplex_head import solve_simplex

    inst = fam.random_realizable_instance(np.random.default_rng(11), teacher="weak_representation", level=1)
    proj = solve_simplex(inst.H, inst.f_w, inst.gamma, "reverse_kl", inst.weights)
    assert proj.value > 1e-6
