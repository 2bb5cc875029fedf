"""Adding a loss is adding one registry entry: a symmetric CE (forward CE + reverse CE) registered here, in
the test, runs through the second-order logistic head (certified, its numpy gradient equal to torch's
autograd of the same entry), the certified simplex-head solver, and top-block fine-tuning, with nothing else
changed."""

import numpy as np
import pytest
import torch

from core.binary_head import BinaryObjective
from core.errors import LossError
from empirics.inputs.frozen import cached_lower_states
from empirics.inputs.streams import RunStreams
from empirics.plans.options import FinetuneConfig
from empirics.registries.losses import LOSS_REGISTRY, LossEntry
from empirics.training import heads
from empirics.training.finetune import finetune_top, predict_top
from empirics.training.losses import get_loss

GAMMA = 1e-3


def _logit_terms(t):  # forward CE + reverse CE, from their own entries
    a, b = (LOSS_REGISTRY[name].logit_terms(t) for name in ("forward_ce", "reverse_ce"))
    return a[0] + b[0], a[1] + b[1]


def _prob_terms(p, y, w):
    a, b = (LOSS_REGISTRY[name].prob_objective.terms(p, y, w) for name in ("forward_ce", "reverse_ce"))
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


SYMMETRIC_CE = LossEntry(
    name="symmetric_ce",
    paper_name="SCE",
    objective="CE(p, q) + CE(q, floor(p))",
    batch_statistics=False,
    marker="x",
    color="tab:gray",
    per_example=lambda t: t.ce(t.p, t.log_q) + t.ce(t.q, t.log_floor(t.p)),
    logit_terms=_logit_terms,
    prob_objective=BinaryObjective("symmetric_ce", _prob_terms),
)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(LOSS_REGISTRY, "symmetric_ce", SYMMETRIC_CE)


def _problem(n=300, d=6, seed=0):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, d))
    y = np.clip(1 / (1 + np.exp(-(u @ rng.standard_normal(d)))) + rng.normal(0, 0.1, n), 0.02, 0.98)
    return u, y


def test_the_logistic_head_fits_the_new_loss_and_agrees_with_torch(registered):
    u, y = _problem()
    l2 = 0.1
    fit = heads.fit_logistic(u, y, "symmetric_ce", GAMMA, l2)
    assert fit.certified, fit.grad_inf
    loss = get_loss("symmetric_ce", GAMMA)
    for v in (fit.v, np.random.default_rng(3).standard_normal(u.shape[1])):
        vt = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        value = loss(torch.tensor(u) @ vt, torch.tensor(y), 0.0) + 0.5 * l2 * (vt @ vt)
        value.backward()
        J, grad = heads.logistic_objective("symmetric_ce", GAMMA, u, y, l2)(v)
        assert J == pytest.approx(value.item(), rel=1e-10)
        np.testing.assert_allclose(grad, vt.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_the_simplex_head_solves_the_new_loss_to_a_certificate(registered):
    rng = np.random.default_rng(1)
    G = rng.uniform(-0.5, 0.5, (400, 5)) / 5
    y = np.clip(0.5 + G @ rng.uniform(0.1, 0.9, 5) + rng.normal(0, 0.05, 400), 0.01, 0.99)
    sol = heads.fit_simplex_head(G, y, "symmetric_ce", GAMMA)
    assert sol.certified, sol.gap
    assert sol.objective == "symmetric_ce"
    yg = (1 - 2 * GAMMA) * y + GAMMA
    w = np.full(len(y), 1 / len(y))
    for _ in range(20):  # no feasible point does better than the certified one (up to its gap)
        x = rng.uniform(GAMMA, 1 - GAMMA, 5)
        assert _prob_terms(0.5 + G @ x, yg, w)[0] >= sol.value - sol.gap - 1e-12


def test_top_block_fine_tuning_trains_on_the_new_loss(registered, data_dir):
    from empirics.inputs.data import load_split

    pairs = load_split("jsonl", "train_w2s", str(data_dir), 16, 0)
    states = cached_lower_states("tiny-bert", pairs, 48, 1)
    labels = np.linspace(0.1, 0.9, states.n)
    cfg = FinetuneConfig(lr=3e-3, batch_size=8, epochs=2, group_pairs=4, trainable_blocks=1)
    weight = np.random.default_rng(4).normal(size=64)
    fit = np.arange(states.n)
    loss = get_loss("symmetric_ce", GAMMA)
    model, record = finetune_top(
        "tiny-bert", states, fit, labels, np.array([], int), loss, cfg, weight, RunStreams(0)
    )
    steps = record["train_log"]
    assert len(steps) == 4
    assert all(np.isfinite(s["loss"]) for s in steps)
    assert np.all(np.isfinite(predict_top(model, states)))


def test_without_its_entry_the_loss_is_unknown_everywhere():
    u, y = _problem(50, 3)
    with pytest.raises(LossError, match="symmetric_ce"):
        heads.fit_logistic(u, y, "symmetric_ce", GAMMA, 0.1)
    with pytest.raises(LossError, match="symmetric_ce"):
        heads.fit_simplex_head(np.zeros((5, 2)), np.full(5, 0.5), "symmetric_ce", GAMMA)
    with pytest.raises(LossError, match="unknown loss 'symmetric_ce'"):
        get_loss("symmetric_ce")
