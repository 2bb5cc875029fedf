"""Trackers for fine-tuning runs (--log-with): every step's record reaches the tracker, one tracker run per
fine-tuning run (full and top-block), and the record equals the run's train_log.json; a real TensorBoard
tracker writes event files that read back to the same losses; an unknown or uninstalled tracker is one line
before any work; no tracker changes a number."""

import json

import pytest
from accelerate.tracking import GeneralTracker

from core.errors import ConfigError
from empirics.cli import main
from empirics.runs.sweep import run_sweep
from empirics.training import tracking
from tests.empirics.fixtures import tiny_sweep


class Capture(GeneralTracker):
    """An in-memory tracker: each run's steps, split where the run ends."""

    name, requires_logging_directory, main_process_only = "capture", False, True

    def __init__(self):
        super().__init__()
        self.runs, self.current = [], []

    @property
    def tracker(self):
        return self

    def log(self, values, step=None, **kwargs):
        self.current.append({"step": step, **values})

    def finish(self):
        self.runs.append(self.current)
        self.current = []


def _logged(out):
    """Each fine-tuning run's train_log.json rows, without the throughput (time-dependent)."""
    logs = []
    for path in sorted(out.glob("*/train_log.json")):
        rows = json.loads(path.read_text())["steps"]
        logs.append([{k: v for k, v in r.items() if k != "pairs_per_s"} for r in rows])
    return logs


@pytest.mark.parametrize("trainable_blocks", [None, 1])
def test_every_step_of_every_fine_tuning_run_reaches_the_tracker(trainable_blocks, data_dir, tmp_path):
    sw = tiny_sweep(data_dir, pairs=["tiny-bert:tiny-qwen2"], losses=["forward_ce", "reverse_kl"])
    sw = sw.with_options({"trainable_blocks": trainable_blocks, "batch_size": 4})
    plain, tracked = tmp_path / "plain", tmp_path / "tracked"
    run_sweep(sw, plain)
    capture = Capture()
    run_sweep(sw, tracked, log_with=[capture])
    got = [[{k: v for k, v in r.items() if k != "pairs_per_s"} for r in run] for run in capture.runs]
    want = _logged(tracked)
    assert len(want) == 4  # weak, ceiling, two students
    assert sorted(map(json.dumps, got)) == sorted(map(json.dumps, want))
    assert all(len(run) > 1 for run in got)
    for name in ("metrics.json", "predictions_test.jsonl"):  # tracking changes no number
        for run in plain.glob(f"*/{name}"):
            assert (tracked / run.parent.name / name).read_bytes() == run.read_bytes()


def test_tensorboard_event_files_hold_each_runs_losses(data_dir, tmp_path):
    pytest.importorskip("tensorboard", reason="the [tracking] extra installs TensorBoard (CI has it)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "o"
    assert main(["sweep", "--preset", "tiny", "--losses", "forward_ce", "--noises", "none", "--data-dir",
                 str(data_dir), "--out", str(out), "--log-with", "tensorboard"]) == 0  # fmt: skip
    for log_path in sorted(out.glob("*/train_log.json")):
        rows = json.loads(log_path.read_text())["steps"]
        (events,) = (out / "tracking" / log_path.parent.name).rglob("events.out.tfevents.*")
        acc = EventAccumulator(str(events)).Reload()
        scalars = acc.Scalars("loss")
        assert [s.step for s in scalars] == [r["step"] for r in rows]
        assert [s.value for s in scalars] == pytest.approx([r["loss"] for r in rows], rel=1e-6)


def test_an_unknown_or_missing_tracker_is_refused_before_any_work(data_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "o"
    argv = ["sweep", "--preset", "tiny", "--data-dir", str(data_dir), "--out", str(out), "--log-with"]
    assert main([*argv, "neptune"]) == 2
    assert "--log-with neptune: unknown tracker" in capsys.readouterr().err
    monkeypatch.setattr(tracking, "installed", lambda module: False)
    assert main([*argv, "wandb"]) == 2
    assert "--log-with wandb: wandb is not installed (pip install wandb)" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(ConfigError, match="tensorboard is not installed"):
        tracking.check_trackers(["tensorboard"])
