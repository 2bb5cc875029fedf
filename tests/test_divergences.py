"""Unit tests of core.divergences: validation, the floor, pointwise and model divergences, binary
helpers."""

import math

import mpmath
import numpy as np
import pytest

from core import divergences as dv
from core import numerics as nx
from core.errors import InvalidInputError


@pytest.mark.parametrize(
    ("p", "message"),
    [
        ([0.5, float("nan")], "not finite"),
        ([0.5, float("inf")], "not finite"),
        ([1.2, -0.2], "negative probability"),
        ([0.5, 0.6], "sums to"),
        ([1.0], "at least 2 classes"),
        ("abc", "not numeric"),
    ],
)
def test_invalid_distributions_are_rejected_with_a_specific_message(p, message):
    with pytest.raises(InvalidInputError, match=message):
        dv.check_distributions(p)


@pytest.mark.parametrize(
    ("gamma", "k"), [(0.0, 2), (0.5, 2), (0.34, 3), (-1e-3, 2), (float("nan"), 2), ("x", 2)]
)
def test_gamma_outside_open_interval_is_rejected(gamma, k):
    with pytest.raises(InvalidInputError, match="gamma"):
        dv.check_gamma(gamma, k)


def test_weights_and_shapes_are_validated():
    a = np.full((3, 2), 0.5)
    with pytest.raises(InvalidInputError, match="sum to"):
        dv.kl_models(a, a, [0.2, 0.2, 0.2])
    with pytest.raises(InvalidInputError, match="negative weight"):
        dv.kl_models(a, a, [1.2, -0.1, -0.1])
    with pytest.raises(InvalidInputError, match="does not match"):
        dv.kl_models(a, a, [0.5, 0.5])
    with pytest.raises(InvalidInputError, match="shape mismatch"):
        dv.kl_models(a, np.full((2, 2), 0.5))
    with pytest.raises(InvalidInputError, match="unknown loss"):
        dv.divergence("js", a, a)


def test_mix_floor_is_label_smoothing_for_k2_and_floors_every_k():
    y = np.array([0.0, 0.3, 1.0])
    gamma = 0.01
    floored = dv.floor(np.stack([1 - y, y], axis=1), gamma)
    eps = 2 * gamma
    np.testing.assert_allclose(floored[:, 1], y * (1 - eps) + eps / 2, atol=1e-15)
    rng = np.random.default_rng(0)
    for k in range(2, 11):
        p = dv.floor(rng.dirichlet(np.full(k, 0.1), size=50), 0.9 / k / 2)
        assert p.min() >= 0.9 / k / 2 - 1e-15
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-14)


def test_clip_floor_only_for_two_classes():
    p = dv.floor([[1.0, 0.0], [0.2, 0.8]], 0.05, method="clip")
    np.testing.assert_allclose(p, [[0.95, 0.05], [0.2, 0.8]])
    with pytest.raises(InvalidInputError, match="k = 2 only"):
        dv.floor([0.2, 0.3, 0.5], 0.05, method="clip")
    with pytest.raises(InvalidInputError, match="unknown floor method"):
        dv.floor([0.5, 0.5], 0.05, method="renormalise")


def test_kl_ce_entropy_basics():
    p, q = np.array([1.0, 0.0, 0.0]), np.array([0.5, 0.25, 0.25])
    assert nx.kl(p, q) == pytest.approx(math.log(2))  # one-hot first argument: 0 log 0 = 0
    assert nx.ce(p, q) == pytest.approx(math.log(2))
    assert nx.entropy(q) == pytest.approx(1.5 * math.log(2))
    assert nx.kl(q, q) == 0.0
    assert nx.kl(q, p) == math.inf
    rng = np.random.default_rng(1)
    a, b = rng.dirichlet(np.ones(4), size=(2, 100))
    assert np.all(nx.kl(a, b) >= 0)
    assert dv.forward_kl(a, b) == pytest.approx(dv.kl_models(a, b))
    assert dv.reverse_kl(a, b) == pytest.approx(dv.kl_models(b, a))
    assert dv.forward_ce(a, b) == pytest.approx(dv.ce_models(a, b))
    assert dv.reverse_ce(a, b) == pytest.approx(dv.ce_models(b, a))
    assert dv.entropy_model(a) == pytest.approx(np.mean(nx.entropy(a)))


@pytest.mark.parametrize(("gamma", "eps"), [(1e-4, 1e-5), (1e-4, 1e-6), (1e-3, 1e-5)])
def test_bregman_kl_is_accurate_where_the_plain_sum_cancels(gamma, eps):
    """docs/theory.md R2's example: near the witness the plain sum is off by 0.1 % to 17 %; the Bregman
    form agrees with the 50-digit KL of the same (normalised) inputs to 1e-12."""
    from theory.bounds import mp_normalised

    p = np.array([gamma, 1 - gamma])
    q = np.array([gamma * (1 + eps), 1 - gamma * (1 + eps)])
    with mpmath.workdps(50):
        a, b = mp_normalised(p), mp_normalised(q)
        exact = float(mpmath.fsum(x * mpmath.log(x / y) for x, y in zip(a, b, strict=True)))
    assert abs(nx.kl_bregman(p, q) / exact - 1) < 1e-12
    assert abs(nx.kl(p, q) / exact - 1) > 1e-4  # the cancellation this guards against is real
    rng = np.random.default_rng(2)
    a, b = rng.dirichlet(np.ones(5), size=(2, 200))
    np.testing.assert_allclose(nx.kl_bregman(a, b), nx.kl(a, b), rtol=1e-12, atol=1e-15)


def test_binary_probs_are_finite_and_exact_at_extreme_logits():
    z = np.array([-1e4, -40.0, 0.0, 40.0, 1e4])
    p = nx.binary_probs(z)
    assert np.all(np.isfinite(p))
    assert np.allclose(p.sum(axis=1), 1.0)
    assert p[1, 1] == pytest.approx(math.exp(-40), rel=1e-12)  # no 1 - s cancellation
    np.testing.assert_allclose(nx.logit(nx.sigmoid([-5.0, 0.3, 7.0])), [-5.0, 0.3, 7.0], rtol=1e-12)
