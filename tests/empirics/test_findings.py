"""FINDINGS.md is written by the audit from the saved summary, claims, planted truth and timing."""

from empirics.cli import main

from .fixtures import tiny_sweep


def test_the_audit_writes_findings_from_saved_results(data_dir, tmp_path):
    from empirics.sweep import run_sweep

    out = tmp_path / "res"
    sw = tiny_sweep(
        data_dir,
        "last_layer",
        pairs=["tiny-bert:tiny-qwen2", "tiny-bert@10:tiny-qwen2"],
        losses=["forward_kl", "reverse_kl"],
        heads=["logistic"],
    )
    assert run_sweep(sw, out)["failures"] == 0
    assert main(["audit", str(out), "--planted"]) == 0
    text = (out / "FINDINGS.md").read_text()
    summary_rows = text.split("## The paper's claims")[0]
    assert summary_rows.count("tiny-bert@10 -> tiny-qwen2 | logistic | none") == 1
    assert summary_rows.count("tiny-bert -> tiny-qwen2 | logistic | none") == 1
    assert "reverse-KL students beat forward-KL students" in text
    assert "## Planted truth" in text
    assert "## Time" in text


def test_the_weak_to_strong_gap_is_taken_between_seed_means_with_a_replicate_se(data_dir, tmp_path):
    """ceiling - weak (and its 3 SE test) is the mean over seeds of the paired gap on the test pairs, its SE
    counting the seeds (not one run's binomial SE, not seed 0 alone); the summary names the SE it uses."""
    import json

    import numpy as np
    import pytest

    from empirics.summary import summarize
    from empirics.sweep import run_sweep

    out = tmp_path / "res"
    sw = tiny_sweep(
        data_dir, "last_layer", pairs=["tiny-bert:tiny-qwen2"], heads=["logistic"], seeds=[0, 1, 2]
    )
    assert run_sweep(sw, out)["failures"] == 0

    def set_correct(role, model, seed, correct):  # test predictions right exactly where `correct` says
        path = out / f"{role}__{model}__logistic__s{seed}" / "predictions_test.jsonl"
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        rows = [
            {**r, "prob": 0.9 if (r["label"] == 1) == bool(c) else 0.1}
            for r, c in zip(rows, correct, strict=True)
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        if role == "weak":  # its students carry its predictions: the folder stays consistent
            for student in out.glob(f"student__*__s{seed}"):
                spath = student / "predictions_test.jsonl"
                srows = [json.loads(x) for x in spath.read_text().splitlines()]
                srows = [{**r, "weak_prob": w["prob"]} for r, w in zip(srows, rows, strict=True)]
                spath.write_text("".join(json.dumps(r) + "\n" for r in srows))

    n = len((out / "weak__tiny-bert__logistic__s0" / "predictions_test.jsonl").read_text().splitlines())
    right = [8, 12, 4]  # the weak model's right pairs per seed; the ceiling is right on every pair
    d = np.array([[0.0] * r + [1.0] * (n - r) for r in right])  # ceiling - weak per seed and pair
    for seed in range(len(right)):
        set_correct("weak", "tiny-bert", seed, d[seed] == 0)
        set_correct("ceiling", "tiny-qwen2", seed, np.ones(n))
    # by hand: Var = s^2(seed means) / K + max(MS_pair - MS_resid, 0) / (K N)
    k, means = len(right), d.mean(axis=1)
    ms_pair = k * np.sum((d.mean(axis=0) - d.mean()) ** 2) / (n - 1)
    resid = d - means[:, None] - d.mean(axis=0)[None, :] + d.mean()
    ms_resid = np.sum(resid**2) / ((k - 1) * (n - 1))
    se = np.sqrt(means.var(ddof=1) / k + max(ms_pair - ms_resid, 0) / (k * n))
    (row,) = summarize(out)["rows"]
    assert row["ceiling_minus_weak"] == pytest.approx(np.mean([1 - r / n for r in right]))  # seed 0: 1 - 8/n
    assert row["gap_se"] == pytest.approx(se)
    assert row["gap_se_kind"] == "replicate-aware SE (seeds x test pairs)"
    assert row["weak_really_weaker"] == (row["ceiling_minus_weak"] >= 3 * se)
