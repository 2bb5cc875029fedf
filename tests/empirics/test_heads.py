"""Last-layer heads: antisymmetry under swapping the texts, certification, forward KL = forward CE; one
thread."""

import numpy as np
import pytest
import torch

from core.errors import LossError
from empirics.training import heads
from empirics.training.losses import get_loss


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


@pytest.mark.parametrize("loss", ["forward_ce", "forward_kl", "reverse_ce", "reverse_kl"])
def test_second_order_logistic_objective_is_the_training_loss(loss):
    """The float64 objective the L-BFGS head minimises is the torch loss of empirics.training.losses (+ l2/2
    |v|^2),
    value and gradient (autograd) alike."""
    import torch

    first, second, y = _features()
    u = heads.Standardizer.fit(first, second)(first, second)
    v = np.random.default_rng(5).standard_normal(u.shape[1]) * 0.3
    value, grad = heads.logistic_objective(loss, 1e-3, u, y, 0.1)(v)
    vt = torch.tensor(v, requires_grad=True)
    ref = get_loss(loss, 1e-3)(torch.tensor(u) @ vt, torch.tensor(y)) + 0.05 * (vt @ vt)
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, vt.grad.numpy(), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("loss", ["forward_ce", "reverse_ce", "reverse_kl"])
def test_second_order_logistic_head_is_certified_and_no_worse_than_adam(loss):
    first, second, y = _features()
    u = heads.Standardizer.fit(first, second)(first, second)
    fit = heads.fit_logistic(u, y, loss, 1e-3, 0.1)
    assert fit.certified, fit.grad_inf
    adam = heads.train_logistic(u, y, get_loss(loss, 1e-3), steps=1500, lr=0.05, l2=0.1)
    assert fit.objective <= heads.logistic_objective(loss, 1e-3, u, y, 0.1)(adam)[0] + 1e-12
    if loss == "forward_ce":  # forward KL differs by a constant: the same head
        np.testing.assert_allclose(heads.fit_logistic(u, y, "forward_kl", 1e-3, 0.1).v, fit.v, atol=1e-6)


def test_heldout_rule_fits_on_the_fit_part_and_scores_on_the_heldout_part():
    from empirics.inputs.partition import partition

    first, second, y = _features(seed=3, n=200)
    u = heads.Standardizer.fit(first, second)(first, second)
    part = partition(len(y), np.random.default_rng(0), 0.25)
    grid = [1e-3, 1.0, 100.0]
    l2, fit, scores = heads.fit_logistic_heldout(u, y, "reverse_kl", 1e-3, grid, part)
    assert fit.certified, fit.grad_inf
    # trained on the fit part alone: the same head as a fit on those rows
    np.testing.assert_array_equal(
        fit.v, heads.fit_logistic(u[part.fit], y[part.fit], "reverse_kl", 1e-3, l2).v
    )
    # scored on the held-out part alone: agreement of each L2's head there, counted here by hand
    for c in grid:
        v = heads.fit_logistic(u[part.fit], y[part.fit], "reverse_kl", 1e-3, c).v
        hand = np.mean((u[part.heldout] @ v > 0) == (y[part.heldout] > 0.5))
        assert scores[f"{c:g}"] == pytest.approx(hand, abs=1e-12)
    assert scores[f"{l2:g}"] == max(scores.values())
    # inverting the held-out labels inverts every score (the heads never see those labels)
    y_inv = y.copy()
    y_inv[part.heldout] = 1 - y_inv[part.heldout]
    _, _, inverted = heads.fit_logistic_heldout(u, y_inv, "reverse_kl", 1e-3, grid, part)
    assert {k: 1 - s for k, s in inverted.items()} == pytest.approx(scores, abs=1e-12)


def _threads() -> tuple[int, list[int]]:
    from threadpoolctl import threadpool_info

    return torch.get_num_threads(), [p["num_threads"] for p in threadpool_info()]


def test_one_thread_limits_every_pool_and_gives_them_back():
    inside = []

    def fail_inside():
        with heads.one_thread():
            inside.extend(_threads())
            raise RuntimeError  # given back on the way out of an error too

    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError):
            fail_inside()
        assert inside[0] == 1
        assert inside[1]  # torch's OpenMP and numpy's BLAS at least
        assert set(inside[1]) == {1}
        assert _threads()[0] == 2
    finally:
        torch.set_num_threads(2)


@pytest.mark.parametrize("loss", ["forward_ce", "confidence"])  # the certified solver; full-batch Adam
def test_a_runs_head_is_fit_on_one_thread(loss, data_dir, tmp_path, monkeypatch):
    """Whatever the process's thread count, a last-layer run fits its head on one thread, so its numbers do
    not depend on the machine's core count."""
    from empirics.runs.sweep import run_sweep

    from .fixtures import tiny_sweep

    seen = []
    for name in ("fit_logistic_heldout", "train_logistic"):
        real = getattr(heads, name)

        def spy(*args, _real=real, **kw):
            seen.append(_threads())
            return _real(*args, **kw)

        monkeypatch.setattr(heads, name, spy)
    torch.set_num_threads(2)
    sw = tiny_sweep(data_dir, "last_layer", pairs=["tiny-bert:tiny-qwen2"], losses=[loss], heads=["logistic"])
    assert run_sweep(sw, tmp_path / "res")["failures"] == 0
    assert seen
    assert {n for n, _ in seen} == {1}
    assert {n for _, pools in seen for n in pools} == {1}
    assert torch.get_num_threads() == 2
