"""The pipeline end to end on tiny random models: every loss, both modes, crash-and-resume, determinism."""

import dataclasses
import json

import numpy as np
import pytest

from core.errors import ConfigError, InvalidInputError
from empirics.inputs.baselines import RULES
from empirics.inputs.data import load_split
from empirics.inputs.precision import detected_native_bf16, native_bf16
from empirics.plans.grid import student_specs, with_dependencies
from empirics.plans.spec import RunSpec
from empirics.registries.losses import LOSSES
from empirics.registries.models import cache_dir
from empirics.registries.noise import Noise
from empirics.runs.pipeline import Pipeline
from empirics.runs.sweep import run_sweep
from empirics.training.trainers import Trainer

from .fixtures import tiny_sweep


@pytest.mark.parametrize(
    ("weak", "strong"), [("tiny-gpt2", "tiny-gpt-neox"), ("tiny-gpt-neox", "tiny-qwen2")]
)
def test_finetune_end_to_end_every_loss(data_dir, tmp_path, weak, strong):
    out = tmp_path / "res"
    summary = run_sweep(tiny_sweep(data_dir, pairs=[f"{weak}:{strong}"], losses=LOSSES), out)
    assert summary["failures"] == 0
    assert summary["runs"] == len(LOSSES) + 2 + len(RULES)  # students, weak, ceiling, baselines
    for loss in LOSSES:
        d = out / RunSpec("student", strong, 0, "full", loss, weak).name
        cfg = json.loads((d / "config.json").read_text())
        assert cfg["gamma"] == 1e-3
        assert "git_commit" in cfg["environment"]
        assert cfg["environment"]["packages"]["transformers"]
        assert "hardware" in cfg["environment"]
        assert cfg["data"]["kind"] == "jsonl"  # what was read, not what the preset is called
        assert cfg["data"]["path"] == str(data_dir.resolve())
        # --bf16 auto: the precision follows the hardware reading, which the run records
        hw = cfg["environment"]["hardware"]
        assert cfg["precision"] == ("bf16 autocast" if native_bf16() else "fp32")
        assert hw["native_bf16_detected"] == detected_native_bf16()
        assert {"torch_threads", "torch_cpu_capability", "cpu_bf16_flags", "blas"} <= set(hw)
        m = json.loads((d / "metrics.json").read_text())["test"]
        for key in (
            "accuracy",
            "accuracy_se",
            "auroc",
            "cross_entropy",
            "kl_student_weak",
            "kl_weak_student",
            "pgr",
        ):
            assert key in m
        assert np.isfinite(m["cross_entropy"])
        assert m["kl_student_weak"] >= 0
        for split in ("test", "train_w2s"):
            rows = [json.loads(x) for x in (d / f"predictions_{split}.jsonl").read_text().splitlines()]
            assert len(rows) == 16
            assert {"id", "label", "weak_prob", "prob"} <= set(rows[0])
            assert all(0 <= r["prob"] <= 1 and 0 <= r["weak_prob"] <= 1 for r in rows)
    assert not (cache_dir() / "weak_labels").exists()  # weak labels live in the weak run's predictions only
    table = (out / "summary.md").read_text().split("\nTrain and test")[0]  # the accuracy table: one row
    assert table.count(f"{weak} -> {strong}") == 1


def test_last_layer_both_heads_and_forward_kl_equals_forward_ce(data_dir, tmp_path):
    out = tmp_path / "res"
    sw = tiny_sweep(
        data_dir,
        "last_layer",
        pairs=["tiny-bert:tiny-qwen2"],
        losses=["forward_ce", "forward_kl", "reverse_kl", "confidence"],
        heads=["logistic", "simplex"],
    )
    summary = run_sweep(sw, out)
    assert summary["failures"] == 0
    assert (cache_dir() / "features").is_dir()
    assert len(list((cache_dir() / "features").glob("*.npz"))) == 6
    assert not (out / RunSpec("student", "tiny-qwen2", 0, "simplex", "confidence", "tiny-bert").name).exists()
    simplex = json.loads(
        (
            out
            / RunSpec("student", "tiny-qwen2", 0, "simplex", "reverse_kl", "tiny-bert").name
            / "metrics.json"
        ).read_text()
    )
    assert simplex["simplex_certified"]
    assert simplex["simplex_certificate_gap"] <= 1e-10
    for head in ("logistic", "simplex"):
        probs = {}
        for loss in ("forward_ce", "forward_kl"):
            d = out / RunSpec("student", "tiny-qwen2", 0, head, loss, "tiny-bert").name
            probs[loss] = np.array(
                [json.loads(x)["prob"] for x in (d / "predictions_test.jsonl").read_text().splitlines()]
            )
        assert np.max(np.abs(probs["forward_ce"] - probs["forward_kl"])) <= 1e-6


