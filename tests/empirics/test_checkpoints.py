"""Resume inside a fine-tuning run (--checkpoint-every): kill -9 in the middle of a run, in one process and in
two (torchrun, gloo), rerun the same command, and every number equals an uninterrupted run's; the rerun really
went on from the checkpoint (not from step 0); a damaged or foreign checkpoint is a restart with a warning."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from empirics.cli import main
from empirics.training.checkpoints import CHECKPOINT_FOLDER, META, RunCheckpoints

# 16 pairs, 20 % held out, batch 2: 7 optimiser steps per run (weak, ceiling, two students)
ARGS = ["sweep", "--preset", "tiny", "--losses", "forward_ce", "reverse_kl", "--noises", "none"]
ARGS += ["--n-pairs", "16", "--batch-size", "2"]
WEAK = "weak__tiny-gpt2__full__s0"
STEPS = 7

# run the sweep and SIGKILL this process (rank 0 under torchrun) right after the n-th checkpoint is saved
KILLER = """
import os, signal, sys
import empirics.training.checkpoints as ck
n, count, real = int(os.environ["KILL_AFTER_SAVE"]), [0], ck.RunCheckpoints.save
def save(self, *a, **k):
    real(self, *a, **k)
    count[0] += 1
    if count[0] == n and os.environ.get("RANK", "0") == "0":
        os.kill(os.getpid(), signal.SIGKILL)
ck.RunCheckpoints.save = save
from empirics.cli import main
sys.exit(main(sys.argv[1:]))
"""


def results(out: Path) -> dict[str, bytes]:
    """What a sweep computed: every run's metrics and predictions."""
    files = [*out.glob("*/metrics.json"), *out.glob("*/predictions_*.jsonl")]
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(files)}


@pytest.fixture
def restored(monkeypatch):
    """The step each restore went on from, per run (a spy on RunCheckpoints.restore)."""
    seen, real = {}, RunCheckpoints.restore

    def spy(self, acc, print_):
        step, rows = real(self, acc, print_)
        seen[self.folder.name] = step
        return step, rows

    monkeypatch.setattr(RunCheckpoints, "restore", spy)
    return seen


@pytest.fixture
def reference(data_dir, tmp_path):
    out = tmp_path / "reference"
    assert main([*ARGS, "--data-dir", str(data_dir), "--out", str(out)]) == 0
    return results(out)


