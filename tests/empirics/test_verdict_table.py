"""The README's verdict tables (empirics.readers.verdict_table): each cell says the verdict, the interval, the
Holm p of its own family and the MDE with its shortfall; regimes come in the README's order; per-panel rows
only where a claim has several panels; the CLI writes between the markers and nowhere else."""

import json
from dataclasses import asdict

import numpy as np
import pytest

from empirics.cli import main
from empirics.readers import verdict_table as vt
from empirics.readers.claims import ClaimResult, _fill
from empirics.readers.inference import Estimate, crossed_estimate


def _claim(key, verdict="inconclusive", delta=0.0012, ci=(-0.003, 0.0054), **kw):
    c = {
        "key": key,
        "verdict": verdict,
        "delta": delta,
        "ci95": list(ci),
        "p_holm": 0.5,
        "mde": 0.0071,
        "mde_goal": 0.01,
        "seeds": 12,
        "seeds_for_goal": 5,
        "extra": {},
    }
    return c | kw


def _regime(root, name, claims):
    (root / name / "audit").mkdir(parents=True)
    (root / name / "audit" / "claims.json").write_text(json.dumps(claims))


def test_cells_say_verdict_interval_p_and_mde():
    assert vt.cell(_claim("x")) == "inconclusive: +0.12 [-0.30, +0.54], MDE 0.71"
    decided = _claim("x", "contradicted", -0.0135, (-0.0205, -0.0064), p_holm=0.00864)
    assert vt.cell(decided) == "**contradicted**: -1.35 [-2.05, -0.64], p 0.0086, MDE 0.71"
    panel = decided | {"p_holm": 0.9, "p_holm_panels": 0.012}
    assert vt.cell(panel, "p_holm_panels").endswith("p 0.012, MDE 0.71")  # the panels' own family
    short = _claim("x", mde=0.0146, seeds_for_goal=33)
    assert vt.cell(short).endswith("MDE 1.46 (goal 1: not met; 33 seeds would meet it)")
    assert vt.cell(_claim("x", mde=0.0146, seeds_for_goal=None)).endswith("> 200 seeds would meet it)")
    assert vt.cell(_claim("x", "identity", max_abs_dprob=3.2e-7)) == "identity (predictions agree to 3.2e-07)"
    assert vt.cell(_claim("x", delta=None)) == "-"


def test_a_shortfall_past_the_audits_200_seeds_is_projected_from_the_saved_components():
    """A claim as the audit saves it (_fill, asdict, JSON) whose goal needs more seeds than the audit looks
    for (200): the cell gives the count the estimate itself projects, from the saved numbers alone. Seed sd
    15 points on 33 seeds x 3,000 pairs: about 1,750 seeds for an MDE of 1 point."""
    rng = np.random.default_rng(5)
    d = 0.05 + rng.normal(0, 0.15, (33, 1)) + rng.normal(0, 0.1, (1, 3000)) + rng.normal(0, 1, (33, 3000))
    e = crossed_estimate(d)
    res = ClaimResult("stronger_teacher_stronger_student", "x", "reproduced", p_holm=1e-6, mde_goal=0.01)
    _fill(res, e, d)
    res.seeds_for_goal = e.seeds_for(0.01)
    saved = json.loads(json.dumps(asdict(res)))
    assert saved["seeds_for_goal"] is None  # past the audit's 200
    need = e.seeds_for(0.01, most=vt.MOST_SEEDS)
    assert 200 < need < vt.MOST_SEEDS
    assert vt.cell(saved).endswith(f"(goal 1: not met; {need} seeds would meet it)")
    back = Estimate.from_saved(saved)
    assert back.var_seed_means == pytest.approx(e.var_seed_means, rel=1e-9)
    assert back.mde_with(need) == pytest.approx(e.mde_with(need), rel=1e-9)


