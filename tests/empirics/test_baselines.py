"""Baselines that read no model: the length rules and the constant, and the flag on a teacher no better."""

import json

import numpy as np
import pytest

from empirics.inputs.baselines import rule_probabilities
from empirics.inputs.data import PreferencePair
from empirics.readers.summary import summarize

PAIRS = [
    PreferencePair("a", "short", "much longer text", 1, False),  # first is shorter
    PreferencePair("b", "a longer first text", "tiny", 0, True),  # first is longer
    PreferencePair("c", "same", "same", 1, False),  # a tie
]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("shorter-chosen", [0.99, 0.01, 0.5]),
        ("longer-chosen", [0.01, 0.99, 0.5]),
        ("first-chosen", [0.99] * 3),
    ],
)
def test_rules(rule, expected):
    np.testing.assert_allclose(rule_probabilities(rule, PAIRS, 0.01), expected)


def _run(folder, role, model, probs, labels, seed=0):
    d = folder / f"{role}__{model}"
    d.mkdir(parents=True)
    acc = float(np.mean((np.array(probs) > 0.5) == (np.array(labels) == 1)))
    n = len(probs)
    test = {"n": n, "accuracy": acc, "accuracy_se": (acc * (1 - acc) / n) ** 0.5}
    (d / "config.json").write_text(
        json.dumps({"run": {"role": role, "model": model, "seed": seed, "head": "rule"}})
    )
    (d / "metrics.json").write_text(json.dumps({"test": test}))
    (d / "predictions_test.jsonl").write_text(
        "".join(
            json.dumps({"id": str(i), "label": y, "prob": p}) + "\n"
            for i, (p, y) in enumerate(zip(probs, labels, strict=True))
        )
    )


def test_a_teacher_no_better_than_a_rule_is_flagged(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400).tolist()
    rule = [
        0.99 if (y == 1) == (rng.uniform() < 0.62) else 0.01 for y in labels
    ]  # a rule right 62 % of the time
    teacher = [p if rng.uniform() < 0.9 else 1 - p for p in rule]  # a teacher that mostly copies it
    _run(tmp_path, "baseline", "shorter-chosen", rule, labels)
    _run(tmp_path, "weak", "copycat", teacher, labels)
    summarize(tmp_path)
    text = (tmp_path / "summary.md").read_text()
    assert "teacher copycat (seed 0) is no better than the rule shorter-chosen" in text
    assert "they agree on 9" in text  # ~90 % agreement, measured from the saved predictions
    good = tmp_path / "good"
    _run(good, "baseline", "shorter-chosen", rule, labels)
    _run(good, "weak", "oracle", [0.99 if y == 1 else 0.01 for y in labels], labels)
    summarize(good)
    assert "no better than the rule" not in (good / "summary.md").read_text()