def _killed(data_dir, out, after: int, torchrun: bool = False) -> subprocess.CompletedProcess:
    script = out.parent / "killer.py"
    script.write_text(KILLER)
    argv = [*ARGS, "--data-dir", str(data_dir), "--out", str(out), "--checkpoint-every", "1"]
    launch = (
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
        if torchrun
        else [sys.executable]
    )
    env = {**os.environ, "KILL_AFTER_SAVE": str(after), "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([*launch, str(script), *argv], env=env, capture_output=True, text=True, timeout=900)


def test_checkpointing_changes_no_number_and_leaves_nothing_behind(data_dir, tmp_path, reference):
    out = tmp_path / "ck"
    assert main([*ARGS, "--data-dir", str(data_dir), "--out", str(out), "--checkpoint-every", "3"]) == 0
    assert results(out) == reference
    assert not (out / CHECKPOINT_FOLDER).exists()


def test_kill_9_mid_run_then_rerun_goes_on_from_the_checkpoint(data_dir, tmp_path, reference, restored):
    out = tmp_path / "killed"
    proc = _killed(data_dir, out, after=3)  # the weak model's run, after its third of seven steps
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    (saved,) = (out / CHECKPOINT_FOLDER / WEAK).glob("step-*")
    assert saved.name == "step-000000003"
    assert (saved / META).is_file()
    assert not (out / WEAK / "metrics.json").exists()  # the run itself was not finished
    assert main([*ARGS, "--data-dir", str(data_dir), "--out", str(out), "--checkpoint-every", "1"]) == 0
    assert restored[WEAK] == 3  # went on from step 3, not from 0
    assert results(out) == reference
    assert not (out / CHECKPOINT_FOLDER).exists()


@pytest.mark.parametrize("damage", ["weights", "meta", "foreign"])
def test_a_damaged_or_foreign_checkpoint_is_a_restart_with_a_warning(
    damage, data_dir, tmp_path, reference, restored
):
    out = tmp_path / "killed"
    assert _killed(data_dir, out, after=3).returncode == -signal.SIGKILL
    (saved,) = (out / CHECKPOINT_FOLDER / WEAK).glob("step-*")
    if damage == "weights":
        path = saved / "model.safetensors"
        data = bytearray(path.read_bytes())
        data[-100] ^= 0xFF  # one flipped byte inside the weights
        path.write_bytes(bytes(data))
    elif damage == "meta":
        (saved / META).write_text("{")
    else:  # another run's checkpoint in this run's place
        other = out / CHECKPOINT_FOLDER / "ceiling__tiny-qwen2__full__s0"
        shutil.copytree(out / CHECKPOINT_FOLDER / WEAK, other)
        shutil.rmtree(out / CHECKPOINT_FOLDER / WEAK)
    with pytest.warns(UserWarning, match="the run starts over from step 0"):
        assert main([*ARGS, "--data-dir", str(data_dir), "--out", str(out), "--checkpoint-every", "1"]) == 0
    assert restored["ceiling__tiny-qwen2__full__s0" if damage == "foreign" else WEAK] == 0
    assert results(out) == reference


def test_two_processes_killed_mid_run_resume_to_the_same_numbers(data_dir, tmp_path):
    """torchrun, two processes on gloo: rank 0 killed after the weak run's third checkpoint (torchrun then
    stops rank 1); the same command again finishes, equal to an uninterrupted two-process sweep."""
    base = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "empirics.cli"]

    def torchrun(out, *extra):
        argv = [*base, *ARGS, "--data-dir", str(data_dir), "--out", str(out), *extra]
        return subprocess.run(argv, capture_output=True, text=True, timeout=900, env=dict(os.environ))

    reference = tmp_path / "reference"
    assert torchrun(reference).returncode == 0
    out = tmp_path / "killed"
    assert _killed(data_dir, out, after=3, torchrun=True).returncode != 0
    (saved,) = (out / CHECKPOINT_FOLDER / WEAK).glob("step-*")
    assert saved.name == "step-000000003"
    assert {p.name for p in saved.glob("random_states_*.pkl")} == {
        "random_states_0.pkl",
        "random_states_1.pkl",
    }
    proc = torchrun(out, "--checkpoint-every", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert results(out) == results(reference)
    assert not (out / CHECKPOINT_FOLDER).exists()


def test_checkpoint_every_is_validated(data_dir, tmp_path, capsys):
    argv = [*ARGS, "--data-dir", str(data_dir), "--out", str(tmp_path / "o"), "--checkpoint-every", "0"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "--checkpoint-every: must lie in [1, inf], got 0" in capsys.readouterr().err
    from core.errors import ConfigError
    from empirics.runs.sweep import run_sweep
    from tests.empirics.fixtures import tiny_sweep

    with pytest.raises(ConfigError, match="--checkpoint-every must be a whole number >= 1"):
        run_sweep(tiny_sweep(data_dir), tmp_path / "o", checkpoint_every=0)
    assert not (tmp_path / "o").exists()  # refused before anything was written
    every3 = RunCheckpoints(tmp_path, 3)
    assert every3.due(3, STEPS)
    assert every3.due(STEPS, STEPS)  # the last step too: a kill during evaluation loses no training
    assert not every3.due(4, STEPS)


def test_a_rerun_without_the_option_starts_over_and_removes_the_stale_checkpoint(
    data_dir, tmp_path, reference, restored
):
    out = tmp_path / "killed"
    assert _killed(data_dir, out, after=3).returncode == -signal.SIGKILL
    assert (out / CHECKPOINT_FOLDER / WEAK).is_dir()
    assert main([*ARGS, "--data-dir", str(data_dir), "--out", str(out)]) == 0
    assert restored == {}  # nothing was resumed
    assert results(out) == reference
    assert not (out / CHECKPOINT_FOLDER).exists()


def test_the_fingerprint_changes_with_every_input_of_the_training():
    import dataclasses

    import numpy as np

    from empirics.inputs.data import PreferencePair
    from empirics.plans.options import FinetuneConfig
    from empirics.training.finetune import training_fingerprint
    from empirics.training.losses import get_loss

    pairs = [PreferencePair(f"p{i}", f"a{i}", f"b{i}", 1, False) for i in range(4)]
    base = ("tiny-gpt2", pairs, np.full(4, 0.7), get_loss("forward_ce"), FinetuneConfig(), 64, 0, False, 1)
    edited = dataclasses.replace(pairs[2], second="b2 (edited)")
    changes = {
        0: "tiny-qwen2",
        1: [*pairs[:2], edited, pairs[3]],
        2: np.array([0.7, 0.7, 0.7, 0.6]),
        3: get_loss("reverse_kl"),
        4: FinetuneConfig(lr=2e-5),
        5: 128,
        6: 1,
        7: True,
        8: 2,
    }
    print0 = training_fingerprint(*base)
    assert training_fingerprint(*base) == print0
    for where, value in changes.items():
        args = list(base)
        args[where] = value
        assert training_fingerprint(*args) != print0, where
