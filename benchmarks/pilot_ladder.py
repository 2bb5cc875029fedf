"""Pilot: how weak a decoder teacher must be for the ladder (SmolLM2-135M -> Gemma-3-270M ->
Qwen2.5-0.5B) to be weak-to-strong on frozen features, read from `train_gt` alone (no `train_w2s`, no test
label).

Among these decoders size alone makes no gap on frozen features (their ceilings lie within about a point of
each other), so a teacher is made weak by training it on fewer pairs, as the last-layer regime's 100-pair
teacher is. For each model, on the first --pairs pairs of train_gt (features cached like a sweep's, at the
sweep's max length):

- the ceiling: the logistic head (forward CE, L2 by the suite's held-out rule) trained on K-1 of K folds and
  scored on the K-th, for each fold;
- a teacher on N pairs, for each N of --sizes and each seed: the suite's own sample of N pairs (the run's
  ``sample`` stream, empirics.inputs.streams, with its held-out part), scored on every pair outside its
  sample.

Writes OUT/ladder_pilot.json (every fold and seed, the means and their standard errors, the machine and the
time per model) and prints a table: each teacher size's accuracy beside every model's ceiling, and the gap in
its standard errors. The ladder preset's teacher sizes are read from it (docs/findings.md says which rule).

    python benchmarks/pilot_ladder.py --data-dir ../shared/data/hh-rlhf-harmless [--pairs 2000]
        [--models smollm2-135m-instruct-q4 gemma-3-270m qwen2.5-coder-0.5b-instruct-q4]
        [--sizes 50 100 200 400 800] [--seeds 0 1 2 3 4 5] [--folds 5] [--out results/benchmarks/ladder_pilot]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core.cli import OneLineErrorParser, number, run_command
from core.errors import InvalidInputError
from core.io import atomic_write_text, environment
from core.numerics import sigmoid
from core.tolerances import LOGISTIC_GRAD_TOL
from empirics.inputs.data import load_split
from empirics.inputs.features import pair_features
from empirics.inputs.models import load_backbone
from empirics.inputs.partition import Partition, partition
from empirics.inputs.streams import RunStreams
from empirics.plans.presets import LAST_LAYER
from empirics.registries.models import spec
from empirics.training.heads import Standardizer, fit_logistic_heldout

LADDER = ["smollm2-135m-instruct-q4", "gemma-3-270m", "qwen2.5-coder-0.5b-instruct-q4"]
GAMMA = LAST_LAYER.gamma


def accuracy_on(u, y, part: Partition, scored: np.ndarray, l2_grid, grads: list) -> float:
    """Test-free accuracy: fit on `part` (L2 by the held-out rule), score on the pairs `scored`; the head's
    certificate (its gradient's largest entry) goes to `grads`."""
    _, fit, _ = fit_logistic_heldout(u, y, "forward_ce", GAMMA, l2_grid, part)
    grads.append(fit.grad_inf)
    return float(np.mean((sigmoid(u[scored] @ fit.v) > 0.5) == (y[scored] > 0.5)))


def mean_se(values: list[float]) -> dict:
    v = np.asarray(values)
    return {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(len(v))), "values": v.tolist()}


def one_model(model: str, pairs, args) -> dict:
    t0 = time.perf_counter()
    setup = LAST_LAYER.setup
    first, second = pair_features(
        model, pairs, setup.max_length, "train_gt", lambda: load_backbone(model), setup.eval_batch_size
    )
    extraction = time.perf_counter() - t0
    u = Standardizer.fit(first, second)(first, second)
    y = np.array([p.label for p in pairs], np.float64)
    l2, n = LAST_LAYER.head.head_l2, len(pairs)
    folds = np.array_split(RunStreams(0).numpy("sample", n).permutation(n), args.folds)
    ceiling, grads = [], []
    for k, scored in enumerate(folds):
        train = np.sort(np.concatenate([f for j, f in enumerate(folds) if j != k]))
        inner = partition(len(train), RunStreams(k).numpy("sample", len(train)), 0.2)
        part = Partition(train[inner.fit], train[inner.heldout])
        ceiling.append(accuracy_on(u, y, part, np.sort(scored), l2, grads))
    teachers = {}
    for size in args.sizes:
        accs = []
        for seed in args.seeds:
            part = partition(n, RunStreams(seed).numpy("sample", n), 0.2, limit=size)
            outside = np.setdiff1d(np.arange(n), np.concatenate([part.fit, part.heldout]))
            accs.append(accuracy_on(u, y, part, outside, l2, grads))
        teachers[str(size)] = mean_se(accs)
    return {
        "ceiling": mean_se(ceiling),
        "teachers": teachers,
        "heads_certified": int(sum(g <= LOGISTIC_GRAD_TOL for g in grads)),
        "heads": len(grads),
        "largest_gradient": float(max(grads)),
        "seconds": {"extraction": extraction, "heads": time.perf_counter() - t0 - extraction},
    }