def test_crash_and_resume_loses_and_recomputes_nothing_finished(data_dir, tmp_path, monkeypatch):
    out = tmp_path / "res"
    sw = tiny_sweep(data_dir, losses=["forward_ce", "reverse_kl", "reverse_ce"], noises=["none", "flip:0.25"])
    calls = []
    original = Trainer.fit_predict

    def crashing(self, *a, **k):
        calls.append(a)
        if len(calls) == 4:
            raise KeyboardInterrupt  # killed in the middle of the fourth training
        return original(self, *a, **k)

    monkeypatch.setattr(Trainer, "fit_predict", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sw, out)
    finished = {p.parent.name: p.read_text() for p in out.glob("*/metrics.json")}
    assert len(finished) == 3 + len(RULES)  # the baselines need no training
    partial = out / RunSpec("student", "tiny-qwen2", 0, "full", "reverse_kl", "tiny-gpt2").name
    partial.mkdir(exist_ok=True)
    (partial / "config.json").write_text("{}")  # a half-written run without metrics.json is redone
    calls.clear()
    monkeypatch.setattr(
        Trainer, "fit_predict", lambda self, *a, **k: (calls.append(a), original(self, *a, **k))[1]
    )
    summary = run_sweep(sw, out)
    total = 2 + 3 * 2
    assert summary["failures"] == 0
    assert len(calls) == total - 3
    assert all((out / name / "metrics.json").read_text() == text for name, text in finished.items())
    assert len(list(out.glob("*/metrics.json"))) == total + len(RULES)


def test_same_seed_same_numbers(data_dir, tmp_path):
    sw = tiny_sweep(data_dir, losses=["reverse_kl"], noises=["flip:0.25"])
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_sweep(sw, a)["failures"] == 0
    assert run_sweep(sw, b)["failures"] == 0
    computed = sorted(p.relative_to(a) for p in [*a.glob("*/predictions_*.jsonl"), *a.glob("*/metrics.json")])
    assert len(computed) == (3 + len(RULES)) * 3  # every run's files compared, none missing
    for rel in computed:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_noise_models():
    p = np.linspace(0.05, 0.95, 40)
    flipped = Noise("flip", 0.25).apply(p, np.random.default_rng(0))
    assert np.sum(flipped != p) == 10
    assert np.allclose(flipped[flipped != p], 1 - p[flipped != p])
    np.testing.assert_allclose(Noise("shrink", 0.5).apply(p, None), 0.5 + 0.5 * (p - 0.5))
    assert Noise.parse("flip:0.1") == Noise("flip", 0.1)
    assert Noise.parse("none") == Noise()
    for bad in ("flip:2", "shrink:-3", "blur:0.1", "flip:x"):
        with pytest.raises(InvalidInputError):
            Noise.parse(bad)


def test_every_noise_kind_takes_its_levels_from_its_registry_entry():
    from empirics.registries.noise import NOISE_KINDS

    for kind in NOISE_KINDS.values():
        low, high = kind.level_range
        assert Noise(kind.name, low).tag == f"{kind.name}{low:g}"
        for outside in (low - 0.01, high + 0.01):
            with pytest.raises(InvalidInputError, match=f"{kind.level_name} must lie in"):
                Noise(kind.name, outside)
        assert Noise.parse(f"{kind.name}:{high:g}") == Noise(kind.name, high)


def test_bad_run_specs_are_clear_errors(data_dir, tmp_path):
    pipe = Pipeline(tiny_sweep(data_dir, "last_layer").experiment, tmp_path)
    with pytest.raises(InvalidInputError, match="unknown model"):
        pipe.run(RunSpec("ceiling", "bert-large"))
    with pytest.raises(InvalidInputError, match="unknown loss"):
        pipe.run(RunSpec("student", "tiny-qwen2", loss="hinge", weak_model="tiny-gpt2"))
    with pytest.raises(InvalidInputError, match="simplex head supports"):
        pipe.run(RunSpec("student", "tiny-qwen2", head="simplex", loss="confidence", weak_model="tiny-gpt2"))
    with pytest.raises(InvalidInputError, match="invalid choice: 'zero_shot'"):
        tiny_sweep(data_dir, mode="zero_shot")
    grid = tiny_sweep(data_dir, "last_layer", heads=["logistic"], seeds=[0, 1]).grid
    specs = with_dependencies(student_specs(grid, "last_layer"), "last_layer")
    # seed by seed, each seed's teacher and ceiling before its student: a stopped sweep leaves whole seeds
    assert [(s.role, s.seed) for s in specs] == [("baseline", 0)] * len(RULES) + [
        ("weak", 0),
        ("ceiling", 0),
        ("student", 0),
        ("weak", 1),
        ("ceiling", 1),
        ("student", 1),
    ]


