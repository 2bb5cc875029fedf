"""Readers verify what they join (empirics.readers.records): each way a results folder can disagree with
itself is
refused by summary, claims and audit alike, in one line naming the file, with exit status 2 from the CLI;
the untouched folder reads."""

import json
import math
import re

import pytest

from core.errors import DataError
from empirics.cli import main
from empirics.plans.spec import RunSpec
from empirics.readers.claims import CLAIMS, evaluate_claims

from .fixtures import student_dir, write_claim_fixture


def _rows(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _edit_rows(folder, edit):
    path = student_dir(folder, "forward_kl", 1) / "predictions_test.jsonl"
    _write(path, edit(_rows(path)))
    return path


def _edit_metrics(folder, edit):
    path = student_dir(folder, "reverse_kl", 2) / "metrics.json"
    m = json.loads(path.read_text())
    edit(m)
    path.write_text(json.dumps(m))
    return path


TEACHER = RunSpec("weak", "weak", 0, "logistic").name


def _swap_labels(rows):
    rows[0]["label"], rows[1]["label"] = rows[1]["label"], rows[0]["label"] + 0  # a swap of unequal labels
    if rows[0]["label"] == rows[1]["label"]:
        rows[0]["label"] = 1 - rows[0]["label"]
    return rows


CASES = {
    "duplicated id": (
        lambda f: _edit_rows(f, lambda r: [r[0], r[0], *r[2:]]),
        "row 2 has id 't0', which appears",
    ),
    "shuffled rows": (lambda f: _edit_rows(f, lambda r: [r[1], r[0], *r[2:]]), "row 1 has id 't1'"),
    "renamed ids": (
        lambda f: _edit_rows(f, lambda r: [{**x, "id": "z" + x["id"]} for x in r]),
        "row 1 has id 'zt0'",
    ),
    "swapped labels": (lambda f: _edit_rows(f, _swap_labels), "pair 't0' has label"),
    "a row dropped": (lambda f: _edit_rows(f, lambda r: r[:-1]), "199 rows"),
    "weak_prob not the teacher's": (
        lambda f: _edit_rows(f, lambda r: [{**x, "weak_prob": 0.5} for x in r]),
        "weak_prob differs from its teacher",
    ),
    "prob missing": (
        lambda f: _edit_rows(f, lambda r: [{k: v for k, v in x.items() if k != "prob"} for x in r]),
        "lacks a readable",
    ),
    "prob not a number": (
        lambda f: _edit_rows(f, lambda r: [{**x, "prob": "high"} for x in r]),
        "lacks a readable",
    ),
    "prob NaN": (
        lambda f: _edit_rows(f, lambda r: [{**x, "prob": math.nan} for x in r]),
        "outside [0, 1] or NaN",
    ),
    "prob above 1": (
        lambda f: _edit_rows(f, lambda r: [{**x, "prob": 1.5} for x in r]),
        "outside [0, 1] or NaN",
    ),
    "metric NaN": (
        lambda f: _edit_metrics(f, lambda m: m["test"].update(accuracy=math.nan)),
        "test.accuracy is nan",
    ),
    "accuracy above 1": (
        lambda f: _edit_metrics(f, lambda m: m["test"].update(accuracy=1.2)),
        "outside [0, 1]",
    ),
    "teacher's metrics deleted": (
        lambda f: (f / TEACHER / "metrics.json").unlink(),
        "a run of this folder's sweep is missing or unfinished",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_folder_that_disagrees_with_itself_is_refused(case, tmp_path, capsys):
    folder = write_claim_fixture(tmp_path / "f", 200, 0.7, 0.6)
    assert len(evaluate_claims(folder)) == len(CLAIMS)  # the untouched folder reads
    damage, message = CASES[case]
    damage(folder)
    with pytest.raises(DataError, match=re.escape(message)):
        evaluate_claims(folder)
    for command in (["summarize", str(folder)], ["audit", str(folder)]):
        assert main(["-q", *command]) == 2, case
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(err) == 1, err
        assert message in err[0], err
        assert str(folder) in err[0], err


@pytest.mark.parametrize("content", ["[]", "null", '{"experiment": "x"}', "{"])
def test_a_results_folder_whose_sweep_json_is_not_a_sweep_is_refused(content, tmp_path, capsys):
    folder = write_claim_fixture(tmp_path / "f", 200, 0.7, 0.6)
    (folder / "sweep.json").write_text(content)
    assert main(["-q", "audit", str(folder)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert err[0].count(str(folder / "sweep.json")) == 1, err  # named, and once
