"""`w2s-empirics compare`: two results folders run by run. A copy compares equal; planted changes (flipped
test predictions, a run missing, a moved per-seed claim difference) are each reported where they were made; a
packed reference is unpacked first and keeps every prediction."""

import json
import shutil

import pytest

from core.io import jsonl_text, read_jsonl_rows
from empirics.cli import main
from empirics.readers.audit import audit
from empirics.readers.claims import write_claims
from empirics.readers.compare import compare_markdown, compare_results
from empirics.readers.reference import pack
from empirics.runs.sweep import run_sweep

from .fixtures import tiny_sweep


@pytest.fixture
def results(data_dir, tmp_path):
    out = tmp_path / "a"
    sw = tiny_sweep(
        data_dir,
        "last_layer",
        pairs=["tiny-bert@12:tiny-qwen2"],
        losses=["forward_ce", "reverse_kl"],
        heads=["logistic"],
        seeds=[0, 1],
    )
    assert run_sweep(sw, out)["failures"] == 0
    audit(out)
    write_claims(out)
    # tiny models decide no claim (none is weak-to-strong): one is given per-seed differences to compare
    claims = json.loads((out / "audit" / "claims.json").read_text())
    claims[0] |= {"per_seed": [0.01, -0.02], "seed_ids": [0, 1]}
    (out / "audit" / "claims.json").write_text(json.dumps(claims))
    return out


def test_a_copy_compares_equal_and_planted_changes_show_where_they_were_made(results, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(results, b)
    same = compare_results(results, b)
    t = same["totals"]
    assert t["runs_compared"] == len(list(results.glob("*/metrics.json"))) > 5
    assert (t["predictions_differing"], t["max_abs_logit_diff"], t["max_abs_accuracy_diff"]) == (0, 0.0, 0.0)
    assert t["verdicts_changed"] == []
    assert same["claims"]
    decided = [c for c in same["claims"] if c["max_abs_per_seed_diff"] is not None]
    assert decided
    assert all(c["seeds_compared"] == [0, 1] for c in decided)

    student = sorted(b.glob("student__*reverse*__s1"))[0]
    rows = read_jsonl_rows(student / "predictions_test.jsonl")
    for r in rows[:3]:
        r["logit"] = -r["logit"] if r["logit"] else 1.0
    (student / "predictions_test.jsonl").write_text(jsonl_text(rows))
    gone = sorted(b.glob("student__*forward*__s0"))[0]
    shutil.rmtree(gone)
    claims = json.loads((b / "audit" / "claims.json").read_text())
    moved = claims[0]
    moved["per_seed"][1] += 0.0123
    (b / "audit" / "claims.json").write_text(json.dumps(claims))

    report = compare_results(results, b)
    t = report["totals"]
    assert (t["predictions_differing"], t["runs_with_a_differing_prediction"]) == (3, 1)
    (row,) = [r for r in report["runs"] if r["predictions_differing"]]
    assert row["run"] == student.name
    assert report["only_a"] == [gone.name]
    assert report["only_b"] == []
    (claim,) = [c for c in report["claims"] if c["claim"] == moved["key"]]
    assert claim["max_abs_per_seed_diff"] == pytest.approx(0.0123)
    text = compare_markdown(report)
    assert f"| {student.name} |" in text
    assert "3 of" in text


def test_the_cli_unpacks_a_packed_reference_and_writes_its_report(results, tmp_path, capsys):
    pack(results, tmp_path / "packed")  # float16 logits: every sign kept
    assert main(["compare", str(tmp_path / "packed"), str(results), "--out", str(tmp_path / "cmp")]) == 0
    report = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert report["a"] == str(tmp_path / "packed")
    assert report["totals"]["predictions_differing"] == 0
    assert report["totals"]["max_abs_accuracy_diff"] == 0.0
    assert 0 < report["totals"]["max_abs_logit_diff"] < 1e-2  # float16 rounding, no more
    assert (tmp_path / "cmp" / "compare.md").read_text() in capsys.readouterr().out
    assert main(["compare", str(tmp_path / "nowhere"), str(results)]) == 2
    assert "results folder not found" in capsys.readouterr().err
