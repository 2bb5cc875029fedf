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


def test_the_weak_to_strong_gap_is_taken_between_seed_means(data_dir, tmp_path):
    """ceiling - weak (and its 3 SE test) uses the seed means the table shows, not seed 0's runs."""
    import json

    import pytest

    from empirics.summary import summarize
    from empirics.sweep import run_sweep

    out = tmp_path / "res"
    sw = tiny_sweep(
        data_dir, "last_layer", pairs=["tiny-bert:tiny-qwen2"], heads=["logistic"], seeds=[0, 1, 2]
    )
    assert run_sweep(sw, out)["failures"] == 0

    def set_test(role, model, seed, accuracy, se):  # the summary reads only the saved metrics
        path = out / f"{role}__{model}__logistic__s{seed}" / "metrics.json"
        m = json.loads(path.read_text())
        m["test"] |= {"accuracy": accuracy, "accuracy_se": se}
        path.write_text(json.dumps(m))

    weak, ceil = [(0.60, 0.010), (0.70, 0.020), (0.65, 0.015)], [(0.80, 0.010), (0.66, 0.010), (0.71, 0.040)]
    for seed, (w, c) in enumerate(zip(weak, ceil, strict=True)):
        set_test("weak", "tiny-bert", seed, *w)
        set_test("ceiling", "tiny-qwen2", seed, *c)
    (row,) = summarize(out)["rows"]
    assert row["ceiling_minus_weak"] == pytest.approx(0.72333333 - 0.65)  # seed 0 alone: 0.20
    assert row["gap_se"] == pytest.approx((0.02**2 + 0.015**2) ** 0.5)
    assert not row["weak_really_weaker"]  # 0.0733 < 3 x 0.025 (seed 0 alone: 0.20 > 3 x 0.014)
