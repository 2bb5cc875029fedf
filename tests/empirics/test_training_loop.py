"""Paper-grade loop options (warmup, gradient clipping, gradient accumulation) and the per-step log, on tiny
models: each option changes what it should and nothing else, and bad values are one-line errors."""

import json

import numpy as np
import pytest

from core.errors import ConfigError
from empirics.inputs.frozen import cached_lower_states
from empirics.inputs.streams import RunStreams
from empirics.plans.options import FinetuneConfig
from empirics.runs.sweep import run_sweep
from empirics.runs.validate import check_sweep
from empirics.training.finetune import finetune, finetune_top, micro_batches, predict_top, warmup_steps
from empirics.training.losses import get_loss

from .fixtures import tiny_sweep


@pytest.fixture
def top(data_dir):
    """(states, labels, fit, head weight) of tiny-bert's lower block on 24 train_w2s pairs."""
    from empirics.inputs.data import load_split

    pairs = load_split("jsonl", "train_w2s", str(data_dir), 24, 0)
    states = cached_lower_states("tiny-bert", pairs, 48, 1)
    labels = np.random.default_rng(3).uniform(0.05, 0.95, len(pairs))
    return states, labels, np.arange(24), np.random.default_rng(4).normal(size=64)


def _train(top, **options):
    states, labels, fit, weight = top
    base = {"lr": 3e-3, "batch_size": 8, "epochs": 2, "group_pairs": 2, "trainable_blocks": 1}
    cfg, loss = FinetuneConfig(**(base | options)), get_loss("forward_ce")
    model, record = finetune_top(
        "tiny-bert", states, fit, labels, np.array([], int), loss, cfg, weight, RunStreams(1)
    )
    return predict_top(model, states), record


def test_warmup_steps_and_micro_batches():
    assert warmup_steps(0.0, 100) == 0
    assert warmup_steps(0.1, 100) == 10
    assert warmup_steps(7, 100) == 7
    assert warmup_steps(500, 100) == 100
    parts = micro_batches(np.arange(10), 3)
    assert [len(p) for p in parts] == [4, 3, 3]
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(10))
    assert micro_batches([5, 6], 1) == [[5, 6]]


def test_accumulation_keeps_the_effective_batch_and_the_result(top):
    """Each step's 8 pairs in 4 micro-batches of 2: the same mean gradient up to float rounding."""
    z1, r1 = _train(top)
    z4, r4 = _train(top, grad_accumulation=4)
    np.testing.assert_allclose(z4, z1, atol=2e-4)
    assert r4["loop"]["effective_batch"] == r1["loop"]["effective_batch"] == 8
    assert (r1["loop"]["micro_batch"], r4["loop"]["micro_batch"]) == (8, 2)
    # the logged loss is the step's mean either way
    l1 = [s["loss"] for s in r1["train_log"]]
    l4 = [s["loss"] for s in r4["train_log"]]
    np.testing.assert_allclose(l4, l1, rtol=1e-4)


def test_the_log_follows_the_warmup_and_cosine_schedule(top):
    _, record = _train(top, warmup=2)
    steps = record["train_log"]
    assert [s["step"] for s in steps] == list(range(1, 7))  # 24 pairs / 8 x 2 epochs
    lr = [s["lr"] for s in steps]
    assert lr[0] == 0.0  # linear warmup from 0
    assert lr[1] == pytest.approx(3e-3 / 2)
    assert lr[2] == pytest.approx(3e-3)  # then cosine decay from the peak
    assert lr[3] < lr[2]
    assert lr[5] == pytest.approx(3e-3 * 0.5 * (1 + np.cos(np.pi * 3 / 4)))
    assert all(np.isfinite(s["loss"]) and s["grad_norm"] > 0 and s["pairs_per_s"] > 0 for s in steps)
    assert record["loop"]["warmup_steps"] == 2
    _, plain = _train(top)
    assert plain["train_log"][0]["lr"] == pytest.approx(3e-3)


def test_clipping_bounds_the_update(top):
    """Adam's step is scale-free unless the gradient is below its eps: clipped to 1e-14, the blocks and head
    barely move from where they start; unclipped they move. The logged norm is the one before clipping."""
    states, _, _, weight = top
    start, _ = _train(top, epochs=1, lr=1e-12)  # (one step at a negligible rate: where training starts)
    clipped, rc = _train(top, max_grad_norm=1e-14)
    free, rf = _train(top)
    assert np.max(np.abs(clipped - start)) < 1e-3
    assert np.max(np.abs(free - start)) > 1e-2
    assert rc["train_log"][0]["grad_norm"] == pytest.approx(rf["train_log"][0]["grad_norm"], rel=1e-5)
    assert rc["loop"]["max_grad_norm"] == 1e-14


def test_full_fine_tuning_accumulates_and_logs(data_dir):
    from empirics.inputs.data import load_split

    pairs = load_split("jsonl", "train_w2s", str(data_dir), 16, 0)
    labels = np.random.default_rng(0).uniform(0.1, 0.9, len(pairs))
    out = {}
    for k in (1, 2):
        cfg = FinetuneConfig(lr=1e-3, batch_size=8, epochs=1, grad_accumulation=k)
        model, tok, _, record = finetune(
            "tiny-qwen2", pairs, labels, get_loss("reverse_kl"), cfg, 48, RunStreams(0)
        )
        assert len(record["train_log"]) == 2
        assert record["micro_batch"] == 8 // k
        from empirics.training.finetune import predict_logits

        out[k] = predict_logits(model, tok, pairs, 48)
    np.testing.assert_allclose(out[2], out[1], atol=2e-4)


def test_a_sweep_saves_the_log_beside_its_run(data_dir, tmp_path):
    sw = tiny_sweep(data_dir, "finetune", n=12, losses=["forward_ce"], warmup=0.5, grad_accumulation=2)
    assert run_sweep(sw, tmp_path)["failures"] == 0
    logs = sorted(tmp_path.glob("*/train_log.json"))
    assert {p.parent.name.split("__")[0] for p in logs} == {"weak", "ceiling", "student"}
    saved = json.loads(logs[0].read_text())
    assert saved["loop"]["grad_accumulation"] == 2
    assert saved["loop"]["warmup_steps"] == round(0.5 * saved["loop"]["steps"])
    assert len(saved["steps"]) == saved["loop"]["steps"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"warmup": -0.1}, "--warmup must be a fraction"),
        ({"warmup": 1.5}, "--warmup must be a fraction"),
        ({"warmup": float("nan")}, "--warmup must be a finite number"),
        ({"max_grad_norm": 0.0}, "--max-grad-norm must be a positive"),
        ({"grad_accumulation": 0}, "--grad-accumulation must be a positive"),
        ({"grad_accumulation": 64}, "exceeds --batch-size 32"),
    ],
)
def test_bad_loop_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        FinetuneConfig(**options)


def test_accumulation_with_batch_statistics_is_refused(data_dir):
    sw = tiny_sweep(data_dir, "finetune", losses=["confidence"], batch_size=8, grad_accumulation=2)
    with pytest.raises(ConfigError, match="micro-batches"):
        check_sweep(sw)
