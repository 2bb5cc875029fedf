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
