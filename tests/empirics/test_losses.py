"""The W2S losses: identities and gradient formulas of docs/theory.md section 2, finiteness, batch
statistics."""

import numpy as np
import pytest
import torch

from core.divergences import grad_forward, grad_reverse_ce, grad_reverse_kl
from core.errors import LossError
from empirics.registries.losses import LOSSES
from empirics.training.losses import get_loss, hardened

GAMMA = 1e-3


def _z_y(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g, dtype=torch.float64) * 3, torch.rand(
        n, generator=g, dtype=torch.float64
    )


def test_identities_I1_and_I2_per_example():
    z, y = _z_y()
    s = torch.sigmoid(z)
    h = lambda p: -(p * torch.log(p) + (1 - p) * torch.log1p(-p))  # noqa: E731
    fce, fkl = (
        get_loss("forward_ce", GAMMA).per_example(z, y),
        get_loss("forward_kl", GAMMA).per_example(z, y),
    )
    rce, rkl = (
        get_loss("reverse_ce", GAMMA).per_example(z, y),
        get_loss("reverse_kl", GAMMA).per_example(z, y),
    )
    assert torch.allclose(fce, fkl + h(y), atol=1e-12)  # I1
    assert torch.allclose(rce, rkl + h(s), atol=1e-12)  # I2


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("forward_ce", grad_forward),
        ("forward_kl", grad_forward),
        ("reverse_kl", grad_reverse_kl),
        ("reverse_ce", grad_reverse_ce),
    ],
)
def test_gradients_match_the_formulas(name, formula):
    z, y = _z_y(seed=1)
    z.requires_grad_(True)
    per = get_loss(name, GAMMA).per_example(z, y)
    (g,) = torch.autograd.grad(per.sum(), z)
    y_used = y if name.startswith("forward") else (1 - 2 * GAMMA) * y + GAMMA
    np.testing.assert_allclose(g.numpy(), formula(z.detach().numpy(), y_used.numpy()), atol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_finite_for_hard_labels_huge_logits_and_low_precision(name, dtype):
    z = torch.tensor([-1e4, -50.0, -1.0, 0.0, 2.0, 60.0, 1e4, 3.0], dtype=torch.float32).to(dtype)
    z = z.clamp(torch.finfo(dtype).min, torch.finfo(dtype).max).requires_grad_(True)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    value = get_loss(name, GAMMA)(z, y, 0.5)
    (g,) = torch.autograd.grad(value, z)
    assert torch.isfinite(value)
    assert torch.all(torch.isfinite(g.float()))


def test_true_batch_mean_and_k_class_form_match_binary():
    z, y = _z_y(seed=2)
    two = torch.stack([torch.zeros_like(z), z], dim=1)
    py = torch.stack([1 - y, y], dim=1)
    for name in LOSSES:
        loss = get_loss(name, GAMMA)
        assert torch.isclose(loss(z, y, 0.3), loss.per_example(z, y, 0.3).mean())
        assert torch.isclose(loss(z, y, 0.3), loss(two, py, 0.3), atol=1e-12), name


def test_hardening_matches_the_mean_weak_label_over_the_whole_batch():
    q1 = torch.linspace(0.01, 0.99, 100, dtype=torch.float64)
    q = torch.stack([1 - q1, q1], 1)
    p = torch.stack([1 - torch.full((100,), 0.3), torch.full((100,), 0.3)], 1).double()
    yhat = hardened(q, p)
    assert yhat[:, 1].sum() == 30
    assert torch.all(yhat[q1 > 0.7, 1] == 1)
    with pytest.raises(LossError, match="batch of 1"):
        get_loss("confidence")(torch.tensor([0.3]), torch.tensor([0.7]), 0.5)


def test_confidence_schedules_and_the_two_reverse_readings():
    lin, burns = get_loss("confidence"), get_loss("confidence", schedule="burns", warmup_frac=0.1)
    assert lin.alpha(0.0) == 0
    assert lin.alpha(0.1) == pytest.approx(0.25)
    assert lin.alpha(0.2) == 0.5 == lin.alpha(1.0)
    assert burns.alpha(0.099) == pytest.approx(0.0495)
    assert burns.alpha(0.1) == 0.5
    z, y = _z_y(seed=3)
    a, b = get_loss("reverse_confidence_mix"), get_loss("reverse_confidence_target")
    rce = get_loss("reverse_ce")
    assert torch.isclose(a(z, y, 0.0), rce(z, y))
    assert torch.isclose(b(z, y, 0.0), rce(z, y))
    assert not torch.isclose(a(z, y, 1.0), b(z, y, 1.0))  # two different readings
    conf = get_loss("confidence")
    assert torch.isclose(conf(z, y, 0.0), get_loss("forward_ce")(z, y))


def test_bad_names_and_parameters():
    with pytest.raises(LossError, match="unknown loss 'mse'; known losses: forward_ce"):
        get_loss("mse")
    with pytest.raises(LossError, match="gamma"):
        get_loss("reverse_kl", gamma=0.6)
    with pytest.raises(LossError, match="schedule"):
        get_loss("confidence", schedule="cosine")
    with pytest.raises(LossError, match="do not match"):
        get_loss("forward_ce")(torch.zeros(4, 3), torch.zeros(4, 2))
