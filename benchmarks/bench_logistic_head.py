"""Benchmark: the logistic head of the four fixed objectives, second order (L-BFGS, float64, gradient-norm
certificate) against the full-batch Adam it replaces (1,500 steps, cosine decay, float64).

Features: a results folder's cached features would tie the benchmark to one machine's cache, so by default a
Gemma-sized synthetic problem (n pairs x 640 standardised feature differences, soft labels from a noisy linear
teacher); --n and --d change its size. Goal (issue 10): >= 30x faster at equal or lower objective. Writes
results/benchmarks/logistic_head.json.

    python benchmarks/bench_logistic_head.py [--n 800 --d 640 --repeats 3 --out results/benchmarks]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core.cli import COUNT, OneLineErrorParser, number, run_command
from core.io import atomic_write_text, environment
from empirics.registries.losses import CONVEX_FIXED_OBJECTIVES
from empirics.training.heads import fit_logistic, logistic_objective, train_logistic
from empirics.training.losses import get_loss


def problem(n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = np.clip(1 / (1 + np.exp(-2 * (u @ w))) + 0.1 * rng.standard_normal(n), 0, 1)
    return u, y


def best_time(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    p = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=number(int, 2), default=800)
    p.add_argument("--d", type=COUNT, default=640)
    p.add_argument("--l2", type=number(float, 0), default=0.1)
    p.add_argument("--gamma", type=number(float, 0, 0.5, open_low=True), default=1e-3)
    p.add_argument("--repeats", type=COUNT, default=3)
    p.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    args = p.parse_args()
    u, y = problem(args.n, args.d)
    rows = []
    for loss in CONVEX_FIXED_OBJECTIVES:
        objective = logistic_objective(loss, args.gamma, u, y, args.l2)
        t_new, fit = best_time(lambda loss=loss: fit_logistic(u, y, loss, args.gamma, args.l2), args.repeats)
        adam_loss = get_loss(loss, args.gamma)
        t_old, v_old = best_time(lambda f=adam_loss: train_logistic(u, y, f, 1500, 0.05, args.l2), 1)
        old_value, old_grad = objective(v_old)
        rows.append(
            {
                "loss": loss,
                "lbfgs_seconds": t_new,
                "adam_seconds": t_old,
                "speedup": t_old / t_new,
                "lbfgs_objective": fit.objective,
                "adam_objective": old_value,
                "objective_difference": fit.objective - old_value,
                "lbfgs_grad_inf": fit.grad_inf,
                "adam_grad_inf": float(np.max(np.abs(old_grad))),
                "lbfgs_iterations": fit.iterations,
            }
        )
        r = rows[-1]
        print(
            f"{loss:>11}: L-BFGS {t_new:.3f} s (|g| {fit.grad_inf:.1e}), Adam {t_old:.2f} s (|g| "
            f"{r['adam_grad_inf']:.1e}): {r['speedup']:.0f}x, objective difference "
            f"{r['objective_difference']:+.1e}"
        )
    result = {"n": args.n, "d": args.d, "l2": args.l2, "rows": rows, "environment": environment()}
    atomic_write_text(args.out / "logistic_head.json", json.dumps(result, indent=2))
    print(
        f"min speed-up {min(r['speedup'] for r in rows):.0f}x (goal >= 30x); wrote "
        f"{args.out / 'logistic_head.json'}"
    )


if __name__ == "__main__":
    sys.exit(run_command("bench_logistic_head.py", main))
