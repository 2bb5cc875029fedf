"""Explicit counterexamples: forward-KL students that gain less than their disagreement (docs/theory.md R4).

Each is a small certified instance saved as JSON (representation H, truth F*, teacher F_w, weights, gamma) and
re-checked from the file alone: the forward projection is re-solved, its certificate verified, and the
violation must exceed the certificate, slack < -(g + 1e-12).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.io import atomic_write_text
from core.tolerances import CERTIFIED_SLACK

from .families import random_realizable_instance
from .last_layer import non_degenerate, pythagorean_sides
from .simplex_head import solve_simplex

KINDS = {"theorem2_form": "reverse", "forward_analogue": "forward"}  # which disagreement the inequality uses


def recheck(inst: dict) -> dict:
    """Re-solve the forward projection of a saved instance; return its certificate and the slack."""
    H, f_star, f_w, w = (np.asarray(inst[k], np.float64) for k in ("H", "F_star", "F_w", "weights"))
    sol = solve_simplex(H, f_w, inst["gamma"], "forward_kl", w)
    lhs, rhs = pythagorean_sides(f_star, f_w, sol.F, w, KINDS[inst["kind"]])
    return {
        "certified": sol.certified,
        "gap": sol.gap,
        "lhs": lhs,
        "rhs": rhs,
        "slack": rhs - lhs,
        "violated": rhs - lhs < -(sol.gap + CERTIFIED_SLACK),
        "non_degenerate": non_degenerate(f_star, f_w, sol.F, w),
    }


def find(kind: str, seed: int = 0, m: int = 16, tries: int = 4000, low_noise: bool = False) -> dict:
    """Among the first five small random instances (m points) whose forward projection violates the `kind`
    inequality, the one with the largest relative violation. ``low_noise``: teachers with logit noise <=
    0.3."""
    if kind not in KINDS:
        raise InvalidInputError(f"unknown counterexample kind {kind!r}; choose one of {list(KINDS)}")
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(tries):
        if low_noise:
            i = random_realizable_instance(
                rng, teacher="logit_noise", level=float(rng.uniform(0.05, 0.3)), m=m
            )
        else:
            i = random_realizable_instance(rng, m=m)
        inst = {
            "kind": kind,
            "H": i.H.tolist(),
            "F_star": i.f_star.tolist(),
            "F_w": i.f_w.tolist(),
            "weights": i.weights.tolist(),
            "gamma": i.gamma,
            "teacher": i.teacher,
            "level": i.level,
        }
        r = recheck(inst)
        if r["certified"] and r["non_degenerate"] and r["violated"]:
            found.append((r["slack"] / max(r["rhs"], 1e-12), inst, r))
            if len(found) == 5:
                break
    if not found:
        raise RuntimeError(f"no {kind} counterexample in {tries} instances")
    _, inst, r = min(found, key=lambda t: t[0])
    inst["recorded"] = {k: (bool(v) if isinstance(v, (bool, np.bool_)) else float(v)) for k, v in r.items()}
    return inst


def write_fixtures(out_dir: str | Path, seed: int = 0) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, low, name in (
        ("theorem2_form", False, "theorem2_form"),
        ("forward_analogue", False, "forward_analogue"),
        ("forward_analogue", True, "forward_analogue_low_noise"),
    ):
        path = out / f"forward_counterexample_{name}.json"
        atomic_write_text(path, json.dumps(find(kind, seed, low_noise=low), indent=1))
        paths.append(path)
    return paths
