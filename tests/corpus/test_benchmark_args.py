"""Every benchmark validates its arguments like the CLIs: a bad one is one line naming it, exit status 2, and
nothing runs (gpu_mfu.py without CUDA says so in one line)."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from core.cli import run_command

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
CASES = [
    ("bench_logistic_head.py", ["--n", "0"], "argument --n: must lie in [2, inf], got 0"),
    ("bench_logistic_head.py", ["--d", "-4"], "argument --d: must lie in [1, inf], got -4"),
    ("bench_logistic_head.py", ["--repeats", "0"], "argument --repeats: must lie in [1, inf]"),
    ("bench_logistic_head.py", ["--gamma", "0.5"], "argument --gamma: must lie in (0, 0.5), got 0.5"),
    ("bench_logistic_head.py", ["--l2", "nan"], "argument --l2: must be finite, got nan"),
    ("bench_simplex_map.py", ["--dim", "1"], "argument --dim: must lie in [2, 100000], got 1"),
    ("bench_simplex_map.py", ["--n", "1"], "argument --n: must lie in [2, inf], got 1"),
    ("bench_simplex_solver.py", ["--k", "x"], "argument --k: expected an integer, got 'x'"),
    ("bench_simplex_solver.py", ["--repeats", "0"], "argument --repeats: must lie in [1, inf]"),
    ("bench_feature_extraction.py", ["--texts", "0"], "argument --texts: must lie in [1, inf]"),
    ("bench_feature_extraction.py", ["--batch", "0"], "argument --batch: must lie in [1, inf]"),
    ("bench_finetune_step.py", ["--steps", "0"], "argument --steps: must lie in [1, inf]"),
    ("bench_finetune_step.py", ["--max-length", "0"], "argument --max-length: must lie in [8, 131072]"),
    ("bench_finetune_step.py", ["--group-pairs", "0"], "argument --group-pairs: must lie in [1, inf]"),
    ("bench_bf16_extraction.py", ["--pairs", "0"], "argument --pairs: must lie in [1, inf]"),
    ("bench_extraction_precision.py", ["--batches", "16", "0"], "argument --batches: must lie in [1, inf]"),
    ("bench_extraction_precision.py", ["--reps", "0"], "argument --reps: must lie in [1, inf]"),
    ("pilot_finetune_lr.py", ["--data-dir", "x", "--lrs", "-1"], "argument --lrs: must lie in (0, inf)"),
    ("pilot_ladder.py", ["--data-dir", "x", "--folds", "1"], "argument --folds: must lie in [2, 20], got 1"),
    (
        "pilot_ladder.py",
        ["--data-dir", "x", "--sizes", "5"],
        "argument --sizes: must lie in [10, inf], got 5",
    ),
    ("pilot_ladder.py", ["--data-dir", "x", "--models", "gpt9"], "unknown model 'gpt9'"),
    ("pilot_ladder.py", ["--data-dir", "x", "--seeds", "1", "1"], "--seeds: at least two different seeds"),
    ("pilot_gt_pool.py", ["--preset", "cpu-demo", "--data-dir", "x"], "--preset: one of ladder-harmless"),
    (
        "pilot_gt_pool.py",
        ["--preset", "ladder-helpful", "--data-dir", "x", "--pools", "3000"],
        "--pools: each at most --scored-from (2000)",
    ),
    (
        "pilot_gt_pool.py",
        ["--preset", "ladder-helpful", "--data-dir", "x", "--pools", "50"],
        "must lie in [100,",
    ),
    ("pilot_gt_pool.py", ["--preset", "ladder-helpful", "--data-dir", "no/such/folder"], "no/such/folder"),
    ("text_lengths.py", ["--data-dir", "x", "--max-lengths", "4"], "argument --max-lengths: must lie in [8,"),
    ("text_lengths.py", ["--data-dir", "x", "--models", "gpt9"], "unknown model 'gpt9'"),
    ("text_lengths.py", ["--data-dir", "no/such/folder", "--models", "tiny-gpt2"], "no/such/folder"),
    ("study_simplex_class.py", ["x", "--dims", "1"], "argument --dims: must lie in [2, 100000]"),
    ("study_simplex_class.py", ["x", "--tau-scales", "0"], "argument --tau-scales: must lie in (0, inf)"),
    ("gpu_mfu.py", ["--steps", "0"], "argument --steps: must lie in [1, inf]"),
]


IDS = [f"{c[0]} {' '.join(c[1])}" for c in CASES]


def _main(script: str):
    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), BENCHMARKS / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _run(script, argv, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # as when run as a script: siblings import each other
    main = _main(script)
    monkeypatch.setattr(sys, "argv", [script, *argv])
    try:
        rc = run_command(script, main)
    except SystemExit as exc:  # argparse's usage error
        rc = exc.code
    return rc, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("script", "argv", "message"), CASES, ids=[f"{c[0]} {' '.join(c[1])}" for c in CASES]
)
def test_a_bad_benchmark_argument_is_one_line(script, argv, message, monkeypatch, capsys):
    rc, err = _run(script, argv, monkeypatch, capsys)
    assert rc == 2, err
    assert len(err) == 1, err
    assert message in err[0], err


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is visible: the benchmark would run")
def test_gpu_mfu_without_cuda_says_so_in_one_line(monkeypatch, capsys):
    rc, err = _run("gpu_mfu.py", [], monkeypatch, capsys)
    assert rc == 2
    assert err == ["gpu_mfu.py: error: needs a CUDA GPU (none is visible here); nothing was measured"]