def test_noise_losses_restrict_the_noisy_students_only(data_dir):
    grid = tiny_sweep(
        data_dir,
        "last_layer",
        losses=LOSSES,
        heads=["logistic"],
        noises=["none", "flip:0.2"],
        noise_losses=["reverse_kl", "forward_kl"],
    ).grid
    students = student_specs(grid, "last_layer")
    noisy = {s.loss for s in students if s.noise.kind != "none"}
    clean = {s.loss for s in students if s.noise.kind == "none"}
    assert noisy == {"reverse_kl", "forward_kl"}
    assert clean == set(grid.losses)
    assert len(clean) > 2
    with pytest.raises(ConfigError, match="non-empty list"):
        dataclasses.replace(grid, noise_losses=[])


def test_two_processes_through_torchrun_train_together_and_write_once(data_dir, tmp_path):
    """torchrun / accelerate launch on CPU (gloo): both processes train (each a shard of every batch, the
    confidence quantile gathered over the whole batch), rank 0 alone writes the runs and prints the
    summary."""
    import os
    import subprocess
    import sys

    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "-m",
        "empirics.cli",
        "sweep",
        "--preset",
        "tiny",
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
        "--losses",
        "forward_ce",
        "confidence",
        "--noise",
        "none",
        "--n-pairs",
        "16",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("Test accuracy") == 1  # one report, from rank 0
    assert len(list(out.glob("*/metrics.json"))) == 4 + len(RULES)
    assert not list(out.rglob(".*.tmp*"))  # no half-written files left by a second writer


def test_each_training_split_reads_its_own_first_pairs(data_dir, tmp_path):
    """--train-gt-pairs / --train-w2s-pairs: the weak model and the ceiling draw from train_gt's first so many
    pairs, the student trains on train_w2s's first so many, test stays at --n-pairs; each is in the record."""
    out = tmp_path / "res"
    sw = tiny_sweep(
        data_dir,
        "last_layer",
        pairs=["tiny-bert:tiny-qwen2"],
        heads=["logistic"],
        train_gt_pairs=10,
        train_w2s_pairs=12,
    )
    assert run_sweep(sw, out)["failures"] == 0
    runs = {json.loads((d / "metrics.json").read_text())["role"]: d for d in out.glob("*__s0")}
    ids = {s: [p.id for p in load_split("jsonl", s, data_dir)] for s in ("train_gt", "train_w2s", "test")}
    for role, split, n in [
        ("weak", "train_gt", 10),
        ("ceiling", "train_gt", 10),
        ("student", "train_w2s", 12),
    ]:
        fit = json.loads((runs[role] / "metrics.json").read_text())["fit"]
        assert (fit["train_split"], fit["n_fit"] + fit["n_heldout"]) == (split, n)
    for split, n in [("train_w2s", 12), ("test", 16)]:
        rows = [
            json.loads(x) for x in (runs["student"] / f"predictions_{split}.jsonl").read_text().splitlines()
        ]
        assert [r["id"] for r in rows] == ids[split][:n]
    record = json.loads((runs["student"] / "config.json").read_text())["experiment"]["data"]
    assert (record["train_gt_pairs"], record["train_w2s_pairs"], record["n_pairs"]) == (10, 12, 16)


def test_resuming_into_a_folder_of_another_experiment_is_refused(data_dir, tmp_path):
    out = tmp_path / "res"
    sw = tiny_sweep(data_dir)
    run_sweep(sw, out)
    run_sweep(sw.with_options({"losses": ["forward_ce", "reverse_kl"]}), out)  # a larger grid
    with pytest.raises(InvalidInputError, match="different experiment.*n_pairs"):
        run_sweep(sw.with_options({"n_pairs": 8}), out)


@pytest.mark.parametrize(
    ("mode", "pairs"), [("finetune", ["tiny-gpt2:tiny-qwen2"]), ("last_layer", ["tiny-bert:tiny-qwen2"])]
)
def test_bf16_is_recorded_and_keys_the_feature_cache(mode, pairs, data_dir, tmp_path):
    heads = ["full"] if mode == "finetune" else ["logistic"]
    runs = {}
    for setting in ("on", "off"):
        out = tmp_path / setting
        sw = tiny_sweep(data_dir, mode, pairs=pairs, heads=heads, bf16=setting)
        assert run_sweep(sw, out)["failures"] == 0, (out / "failures.json").read_text()
        cfg = json.loads(next(out.glob("ceiling__*/config.json")).read_text())
        assert cfg["precision"] == ("bf16 autocast" if setting == "on" else "fp32")
        runs[setting] = [
            json.loads(x)["prob"] for x in next(out.glob("ceiling__*/predictions_test.jsonl")).open()
        ]
    assert runs["on"] != runs["off"]  # the precision really changed the computation
    if mode == "last_layer":  # one feature file per precision and split: never a cache hit across precisions
        assert len(list((cache_dir() / "features").glob("*.npz"))) == 2 * 3 * 2
    auto = tiny_sweep(data_dir, mode, pairs=pairs, heads=heads)
    assert Pipeline(auto.experiment, tmp_path / "x").bf16 == native_bf16()
