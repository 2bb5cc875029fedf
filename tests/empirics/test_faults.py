"""Faults: kill -9 at several moments then resume, resume on other data, tampered and truncated caches and
predictions, concurrent sweeps, a full disk, a teacher that does not match, a diverging loss. Every fault is
refused with one line or recovered from, with nothing mixed or lost: resumed results are byte-identical to an
uninterrupted run's."""

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from empirics.cli import main

ARGS = [
    "sweep",
    "--preset",
    "tiny",
    "--losses",
    "forward_ce",
    "reverse_kl",
    "--noises",
    "none",
    "--n-pairs",
    "8",
]
LAST_LAYER = [
    "--mode",
    "last_layer",
    "--pairs",
    "tiny-bert:tiny-qwen2",
    "--heads",
    "logistic",
    "--n-pairs",
    "8",
]

KILLER = """
import os, signal, sys
count = [0]
point, n = os.environ["KILL_POINT"], int(os.environ["KILL_AT"])

def maybe_die():
    count[0] += 1
    if count[0] == n:
        os.kill(os.getpid(), signal.SIGKILL)

if point == "replace":  # just before the n-th atomic rename: a temporary file is left behind
    import core.io
    real = core.io.os.replace
    def replace(a, b):
        maybe_die()
        return real(a, b)
    core.io.os.replace = replace
else:  # during the n-th training
    import empirics.training.trainers
    real = empirics.training.trainers.Trainer.fit_predict
    def fit(self, *a, **k):
        maybe_die()
        return real(self, *a, **k)
    empirics.training.trainers.Trainer.fit_predict = fit
from empirics.cli import main
sys.exit(main(sys.argv[1:]))
"""


def results(out: Path) -> dict[str, bytes]:
    """What a sweep computed: every run's metrics and predictions (config.json records times)."""
    files = [*out.glob("*/metrics.json"), *out.glob("*/predictions_*.jsonl")]
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(files)}


def sweep(out, data, *extra) -> int:
    return main([*ARGS, "--data-dir", str(data), "--out", str(out), *extra])


@pytest.fixture
def reference(data_dir, tmp_path):
    out = tmp_path / "reference"
    assert sweep(out, data_dir) == 0
    snap = results(out)
    assert (
        len(snap) == 7 * 3
    )  # 3 baselines, weak, ceiling, two students: metrics + two predictions files each
    return snap


