"""The documented Python API: `import empirics` exports what a notebook needs, loads no torch until used, and
the example script (examples/tiny_sweep.py) runs a tiny sweep and prints its verdicts."""

import subprocess
import sys
from pathlib import Path

import pytest

import empirics
from empirics.readers.claims import CLAIMS

ROOT = Path(__file__).resolve().parents[2]


def test_every_export_resolves_and_nothing_else_does():
    assert sorted(dir(empirics)) == sorted(empirics.__all__)
    for name in empirics.__all__:
        assert getattr(empirics, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'train'"):
        empirics.train  # noqa: B018


def test_import_loads_no_torch():
    code = "import sys, empirics; empirics.preset('tiny'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_the_example_runs_a_sweep_and_prints_every_verdict(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import tiny_sweep
    finally:
        sys.path.remove(str(ROOT / "examples"))
    assert tiny_sweep.main(["--out", str(tmp_path / "res")]) == 0
    printed = capsys.readouterr().out
    for claim in CLAIMS:
        assert f"- {claim.statement}: " in printed, claim.key
    runs = empirics.load_runs(tmp_path / "res")
    students = [r for r in runs if r.spec.role == "student"]
    assert {(r.spec.loss, r.spec.seed) for r in students} == {
        (loss, seed) for loss in ("forward_kl", "reverse_kl") for seed in (0, 1)
    }
    accuracy = {r.spec.role for r in runs if r.test["accuracy"] < 1}
    assert "weak" in accuracy  # the example's data is not trivially separable
