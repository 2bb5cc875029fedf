"""What a run trains on and how its L2 is chosen: seeded parts of the training split, one held-out rule for
every loss, test never read before the choice, and seeds that change the run."""

import json

import numpy as np
import pytest

from core.errors import ModelError
from empirics.inputs.partition import agreement, choose_l2, partition
from empirics.inputs.streams import RunStreams
from empirics.plans.spec import RunSpec
from empirics.registries.models import spec, trained_on
from empirics.runs.sweep import run_sweep

from .fixtures import guard_test_labels, tiny_sweep


def parts(n, seed, frac, limit=None):
    return partition(n, RunStreams(seed).numpy("sample", n), frac, limit)


def test_parts_are_disjoint_cover_the_split_and_depend_on_the_seed():
    a = parts(1000, 0, 0.2)
    assert len(a.heldout) == 200
    assert len(a.fit) == 800
    assert not set(a.fit) & set(a.heldout)
    assert sorted([*a.fit, *a.heldout]) == list(range(1000))
    assert np.array_equal(parts(1000, 0, 0.2).fit, a.fit)  # reproducible
    assert not np.array_equal(parts(1000, 1, 0.2).fit, a.fit)  # a seed changes the training set


def test_a_limited_run_sees_only_its_pairs_held_out_part_included():
    p = parts(1000, 3, 0.2, limit=400)
    assert len(p.fit) == 320
    assert len(p.heldout) == 80
    assert len(set(p.fit) | set(p.heldout)) == 400
    other = parts(1000, 4, 0.2, limit=400)  # MODEL@N: another seed trains on another N pairs
    assert set(other.fit) | set(other.heldout) != set(p.fit) | set(p.heldout)
    with pytest.raises(ValueError, match="only 1000"):
        parts(1000, 0, 0.2, limit=2000)


def test_model_at_n_names_a_teacher_trained_on_n_pairs():
    assert trained_on("all-MiniLM-L6-v2@400") == ("all-MiniLM-L6-v2", 400)
    assert trained_on("gemma-3-270m") == ("gemma-3-270m", None)
    assert spec("all-MiniLM-L6-v2@400").name == "all-MiniLM-L6-v2"
    for bad in ("all-MiniLM-L6-v2@", "all-MiniLM-L6-v2@x", "all-MiniLM-L6-v2@3"):
        with pytest.raises(ModelError, match="MODEL@N"):
            trained_on(bad)


def test_agreement_hardens_soft_labels_and_counts_exact_halves_as_half():
    assert agreement(np.array([0.9, 0.2, 0.6]), np.array([0.7, 0.4, 0.1])) == pytest.approx(2 / 3)
    assert agreement(np.array([0.5, 0.9]), np.array([1.0, 0.5])) == pytest.approx(0.5)


def test_the_best_heldout_agreement_wins_and_ties_go_to_the_larger_penalty():
    labels = np.array([1.0, 0.0, 1.0, 1.0])
    answers = {
        0.01: np.array([0.9, 0.9, 0.1, 0.9]),  # 2 / 4
        0.1: np.array([0.9, 0.1, 0.9, 0.1]),  # 3 / 4
        1.0: np.array([0.9, 0.1, 0.1, 0.9]),  # 3 / 4: ties with 0.1, larger penalty
        10.0: np.array([0.1, 0.9, 0.1, 0.1]),  # 0 / 4
    }
    best, model, scores = choose_l2(list(answers), lambda l2: (f"model-{l2}", answers[l2]), labels)
    assert best == 1.0
    assert model == "model-1.0"
    assert scores == {"0.01": 0.5, "0.1": 0.75, "1": 0.75, "10": 0.0}


def _metrics(out, spec_: RunSpec) -> dict:
    return json.loads((out / spec_.name / "metrics.json").read_text())


def _probs(out, spec_: RunSpec, split="test") -> np.ndarray:
    rows = (out / spec_.name / f"predictions_{split}.jsonl").read_text().splitlines()
    return np.array([json.loads(r)["prob"] for r in rows])


def test_the_choice_never_reads_test_labels_and_seeds_change_last_layer_runs(data_dir, tmp_path, monkeypatch):
    """Training (fits and the choice of L2) never reads a test label: reading one inside it fails the run;
    two seeds give different training parts, hence different heads (not pseudo-replicates)."""
    guard_test_labels(monkeypatch)
    sw = tiny_sweep(
        data_dir,
        "last_layer",
        pairs=["tiny-bert:tiny-qwen2"],
        losses=["forward_ce", "reverse_ce", "confidence"],
        heads=["logistic", "simplex"],
        seeds=[0, 1],
    )
    out = tmp_path / "res"
    assert run_sweep(sw, out)["failures"] == 0
    for loss in ("forward_ce", "reverse_ce", "confidence"):
        runs = [RunSpec("student", "tiny-qwen2", s, "logistic", loss, "tiny-bert") for s in (0, 1)]
        for r in runs:
            m = _metrics(out, r)
            assert set(m["heldout_agreement_per_l2"]) == {"0.001", "0.01", "0.1", "1", "10"}
            assert m["head_l2"] in (0.001, 0.01, 0.1, 1.0, 10.0)
            assert m["fit"]["n_fit"] + m["fit"]["n_heldout"] == 16
        assert not np.allclose(_probs(out, runs[0]), _probs(out, runs[1]), atol=1e-6)
    parts = [
        json.loads(x)["part"]
        for x in (out / runs[0].name / "predictions_train_w2s.jsonl").read_text().splitlines()
    ]
    assert parts.count("heldout") == 3
    assert parts.count("fit") == 13
