"""A sweep carried between machines in stages (``--only-models``, ``snapshot``, ``unpack``): the first machine
makes the runs that read its models and the planted truth; the second, with an empty feature cache and the
first stage's models made unloadable, makes the rest from the snapshot; the finished folder and its audit
are byte for byte those of one uninterrupted sweep."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from empirics.cli import main
from empirics.plans.grid import dependencies, planned_runs, stage_runs
from empirics.registries.models import trained_on
from empirics.runs.planted import planted_inputs_file, planted_truth
from empirics.runs.sweep import run_sweep

from .fixtures import run_files, tiny_sweep

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ["tiny-bert@12:tiny-gpt2", "tiny-bert@12:tiny-qwen2", "tiny-gpt2@12:tiny-qwen2"]
FIRST = ["tiny-bert", "tiny-gpt2"]  # the first machine's models; tiny-qwen2 waits for the second
GRID = dict(pairs=PAIRS, losses=["forward_ce", "reverse_kl"], heads=["logistic"], seeds=[0, 1])
AUDIT = ("claims.json", "audit.json", "planted.json", "planted.md")


def _sweep(data_dir):
    return tiny_sweep(data_dir, "last_layer", 16, **GRID)


def _models(run) -> set[str]:
    """The models whose features a run reads (a rule reads none)."""
    if run.role == "baseline":
        return set()
    return {trained_on(m)[0] for m in (run.model, run.weak_model) if m}


def test_a_stage_is_its_models_runs_whose_teachers_are_in_it_or_finished(data_dir):
    runs = planned_runs(_sweep(data_dir))
    first = stage_runs(runs, FIRST, "last_layer")
    rest = [r for r in runs if r not in first]
    assert {m for r in first for m in _models(r)} == set(FIRST)
    assert all(trained_on(r.model)[0] == "tiny-qwen2" for r in rest)
    assert rest
    assert len(first) > 10
    assert all(d in first for r in first for d in dependencies(r, "last_layer"))
    assert [r for r in runs if r in first] == first  # the planned order kept
    assert stage_runs(runs, [*FIRST, "tiny-qwen2"], "last_layer") == runs
    # tiny-qwen2 alone: on a fresh folder its ceilings (and the rules) only, its students wait for their
    # teachers; once the first stage is finished, everything that is left
    alone = stage_runs(runs, ["tiny-qwen2"], "last_layer")
    assert {r.role for r in alone} == {"baseline", "ceiling"}
    after = stage_runs(runs, ["tiny-qwen2"], "last_layer", finished=lambda r: r in first)
    assert [r for r in after if r.role != "baseline"] == [r for r in rest]


def _audit_file(out: Path, name: str) -> bytes:
    """An audit file's bytes (audit.json without the folder's own path)."""
    data = (out / "audit" / name).read_bytes()
    if name == "audit.json":
        report = json.loads(data)
        assert report.pop("results") == str(out)
        data = json.dumps(report, sort_keys=True).encode()
    return data


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "empirics.cli", "-q", *map(str, args)],
        cwd=ROOT,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_sweep_in_two_stages_on_two_machines_equals_one_sweep(data_dir, tmp_path, monkeypatch):
    sw = _sweep(data_dir)
    spec = tmp_path / "sweep.json"
    spec.write_text(json.dumps(sw.to_json()))
    whole = tmp_path / "whole"
    assert run_sweep(sw, whole)["failures"] == 0
    assert main(["audit", str(whole), "--planted"]) == 0

    # machine 1: the stage of its models, on two workers (each worker keeps to the stage)
    first = tmp_path / "m1" / "res"
    done = _cli("sweep", "--from-sweep", spec, "--out", first, "--workers", 2, "--only-models", *FIRST)
    assert done.returncode == 0, done.stdout + done.stderr
    made = {p.parent.name for p in first.glob("*__*/metrics.json")}
    assert made == {r.name for r in stage_runs(planned_runs(sw), FIRST, "last_layer")}
    assert set(json.loads((first / "timing.json").read_text())["features"]) == set(FIRST)  # theirs only
    assert planted_inputs_file(first, "tiny-bert@12").is_file()  # the planted pair is this stage's
    planted_truth(first)  # what `replicate --only-models` does after the stage
    snap = tmp_path / "m1" / "snapshot"
    assert main(["snapshot", str(first), str(snap)]) == 0
    assert not list(snap.glob("*__*"))  # packed
    assert not (snap / "planted_inputs").exists()  # no features

    # machine 2: an empty cache, and the first stage's models cannot be loaded
    monkeypatch.setenv("W2S_CACHE", str(tmp_path / "m2" / "cache"))
    import empirics.training.run_inputs

    real = empirics.training.run_inputs.load_backbone

    def only_the_second_stage(model, *a, **k):
        assert trained_on(model)[0] not in FIRST, f"machine 2 loaded {model}"
        return real(model, *a, **k)

    monkeypatch.setattr(empirics.training.run_inputs, "load_backbone", only_the_second_stage)
    second = tmp_path / "m2" / "res"
    assert main(["unpack", str(snap), str(second)]) == 0
    # the whole sweep's command, on two workers: the runs left are tiny-qwen2's, and so are the features
    done = _cli("sweep", "--from-sweep", spec, "--out", second, "--workers", 2)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(list((tmp_path / "m2" / "cache" / "features").glob("*.npz"))) == 3  # its three splits
    assert main(["audit", str(second), "--planted"]) == 0  # in this process: no model loaded

    assert run_files(second) == run_files(whole)
    assert len(run_files(whole)) == 4 * len(planned_runs(sw))  # config, metrics, 2 predictions files
    for name in AUDIT:
        assert _audit_file(second, name) == _audit_file(whole, name), name
    timing = json.loads((second / "timing.json").read_text())
    assert set(timing["features"]) == {"tiny-bert", "tiny-gpt2", "tiny-qwen2"}  # both machines' costs


def test_a_kept_planted_truth_is_used_only_for_its_own_pair(data_dir, tmp_path, monkeypatch):
    """Without its inputs, the planted truth keeps audit/planted.json only if it is this sweep's pair's."""
    out = tmp_path / "res"
    sw = tiny_sweep(data_dir, "last_layer", 16, ["tiny-bert@12:tiny-qwen2"], ["reverse_kl"], ["logistic"])
    assert run_sweep(sw, out)["failures"] == 0
    planted_truth(out)
    path = out / "audit" / "planted.json"
    first = json.loads(path.read_text())
    planted_inputs_file(out, "tiny-bert@12").unlink()
    assert planted_truth(out) == first  # kept
    path.write_text(json.dumps(first | {"strong_model": "tiny-gpt2"}))
    with pytest.raises(Exception, match="reads only what the sweep saved"):
        planted_truth(out)  # another pair's result is not this sweep's


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "--preset", "ladder-helpful", "--only-models", "gemma", "--dry-run"], "not a model of"),
        (["sweep", "--preset", "ladder-helpful", "--only-models", "--dry-run"], "expected at least one"),
        (["snapshot", "/nonexistent/results", "/tmp/x"], "nonexistent"),
        (["unpack", "/nonexistent/snapshot", "/tmp/nonexistent-dest"], "nonexistent"),
    ],
)
def test_bad_stage_and_snapshot_arguments_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]


def test_unpack_refuses_a_folder_that_holds_something(tmp_path, capsys):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    assert main(["unpack", str(tmp_path), str(dest)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert (dest / "keep.txt").read_text() == "mine"