def test_the_pooled_table_has_a_column_per_regime_in_the_readme_order(tmp_path):
    _regime(tmp_path, "zz-other", [_claim("reverse_kl_beats_forward_kl", seeds=4)])
    _regime(tmp_path, "ladder-harmless", [_claim("reverse_kl_beats_forward_kl", seeds=33)])
    _regime(tmp_path, "last-layer", [_claim("reverse_kl_beats_forward_kl"), _claim("confidence_helps")])
    lines = vt.markdown(tmp_path).splitlines()
    columns = "last layer, 12 seeds | ladder, harmless, 33 seeds | zz-other, 4 seeds"
    assert lines[0] == f"| claim (a > b) | {columns} |"
    cell = "inconclusive: +0.12 [-0.30, +0.54], MDE 0.71"
    assert lines[2] == f"| reverse KL > forward KL | {cell} | {cell} | {cell} |"
    assert lines[3] == f"| confidence > forward CE | {cell} | - | - |"  # not in the others: "-"
    assert len(lines) == 4  # claims no regime has are not rows; no claim has panels


def test_a_regime_with_panels_gets_its_per_panel_table(tmp_path):
    panels = {
        "smol@50 -> gemma (logistic)": _claim("p", "reproduced", 0.02, (0.01, 0.03), p_holm_panels=0.004),
        "smol@50 -> qwen (logistic)": _claim("p", p_holm_panels=0.8),
    }
    one = {"gemma@400 -> qwen (logistic)": _claim("p", p_holm_panels=0.8)}
    _regime(
        tmp_path,
        "ladder-helpful",
        [
            _claim("reverse_kl_beats_forward_kl", extra={"by_panel": panels}),
            _claim("confidence_helps", extra={"by_panel": one}),  # one panel: the pooled row says it all
        ],
    )
    text = vt.markdown(tmp_path)
    assert "Per panel, ladder, helpful (12 seeds):" in text
    rows = [line for line in text.splitlines() if "(logistic)" in line]
    claim = "| reverse KL > forward KL |"
    assert rows == [
        f"{claim} smol@50 -> gemma (logistic) | **reproduced**: +2.00 [+1.00, +3.00], p 0.004, MDE 0.71 |",
        f"{claim} smol@50 -> qwen (logistic) | inconclusive: +0.12 [-0.30, +0.54], MDE 0.71 |",
    ]


def test_every_claim_has_a_label():
    from empirics.readers.claims import CLAIMS

    assert list(vt.LABELS) == [c.key for c in CLAIMS]


def test_the_cli_writes_between_the_markers_only(tmp_path, capsys):
    _regime(tmp_path / "ref", "last-layer", [_claim("reverse_kl_beats_forward_kl")])
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{vt.BEGIN}\nstale | table\n{vt.END}\nafter\n")
    assert main(["verdict-table", str(tmp_path / "ref"), "--readme", str(readme)]) == 0
    block = vt.markdown(tmp_path / "ref")
    assert capsys.readouterr().out == block
    assert readme.read_text() == f"# title\n\nbefore\n{vt.BEGIN}\n{block}{vt.END}\nafter\n"
    assert vt.shown_in(readme.read_text()) == block
    assert main(["verdict-table", str(tmp_path / "ref"), "--readme", str(readme)]) == 0  # idempotent
    assert readme.read_text() == f"# title\n\nbefore\n{vt.BEGIN}\n{block}{vt.END}\nafter\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verdict-table", "{tmp}/nowhere"], "no audited regime"),
        (["verdict-table", "{tmp}/ref", "--readme", "{tmp}/missing.md"], "README not found"),
        (["verdict-table", "{tmp}/ref", "--readme", "{tmp}/plain.md"], "no <!-- verdict-table: begin -->"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    _regime(tmp_path / "ref", "last-layer", [_claim("reverse_kl_beats_forward_kl")])
    (tmp_path / "plain.md").write_text("# no markers\n")
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1, err
    assert (tmp_path / "plain.md").read_text() == "# no markers\n"
