"""Last-layer heads: antisymmetry under swapping the texts, certification, forward KL = forward CE."""

import numpy as np
import pytest

from core.errors import LossError
from empirics import heads
from empirics.losses import get_loss


def _features(seed=0, n=120, dim=6):
    rng = np.random.default_rng(seed)
    first, second = rng.standard_normal((n, dim)), rng.standard_normal((n, dim))
    w = rng.standard_normal(dim)
    y = 1 / (1 + np.exp(-(first - second) @ w))
    return first, second, y


def test_logistic_head_is_antisymmetric_and_fkl_equals_fce():
    first, second, y = _features()
    std = heads.Standardizer.fit(first, second)
    u = std(first, second)
    v_ce = heads.train_logistic(u, y, get_loss("forward_ce"), steps=300)
    v_kl = heads.train_logistic(u, y, get_loss("forward_kl"), steps=300)
    assert np.max(np.abs(1 / (1 + np.exp(-u @ v_ce)) - 1 / (1 + np.exp(-u @ v_kl)))) <= 1e-6
    np.testing.assert_allclose(std(second, first) @ v_ce, -(u @ v_ce))


@pytest.mark.parametrize("loss", ["forward_ce", "forward_kl", "reverse_ce", "reverse_kl"])
def test_simplex_head_is_certified_antisymmetric_and_floored(loss):
    first, second, y = _features(1)
    std = heads.Standardizer.fit(first, second)
    u = std(first, second)
    m = heads.SimplexMap.fit(u, d=16, seed=0)
    sol = heads.fit_simplex_head(m.design(u), y, loss, 1e-3)
    assert sol.certified
    p = 0.5 + m.design(u) @ sol.w
    p_swapped = 0.5 + m.design(std(second, first)) @ sol.w
    np.testing.assert_allclose(p + p_swapped, 1.0, atol=1e-12)
    assert p.min() >= 1e-3 - 1e-15
    assert p.max() <= 1 - 1e-3 + 1e-15
    assert np.allclose(m(u).sum(axis=1), 1.0)


def test_simplex_head_refuses_batch_statistics_losses():
    first, second, y = _features(2)
    u = heads.Standardizer.fit(first, second)(first, second)
    with pytest.raises(LossError, match="simplex head supports"):
        heads.fit_simplex_head(heads.SimplexMap.fit(u, 8).design(u), y, "confidence", 1e-3)
