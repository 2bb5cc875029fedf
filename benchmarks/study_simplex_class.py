"""Study: how rich must the simplex head's class be to be a real student? Its ceiling (forward CE on
ground truth, the fit part of train_gt) by map size and temperature, on a last-layer sweep's saved features.

The simplex head predicts P(first chosen) = 1/2 + G(u) w, w in [gamma, 1 - gamma]^d, with the fixed map
h(u) = softmax(-|u - c_l|^2 / tau) over d k-means centroids of the symmetrised train_w2s differences and
G = (h(u) - h(-u)) / 2 (empirics.training.heads.SimplexMap). The sweep uses d = --simplex-dim (64) and tau =
the median squared distance to the nearest centroid. This script refits the map for each d and each multiple
of that tau, fits the ceiling, and reports train and test accuracy beside the logistic ceiling and the weak
teacher of the same results (read from its summary). Reads only the results folder (planted_inputs/, saved by
the sweep).

    python benchmarks/study_simplex_class.py results/replication-last-layer [--dims 64 256 1024]
        [--tau-scales 1 0.3 0.1] [--out results/benchmarks]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from core.cli import OneLineErrorParser, number, run_command
from core.errors import InvalidInputError
from core.io import atomic_write_text, environment
from empirics.inputs.partition import partition
from empirics.inputs.streams import RunStreams
from empirics.readers.metrics import accuracy
from empirics.runs.planted import experiment_of, saved_inputs
from empirics.training.heads import SimplexMap, fit_simplex_head


def main() -> None:
    p = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path, help="a finished last-layer sweep's results folder")
    p.add_argument("--dims", type=number(int, 2, 100_000), nargs="+", default=[64, 256, 1024])
    p.add_argument("--tau-scales", type=number(float, 0, open_low=True), nargs="+", default=[1.0, 0.3, 0.1])
    p.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    args = p.parse_args()
    if min(args.dims) < 2:
        raise InvalidInputError(f"--dims: a simplex map needs at least 2 centroids, got {args.dims}")
    if not all(0 < t < float("inf") for t in args.tau_scales):
        raise InvalidInputError(
            f"--tau-scales: every scale must be positive and finite, got {args.tau_scales}"
        )
    exp, pairs = experiment_of(args.results)
    weak, strong = pairs[0]
    _, u, y = saved_inputs(args.results, weak)
    n = len(y["train_gt"])
    fit_part = partition(n, RunStreams(0).numpy("sample", n), exp.data.heldout_frac).fit
    rows = []
    for d in args.dims:
        base = SimplexMap.fit(u["train_w2s"], d, seed=exp.data.data_seed)
        for scale in args.tau_scales:
            t0 = time.perf_counter()
            h = SimplexMap(base.centroids, base.tau * scale)
            G = {s: h.design(u[s]) for s in ("train_gt", "test")}
            sol = fit_simplex_head(G["train_gt"][fit_part], y["train_gt"][fit_part], "forward_ce", exp.gamma)
            row = {
                "dim": d,
                "tau_scale": scale,
                "certified": bool(sol.certified),
                "train_accuracy": float(accuracy(sol.p, y["train_gt"][fit_part]).mean()),
                "test_accuracy": float(accuracy(0.5 + G["test"] @ sol.w, y["test"]).mean()),
                "seconds": time.perf_counter() - t0,
            }
            rows.append(row)
            print(
                f"d {d:>5}  tau x {scale:<5g} train {100 * row['train_accuracy']:.1f}  test "
                f"{100 * row['test_accuracy']:.1f}  certified {row['certified']}  ({row['seconds']:.0f} s)",
                flush=True,
            )
    summary = json.loads((args.results / "summary.json").read_text())
    result = {
        "results": str(args.results),
        "strong": strong,
        "weak": weak,
        "rows": rows,
        "sweep_weak_and_ceiling": [  # test accuracy [mean, 95 % interval] per (teacher, head), no noise
            {k: r[k] for k in ("weak_model", "head", "weak", "ceiling")}
            for r in summary["rows"]
            if r["noise"] == "none"
        ],
        "environment": environment(),
    }
    atomic_write_text(args.out / "simplex_class.json", json.dumps(result, indent=2))
    print(f"wrote {args.out / 'simplex_class.json'}")


if __name__ == "__main__":
    sys.exit(run_command("study_simplex_class.py", main))
