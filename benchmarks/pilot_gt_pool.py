"""Pilot: do the ladder's settings stay weak-to-strong when teachers and ceilings read only the first G pairs
of `train_gt` (the budget amendment, docs/findings.md)? Read from `train_gt` alone (no `train_w2s`, no test
label).

For each task's ladder preset (its models and teacher sizes), on the frozen features of all of train_gt (the
regime's own, from the feature cache: shared-prefix extraction at its max length; computed and cached if
missing), and for each pool size G of --pools:

- each student model's ceiling: the logistic head (forward CE, L2 by the suite's held-out rule) fit on the
  run's own part of the first G pairs (``run_partition``, as the regime's ceiling run does), for each seed;
- each teacher (``MODEL@N``): its run's own N pairs drawn from the first G, fit the same way, for each seed;

every head scored on the same pairs: train_gt's pairs from --scored-from on (outside every pool). Writes
OUT/gt_pool_pilot.json (every seed, means and standard errors, the machine) and prints, per pool, each ladder
pair's ceiling minus its teacher in points and in their standard errors.

    python benchmarks/pilot_gt_pool.py --preset ladder-helpful --data-dir ../shared/data/hh-rlhf-helpful
        [--pools 1000 1500 2000] [--scored-from 2000] [--seeds 0 1 2 3 4 5] [--out results/benchmarks/gt_pool]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from pilot_ladder import accuracy_on, gap, mean_se

from core.cli import OneLineErrorParser, number, run_command
from core.errors import InvalidInputError
from core.io import atomic_write_text, environment
from core.tolerances import LOGISTIC_GRAD_TOL
from empirics.inputs.data import load_split
from empirics.inputs.features import pair_features
from empirics.inputs.models import load_backbone
from empirics.inputs.partition import run_partition
from empirics.inputs.streams import RunStreams
from empirics.plans.presets import PRESETS
from empirics.registries.models import trained_on
from empirics.training.heads import Standardizer

LADDERS = ("ladder-harmless", "ladder-helpful")


def pool_accuracies(u, y, model: str, pool: int, scored: np.ndarray, seeds, l2_grid, heldout, grads) -> dict:
    """A run of `model` (``MODEL@N``: N pairs) on the first `pool` pairs, per seed, scored on `scored`."""
    accs = []
    for seed in seeds:
        part = run_partition(model, RunStreams(seed), pool, heldout)
        accs.append(accuracy_on(u, y, part, scored, l2_grid, grads))
    return mean_se(accs)


def pilot(args) -> int:
    if args.preset not in LADDERS:
        raise InvalidInputError(f"--preset: one of {', '.join(LADDERS)}, got {args.preset!r}")
    if max(args.pools) > args.scored_from:
        raise InvalidInputError(f"--pools: each at most --scored-from ({args.scored_from}), got {args.pools}")
    if len(set(args.seeds)) < 2:
        raise InvalidInputError(f"--seeds: at least two different seeds, got {args.seeds}")
    sweep = PRESETS[args.preset]
    exp, pairs_grid = sweep.experiment, [tuple(p.split(":")) for p in sweep.grid.pairs]
    setup, head = exp.setup, exp.head
    split = load_split(exp.data.dataset, "train_gt", args.data_dir, None, exp.data.data_seed)
    if len(split) <= args.scored_from:
        raise InvalidInputError(f"--scored-from {args.scored_from}: train_gt has only {len(split)} pairs")
    y = np.array([p.label for p in split], np.float64)
    scored = np.arange(args.scored_from, len(split))
    runs = sorted({w for w, _ in pairs_grid} | {s for _, s in pairs_grid})
    result = {
        "preset": args.preset,
        "pairs": len(split),
        "scored": len(scored),
        "seeds": args.seeds,
        "pools": {},
    }
    u, grads = {}, []
    for base in sorted({trained_on(m)[0] for m in runs}):
        first, second = pair_features(
            base,
            split,
            setup.max_length,
            "train_gt",
            lambda base=base: load_backbone(base),
            setup.eval_batch_size,
            False,
            setup.extraction,
        )
        u[base] = Standardizer.fit(first, second)(first, second)
    for pool in args.pools:
        accs = {
            m: pool_accuracies(
                u[trained_on(m)[0]],
                y,
                m,
                pool,
                scored,
                args.seeds,
                head.head_l2,
                exp.data.heldout_frac,
                grads,
            )
            for m in runs
        }
        gaps = {}
        for w, s in pairs_grid:
            g, se = gap(accs[s], accs[w])
            gaps[f"{w} -> {s}"] = {"gap": g, "se": se, "in_se": g / se}
        result["pools"][str(pool)] = {"accuracy": accs, "gaps": gaps}
    result["heads_certified"] = int(sum(g <= LOGISTIC_GRAD_TOL for g in grads))
    result["heads"] = len(grads)
    result["environment"] = environment(("torch", "transformers", "numpy", "scipy"))
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "gt_pool_pilot.json", json.dumps(result, indent=1))
    print(f"| pool G | {' | '.join(g for g in result['pools'][str(args.pools[0])]['gaps'])} |")
    print("|" + " --- |" * (1 + len(pairs_grid)))
    for pool, r in result["pools"].items():
        cells = [f"{100 * g['gap']:+.1f} pts ({g['in_se']:.1f} SE)" for g in r["gaps"].values()]
        print(f"| {pool} | {' | '.join(cells)} |")
    print(f"{result['heads_certified']} of {result['heads']} heads certified")
    return 0


def parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--preset", required=True, help=f"the ladder preset: {', '.join(LADDERS)}")
    p.add_argument("--data-dir", required=True, help="the task's JSONL splits (train_gt is read)")
    p.add_argument("--pools", nargs="+", type=number(int, 100), default=[1000, 1500, 2000])
    p.add_argument(
        "--scored-from", type=number(int, 100), default=2000, help="first scored pair (default 2000)"
    )
    p.add_argument("--seeds", nargs="+", type=number(int, 0), default=list(range(6)))
    p.add_argument("--out", type=Path, default=Path("results/benchmarks/gt_pool"))
    return p


def main() -> int:
    return pilot(parser().parse_args())


if __name__ == "__main__":
    sys.exit(run_command("pilot_gt_pool.py", main))
