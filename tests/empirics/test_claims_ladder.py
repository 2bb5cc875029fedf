"""The ladder's claims: a stronger student gains more from the same teacher (strong models ranked by their
ceilings over seeds), and every claim's verdict per panel (teacher -> student pair), the panels of a claim one
Holm family."""

from dataclasses import asdict

import pytest

from empirics.readers.claims import CLAIMS, Runs, claim_cells, evaluate_claims
from empirics.readers.findings import panels_section
from empirics.readers.records import load_checked_runs

from .fixtures import write_ladder_fixture

TEACHERS = {"small": 0.58, "mid": 0.62}
CEILINGS = {"gemma": 0.80, "qwen": 0.86}
# forward-CE students of both teachers: qwen's 6 points above gemma's over either teacher
LADDER_STUDENTS = {
    ("small", "gemma"): 0.64,
    ("small", "qwen"): 0.70,
    ("mid", "gemma"): 0.66,
    ("mid", "qwen"): 0.72,
}


def claim(results, key):
    return next(c for c in evaluate_claims(results) if c.key == key)


def test_a_stronger_student_over_the_same_teacher_is_reproduced_per_panel(tmp_path):
    out = write_ladder_fixture(tmp_path / "r", 2000, TEACHERS, CEILINGS, LADDER_STUDENTS)
    c = claim(out, "stronger_student_gains_more")
    assert c.verdict == "reproduced", c.numbers()
    assert c.delta == pytest.approx(0.06, abs=0.015)
    panels = c.extra["by_panel"]
    assert set(panels) == {"small -> gemma vs qwen (logistic)", "mid -> gemma vs qwen (logistic)"}
    assert all(p["verdict"] == "reproduced" for p in panels.values())
    (lo, p_lo), (hi, p_hi) = sorted(((k, p["p_two_sided"]) for k, p in panels.items()), key=lambda x: x[1])
    assert 0 < p_lo <= p_hi < 0.05
    holm_lo = min(1.0, 2 * p_lo)  # Holm over the two panels
    assert panels[lo]["p_holm_panels"] == pytest.approx(holm_lo, rel=1e-9, abs=0)
    assert panels[hi]["p_holm_panels"] == pytest.approx(max(holm_lo, p_hi), rel=1e-9, abs=0)
    # the stronger teacher -> stronger student claim, one panel per student
    t = claim(out, "stronger_teacher_stronger_student")
    assert set(t.extra["by_panel"]) == {"small vs mid -> gemma (logistic)", "small vs mid -> qwen (logistic)"}


def test_the_stronger_student_is_the_one_with_the_better_ceiling(tmp_path):
    """Qwen's ceiling is the better one; its student is the worse here: the claim is contradicted, with the
    students compared as (qwen's, gemma's) seed by seed."""
    students = {("small", "gemma"): 0.70, ("small", "qwen"): 0.64}
    out = write_ladder_fixture(tmp_path / "r", 2000, {"small": 0.58}, CEILINGS, students)
    cells = claim_cells(
        next(x for x in CLAIMS if x.key == "stronger_student_gains_more"), Runs(load_checked_runs(out))
    )
    ((setting, by_seed),) = cells.items()
    assert setting == ("small", "logistic", "forward_ce", "gemma", "qwen")
    assert all((a.spec.model, b.spec.model) == ("qwen", "gemma") for a, b in by_seed.values())
    assert claim(out, "stronger_student_gains_more").verdict == "contradicted"


def test_a_student_pair_that_is_not_weak_to_strong_is_left_out(tmp_path):
    """The teacher is as good as gemma's ceiling: that student is no real student, and the claim cannot be
    tested (its panel is listed among the excluded settings)."""
    students = {("small", "gemma"): 0.64, ("small", "qwen"): 0.70}
    out = write_ladder_fixture(tmp_path / "r", 2000, {"small": 0.80}, CEILINGS, students)
    c = claim(out, "stronger_student_gains_more")
    assert c.delta is None
    assert c.verdict == "inconclusive"
    assert [e["why"] for e in c.excluded] == ["not weak-to-strong"]


def test_one_strong_model_leaves_the_claim_untestable(tmp_path):
    out = write_ladder_fixture(tmp_path / "r", 400, TEACHERS, {"gemma": 0.8}, {("small", "gemma"): 0.64})
    c = claim(out, "stronger_student_gains_more")
    assert c.reason.startswith("not testable here: needs two strong models")


def test_findings_show_each_panel_with_its_verdict(tmp_path):
    claims = [
        asdict(c)
        for c in evaluate_claims(
            write_ladder_fixture(tmp_path / "r", 2000, TEACHERS, CEILINGS, LADDER_STUDENTS)
        )
    ]
    rows = [r for r in panels_section(claims) if r.startswith("| a stronger student")]
    assert len(rows) == 2
    assert all(r.endswith("| reproduced |") for r in rows)
    one = [
        c | {"extra": {"by_panel": dict(list(c["extra"].get("by_panel", {}).items())[:1])}} for c in claims
    ]
    assert panels_section(one) == []  # one panel per claim: nothing beyond the pooled verdicts


def test_the_verdicts_picture_shows_each_interval_its_mde_and_the_papers_range(tmp_path):
    from empirics.readers.plots import verdicts

    claims = [
        asdict(c)
        for c in evaluate_claims(
            write_ladder_fixture(tmp_path / "r", 2000, TEACHERS, CEILINGS, LADDER_STUDENTS)
        )
    ]
    reverse = {**claims[0], "key": "reverse_kl_beats_forward_kl", "verdict": "inconclusive", "extra": {}}
    reverse |= {"delta": 0.001, "ci95": (-0.002, 0.004), "mde": 0.0045}
    shown = verdicts([reverse, *claims], tmp_path / "v.png")
    assert (tmp_path / "v.png").stat().st_size > 0
    decided = [c for c in claims if c["delta"] is not None and c["verdict"] != "identity"]
    pooled = shown["errorbars"]["pooled"]
    assert pooled["y"] == pytest.approx([0.1] + [100 * c["delta"] for c in decided])
    assert pooled["low"] == pytest.approx([-0.2] + [100 * c["ci95"][0] for c in decided])
    assert pooled["high"] == pytest.approx([0.4] + [100 * c["ci95"][1] for c in decided])
    n_panels = sum(len(c["extra"]["by_panel"]) for c in decided if len(c["extra"]["by_panel"]) > 1)
    assert len(shown["errorbars"]["per panel"]["y"]) == n_panels
    assert len(shown["rows"]) == len(decided) + 1 + n_panels
    assert shown["lines"]["+MDE"][0] == pytest.approx(0.45)
    assert shown["lines"]["-MDE"][0] == pytest.approx(-0.45)
    assert shown["spans"] == [pytest.approx([0.6, 1.8])]  # on the reverse-KL row only
