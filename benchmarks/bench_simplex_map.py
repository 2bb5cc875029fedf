"""Benchmark: peak memory of the simplex head's fixed map (k-means fit on the symmetrised train_w2s
differences, then the design G of three splits) at the full split size, n pairs x 640 features (Gemma-sized),
64 centroids.

Goal (issue 10): <= 100 MiB at 4,000 pairs (the (2n, d, features) distance array it replaces was ~1.2 GiB at
2,000 pairs).
Measured with tracemalloc (numpy and scipy report their allocations to it). Writes
results/benchmarks/simplex_map.json.

    python benchmarks/bench_simplex_map.py [--n 4000 --features 640 --dim 64 --out results/benchmarks]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from core.cli import COUNT, OneLineErrorParser, number, run_command
from core.io import atomic_write_text, environment
from empirics.training.heads import SimplexMap


def main() -> None:
    p = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=number(int, 2), default=4000)
    p.add_argument("--features", type=COUNT, default=640)
    p.add_argument("--dim", type=number(int, 2, 100_000), default=64)
    p.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    splits = {s: rng.standard_normal((args.n, args.features)) for s in ("train_gt", "train_w2s", "test")}
    inputs_mib = sum(a.nbytes for a in splits.values()) / 2**20
    tracemalloc.start()
    t0 = time.perf_counter()
    h = SimplexMap.fit(splits["train_w2s"], args.dim, seed=0)
    design = {s: h.design(u) for s, u in splits.items()}
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {
        "n": args.n,
        "features": args.features,
        "dim": args.dim,
        "seconds": seconds,
        "peak_mib_beyond_inputs": peak / 2**20,
        "inputs_mib": inputs_mib,
        "design_mib": sum(g.nbytes for g in design.values()) / 2**20,
        "environment": environment(),
    }
    atomic_write_text(args.out / "simplex_map.json", json.dumps(result, indent=2))
    print(
        f"n = {args.n}: peak {result['peak_mib_beyond_inputs']:.1f} MiB beyond the {inputs_mib:.0f} MiB of "
        f"features (goal <= 100 MiB), {seconds:.1f} s; wrote {args.out / 'simplex_map.json'}"
    )


if __name__ == "__main__":
    sys.exit(run_command("bench_simplex_map.py", main))