def gap(ceiling: dict, teacher: dict) -> tuple[float, float]:
    """Ceiling minus teacher (means of :func:`mean_se`) and its SE, their seeds taken as independent."""
    return ceiling["mean"] - teacher["mean"], float(np.hypot(ceiling["se"], teacher["se"]))


def table(result: dict) -> str:
    models = list(result["models"])
    lines = [
        "| teacher | N | accuracy % (SE) | "
        + " | ".join(f"gap to {m} ceiling, pts (in SE)" for m in models)
        + " |"
    ]
    lines.append("|" + " --- |" * (3 + len(models)))
    for t in models:
        for size, a in result["models"][t]["teachers"].items():
            cells = []
            for s in models:
                g, se = gap(result["models"][s]["ceiling"], a)
                cells.append(f"{100 * g:+.1f} ({g / se:.1f})")
            lines.append(
                f"| {t} | {size} | {100 * a['mean']:.1f} ({100 * a['se']:.1f}) | " + " | ".join(cells) + " |"
            )
    lines.append("")
    for m in models:
        r = result["models"][m]
        c, certified = r["ceiling"], f"{r['heads_certified']} of {r['heads']} heads certified"
        lines.append(
            f"{m}: ceiling {100 * c['mean']:.1f} % ({100 * c['se']:.1f}) over {len(c['values'])} folds; "
            f"{certified} (largest gradient {r['largest_gradient']:.1e})"
        )
    return "\n".join(lines)


def pilot(args) -> int:
    for m in args.models:
        spec(m)  # an unknown model is one line, before any work
    if max(args.sizes) > args.pairs // 2:
        raise InvalidInputError(
            f"--sizes: a teacher of at most half the --pairs ({args.pairs // 2}), got {args.sizes}"
        )
    if len(set(args.seeds)) < 2:
        raise InvalidInputError(f"--seeds: at least two different seeds, got {args.seeds}")
    pairs = load_split(args.dataset, "train_gt", args.data_dir, args.pairs, 0)
    result = {
        "pairs": len(pairs),
        "dataset": args.dataset,
        "sizes": args.sizes,
        "seeds": args.seeds,
        "models": {},
    }
    for m in args.models:
        result["models"][m] = one_model(m, pairs, args)
    result["environment"] = environment(("torch", "transformers", "numpy", "scipy"))
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "ladder_pilot.json", json.dumps(result, indent=1))
    print(table(result))
    return 0


def parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data-dir", required=True, help="the task's JSONL splits (train_gt is read)")
    p.add_argument("--dataset", default="jsonl", help="registry data set name (default: the folder's JSONL)")
    p.add_argument(
        "--pairs", type=number(int, 200, 4000), default=2000, help="train_gt pairs used (default 2000)"
    )
    p.add_argument("--models", nargs="+", default=LADDER)
    p.add_argument("--sizes", nargs="+", type=number(int, 10), default=[50, 100, 200, 400, 800])
    p.add_argument("--seeds", nargs="+", type=number(int, 0), default=list(range(6)))
    p.add_argument("--folds", type=number(int, 2, 20), default=5)
    p.add_argument("--out", type=Path, default=Path("results/benchmarks/ladder_pilot"))
    return p


def main() -> int:
    return pilot(parser().parse_args())


if __name__ == "__main__":
    sys.exit(run_command("pilot_ladder.py", main))
