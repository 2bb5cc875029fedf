"""The theory report: exact table text on a fixture result, and the files it writes."""

import json

import numpy as np

from theory.check_result import CheckResult, ReportPart
from theory.checks import render_suprema
from theory.report import markdown_table, write_report


def _fixture():
    searches = [
        {
            "gamma": 0.01,
            "k": 2,
            "direction": "forward",
            "best_ratio": 14.07,
            "c_sharp": 14.0712,
            "c2": 14.1421,
            "c1": 70.71,
            "ratio_to_c_sharp": 0.99992,
        }
    ]
    return CheckResult(
        "lemma1",
        "Lemma 1",
        "|gap| <= C sqrt(d)",
        "paper form",
        np.array([0.1, 0.5, 0.2]),
        np.array([1.0, 0.4, 0.3]),
        1e-12,
        "max ratio 1.25",
        {"searches": searches},
        [ReportPart(10, "adversarial_suprema", searches, render_suprema)],
    )


def test_violations_and_worst_slack_are_computed_from_both_sides():
    r = _fixture()
    assert r.instances == 3
    assert r.violations == 1
    assert r.worst_slack == np.float64(0.4 - 0.5)


def test_markdown_table_exact_text():
    assert markdown_table([_fixture()]) == (
        "| item | statement | provenance | instances | violations | worst slack | tightness |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        "| Lemma 1 | \\|gap\\| <= C sqrt(d) | paper form | 3 | 1 | -0.1 | max ratio 1.25 |\n"
    )


def test_write_report_files(tmp_path):
    path = write_report([_fixture()], tmp_path, "test")
    assert path.read_text().startswith("# Theory report")
    data = json.loads((tmp_path / "theory_report.json").read_text())
    assert data["checks"][0]["violations"] == 1
    assert data["environment"]["packages"]["numpy"]
    assert data["adversarial_suprema"][0]["best_ratio"] == 14.07  # the part's data, under its key
    assert "| 0.01 | 2 | forward | 14.070000 |" in path.read_text()  # and its section, rendered
    assert (tmp_path / "tightness_vs_gamma.png").stat().st_size > 1000


def test_a_partial_paper_checks_run_leaves_the_full_report_alone(tmp_path):
    """`pytest paper_checks -k ...` writes its report under partial/, never over the full one."""
    import subprocess
    import sys

    full = tmp_path / "theory_report.json"
    full.write_text('{"the": "full report"}')
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "paper_checks",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        "identity_I1",
        "--report-dir",
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert full.read_text() == '{"the": "full report"}'
    partial = json.loads((tmp_path / "partial" / "theory_report.json").read_text())
    assert [c["key"] for c in partial["checks"]] == ["I1"]
    assert "partial: -k identity_I1" in partial["command"]
