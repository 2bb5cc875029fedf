"""FINDINGS.md is written by the audit from the saved summary, claims, planted truth and timing."""

import json

from empirics.cli import main
from empirics.registries.losses import LOSSES

from .fixtures import tiny_sweep


def test_the_audit_writes_findings_from_saved_results(data_dir, tmp_path):
    from empirics.runs.sweep import run_sweep

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
    timing = json.loads((out / "timing.json").read_text())
    peak = timing["total"]["peak_rss_mib"]
    assert f"peak resident memory {peak:.0f} MiB" in text
    # each model's features, made by this sweep: their cost per split, in the file and in FINDINGS
    assert set(timing["features"]) == {"tiny-bert", "tiny-qwen2"}
    for model, splits in timing["features"].items():
        assert set(splits) == {"train_gt", "train_w2s", "test"}
        for split, m in splits.items():
            assert m["cached"] is False
            assert m["seconds"] > 0
            n = sw.experiment.data.n_pairs  # pairs per split: two texts each
            assert m["texts"] == 2 * n
            assert f"| {model} | {split} | {2 * n} | {m['seconds']:.0f} | " in text
    assert "peak_rss_mib" not in text  # a peak is not a number of seconds


def test_the_weak_to_strong_gap_is_taken_between_seed_means_with_a_replicate_se(data_dir, tmp_path):
    """ceiling - weak (and its 3 SE test) is the mean over seeds of the paired gap on the test pairs, its SE
    counting the seeds (not one run's binomial SE, not seed 0 alone); the summary names the SE it uses."""
    import json

    import numpy as np
    import pytest

    from empirics.readers.summary import summarize
    from empirics.runs.sweep import run_sweep

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


def _table(lines: list[str]) -> list[dict]:
    """A Markdown table's rows as {header: cell}."""
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines if line.startswith("|")]
    header, body = rows[0], rows[2:]
    return [dict(zip(header, r, strict=True)) for r in body]


def test_each_accuracy_lands_under_its_own_column():
    from empirics.readers.findings import accuracy_section

    row = {"weak_model": "w", "strong_model": "s", "head": "logistic", "noise": "none"}
    row["weak"], row["ceiling"] = (0.581, 0.562, 0.600), (0.663, 0.641, 0.684)
    row["ceiling_minus_weak"], row["gap_se"], row["gap_se_kind"] = 0.082, 0.02, "replicate-aware SE"
    for i, loss in enumerate(LOSSES):
        row[loss] = (0.60 + 0.01 * i, 0.59 + 0.01 * i, 0.615 + 0.01 * i)
    (cells,) = _table(accuracy_section({"rows": [row]}))
    assert cells["weak -> strong"] == "w -> s"
    assert cells["weak"] == "58.1 [56.2, 60.0]"
    assert cells["ceiling"] == "66.3 [64.1, 68.4]"
    assert cells["ceiling - weak (SE)"] == "+8.2 (4.1 replicate SE)"
    for i, loss in enumerate(LOSSES):
        assert cells[loss] == f"{60 + i:.1f} [{59 + i:.1f}, {61.5 + i:.1f}]", loss


def test_each_claim_row_shows_its_own_numbers():
    from empirics.readers.findings import claims_section

    claim = {
        "statement": "reverse-KL students beat forward-KL students",
        "verdict": "contradicted",
        "delta": -0.0135,
        "ci95": [-0.0205, -0.0064],
        "per_seed": [-0.02, -0.007],
        "p_holm": 0.0086,
        "mde": 0.0098,
        "mde_goal_met": True,
        "seeds_for_goal": 10,
        "seeds_for_goal_upper80": 22,
        "paper": "p",
    }
    (cells,) = _table([line for line in claims_section([claim]) if line.startswith("|")])
    assert cells["verdict"] == "**contradicted**"
    assert cells["a - b (pts) [95 % CI]"] == "-1.35 [-2.05, -0.64]"
    assert cells["per seed (pts)"] == "-2.00, -0.70"
    assert cells["Holm p"] == "0.0086"
    assert cells["MDE (pts)"] == "0.98"
    assert cells["MDE goal met"] == "yes"
    assert cells["seeds for the goal (pilot / its 80 % upper limit)"] == "10 / 22"