@pytest.mark.parametrize(("point", "at"), [("replace", 1), ("replace", 6), ("train", 3), ("replace", 11)])
def test_kill_9_then_resume_is_identical(point, at, data_dir, tmp_path, reference):
    """Killed before sweep.json is renamed into place, between a run's files, during a training, and in the
    last run: the rerun finishes, leaves no temporary file, and every number equals the uninterrupted
    run's."""
    out = tmp_path / "killed"
    env = {**os.environ, "KILL_POINT": point, "KILL_AT": str(at)}
    argv = [*ARGS, "--data-dir", str(data_dir), "--out", str(out)]
    proc = subprocess.run([sys.executable, "-c", KILLER, *argv], env=env, capture_output=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert results(out) != reference  # it really was interrupted
    assert sweep(out, data_dir) == 0
    assert results(out) == reference
    assert not list(out.rglob(".*.tmp*"))


def test_resume_with_other_data_is_refused(data_dir, tmp_path, capsys):
    out = tmp_path / "o"
    assert sweep(out, data_dir) == 0
    before = results(out)
    lines = (data_dir / "test.jsonl").read_text().splitlines()
    row = json.loads(lines[3])
    row["chosen"] += " (edited)"
    lines[3] = json.dumps(row)
    (data_dir / "test.jsonl").write_text("\n".join(lines) + "\n")
    assert sweep(out, data_dir) == 2
    err = capsys.readouterr().err
    assert "holds runs of different data (differs in splits.test.content_hash)" in err
    assert results(out) == before  # nothing was touched


@pytest.mark.parametrize(
    ("sweep_json", "change", "differs"),
    [
        ("deleted", ["--gamma", "0.01"], "gamma"),
        ("deleted", ["--lr", "0.002"], "lr"),
        ("deleted", "data", "data (content hash)"),
        ("without provenance", "data", "data (content hash)"),  # the experiment part still guards the rest
    ],
)
def test_a_resume_checks_each_finished_runs_own_record(
    sweep_json, change, differs, data_dir, tmp_path, capsys
):
    """Whatever sweep.json says, or if it is gone, a finished run whose config.json records other settings or
    other data is refused by name, and nothing is written (sweep.json is not rewritten to describe it)."""
    out = tmp_path / "o"
    assert sweep(out, data_dir) == 0
    before = results(out)
    if sweep_json == "deleted":
        (out / "sweep.json").unlink()
    else:
        record = json.loads((out / "sweep.json").read_text())
        del record["provenance"]  # as folders were written before it existed
        (out / "sweep.json").write_text(json.dumps(record))
    saved_sweep = (out / "sweep.json").read_bytes() if (out / "sweep.json").exists() else None
    if change == "data":
        rows = [json.loads(x) for x in (data_dir / "test.jsonl").read_text().splitlines()]
        rows[3]["chosen"] += " (edited)"
        (data_dir / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        change = []
    capsys.readouterr()
    assert sweep(out, data_dir, *change) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert "config.json records a run made otherwise" in err[0], err
    assert f"differs in {differs}" in err[0], err
    assert "baseline__" in err[0], err
    assert results(out) == before
    now = (out / "sweep.json").read_bytes() if (out / "sweep.json").exists() else None
    assert now == saved_sweep


@pytest.mark.parametrize("content", ["[]", "null", '{"experiment": "x"}', '{"provenance": 3}'])
def test_a_resume_into_a_folder_whose_sweep_json_is_not_a_sweep_is_refused(
    content, data_dir, tmp_path, capsys
):
    out = tmp_path / "o"
    assert sweep(out, data_dir) == 0
    before = results(out)
    (out / "sweep.json").write_text(content)
    capsys.readouterr()
    assert sweep(out, data_dir) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert "sweep.json: not a sweep record" in err[0], err
    assert results(out) == before


def test_a_student_refuses_a_teacher_made_for_other_pairs(data_dir, tmp_path, capsys):
    out = tmp_path / "o"
    assert sweep(out, data_dir) == 0
    weak = next(out.glob("weak__*"))
    rows = (weak / "predictions_test.jsonl").read_text().splitlines()
    rows[0], rows[1] = rows[1], rows[0]  # same rows, other order: the pairs no longer line up
    (weak / "predictions_test.jsonl").write_text("\n".join(rows) + "\n")
    student = next(out.glob("student__*reverse_kl*"))
    (student / "metrics.json").unlink()  # so that the student is trained again
    assert sweep(out, data_dir) == 2
    assert "predictions_test.jsonl: ids differ from the test pairs" in capsys.readouterr().err


def test_truncated_predictions_are_refused_by_readers_and_redone_by_a_resume(
    data_dir, tmp_path, capsys, reference
):
    out = tmp_path / "o"
    assert sweep(out, data_dir) == 0
    student = next(out.glob("student__*forward_ce*"))
    path = student / "predictions_test.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:4]))
    assert main(["summarize", str(out)]) == 2
    assert f"{path}: damaged (4 rows, the run recorded 8)" in capsys.readouterr().err
    assert main(["audit", str(out)]) == 2
    assert sweep(out, data_dir) == 0  # the damaged run is redone, the others are kept
    assert results(out) == reference


@pytest.mark.parametrize("damage", ["tamper", "truncate", "other record"])
def test_a_damaged_feature_cache_is_a_miss_never_reused(damage, data_dir, tmp_path):
    clean = tmp_path / "clean"
    assert sweep(clean, data_dir, *LAST_LAYER) == 0
    expected = results(clean)
    cache = Path(os.environ["W2S_CACHE"]) / "features"
    path = max(cache.glob("*.npz"), key=lambda p: p.stat().st_mtime)
    with np.load(path) as z:
        arrays = dict(z)
    if damage == "tamper":  # the values change, the file stays a valid npz with the old checksum
        arrays["first"] = arrays["first"][::-1].copy()
        np.savez(path.with_suffix(""), **arrays)
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:  # a file made with another max length under this name
        record = json.loads(str(arrays["record"]))
        record["max_length"] += 1
        arrays["record"] = np.array(json.dumps(record))
        np.savez(path.with_suffix(""), **arrays)
    again = tmp_path / "again"
    with pytest.warns(UserWarning, match="feature cache .*; recomputing"):
        assert sweep(again, data_dir, *LAST_LAYER) == 0
    assert results(again) == expected


def test_a_second_sweep_into_a_folder_in_use_is_refused(data_dir, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    with open(out / ".sweep.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another sweep holds the folder
        assert sweep(out, data_dir) == 2
    assert "is in use by another sweep" in capsys.readouterr().err
    assert not list(out.glob("*/metrics.json"))


def test_a_full_disk_stops_with_one_line_and_the_resume_completes(
    data_dir, tmp_path, capsys, monkeypatch, reference
):
    out = tmp_path / "o"
    real = Path.write_text
    calls = []

    def full_after_a_while(self, *a, **k):
        if str(self).startswith(str(out)):
            calls.append(self)
            if len(calls) > 13:  # sweep.json, two whole runs (a claim, 4 files, timing.json each), then full
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full_after_a_while)
    assert sweep(out, data_dir) == 3
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(err) == 1
    assert "cannot write" in err[0]
    assert "No space left on device" in err[0]
    assert len(list(out.glob("*/metrics.json"))) == 2  # the finished runs (two baselines) are intact
    assert not list(out.rglob(".*.tmp*"))
    monkeypatch.setattr(Path, "write_text", real)
    assert sweep(out, data_dir) == 0
    assert results(out) == reference


def test_a_diverging_loss_fails_its_run_and_reports_no_numbers(data_dir, tmp_path, monkeypatch):
    import empirics.training.losses as losses

    real = losses.Loss.__call__

    def nan_for_reverse_kl(self, logits, labels, step_frac=0.0, gather=None):
        value = real(self, logits, labels, step_frac, gather)
        return value * float("nan") if self.name == "reverse_kl" else value

    monkeypatch.setattr(losses.Loss, "__call__", nan_for_reverse_kl)
    out = tmp_path / "o"
    assert sweep(out, data_dir) == 1
    failures = json.loads((out / "failures.json").read_text())
    assert len(failures) == 1
    assert "reverse_kl" in failures[0]["run"]
    assert "non-finite loss nan at step 1 of 1" in failures[0]["error"]
    assert not (out / failures[0]["run"] / "metrics.json").exists()
    for m in out.glob("*/metrics.json"):
        assert "NaN" not in m.read_text()


def test_a_moved_data_folder_with_the_same_content_resumes(data_dir, tmp_path):
    import shutil

    out = tmp_path / "o"
    assert sweep(out, data_dir) == 0
    before = results(out)
    moved = shutil.copytree(data_dir, tmp_path / "elsewhere")
    assert sweep(out, moved) == 0  # where the data lies is not what it is
    assert results(out) == before
