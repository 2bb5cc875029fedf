"""Weak-label noise (docs/theory.md R9): the synthetic analogue of the paper's noise table.

Binary (k = 2) simplex-head instances with F* realizable; the weak teacher is F* with logit noise 0.1, then a
seeded fraction rho of its labels is flipped, p -> 1/2 - (p - 1/2). Forward and reverse students are the
certified projections. Reported per rho: the true error KL(F*, F_sw) and the accuracy against argmax F* of the
teacher and of both students (means with 95 % t-intervals over instances), and the paired difference
reverse - forward.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from core.numerics import expected_kl
from core.stats import mean_t_interval

from .check_result import ReportPart
from .families import label_noise, logit_noise_teacher, random_realizable_instance
from .last_layer import fit_students

RHOS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def accuracy(f_star: np.ndarray, f: np.ndarray, w: np.ndarray) -> float:
    return float(w @ (f.argmax(axis=1) == f_star.argmax(axis=1)))


def label_noise_sweep(instances: int = 30, rhos=RHOS, seed: int = 4) -> dict:
    """Paired design: every instance (F*, base teacher, flip order) is run at every rho, with nested flip sets
    (the points flipped at rho are among those flipped at any larger rho)."""
    rng = np.random.default_rng(seed)
    rec = {rho: {m: {"kl": [], "acc": []} for m in ("teacher", "forward", "reverse")} for rho in rhos}
    uncertified = 0
    for _ in range(instances):
        base = random_realizable_instance(rng, teacher="logit_noise", level=0.1, k=2)
        clean = logit_noise_teacher(base.f_star, 0.1, base.gamma, rng, floored=False)
        flip_seed = int(rng.integers(1 << 31))
        for rho in rhos:
            f_w = label_noise(clean, rho, -1.0, np.random.default_rng(flip_seed), base.gamma)
            st = fit_students(replace(base, f_w=f_w, teacher="label_noise", level=rho))
            if not st.certified:
                uncertified += 1
                continue
            for name, f in (("teacher", f_w), ("forward", st.forward.F), ("reverse", st.reverse.F)):
                rec[rho][name]["kl"].append(expected_kl(base.f_star, f, base.weights))
                rec[rho][name]["acc"].append(accuracy(base.f_star, f, base.weights))
    rows = []
    for rho in rhos:
        r = rec[rho]
        row = {"rho": rho, "instances": len(r["teacher"]["kl"])}
        for name in r:
            row[name] = {"kl": mean_t_interval(r[name]["kl"]), "acc": mean_t_interval(r[name]["acc"])}
        row["reverse_minus_forward"] = {
            m: mean_t_interval(np.subtract(r["reverse"][m], r["forward"][m])) for m in ("kl", "acc")
        }
        rows.append(row)
    return {
        "rhos": list(rhos),
        "instances": instances,
        "rows": rows,
        "uncertified": uncertified,
        "raw": {str(rho): rec[rho] for rho in rhos},
    }


def label_noise_part(sweep: dict) -> ReportPart:
    """The label-noise table (R9) and its plot, as a report part."""
    return ReportPart(60, "label_noise", sweep, render_label_noise)


def _ci(t) -> str:
    return f"{t[0]:.4f} [{t[1]:.4f}, {t[2]:.4f}]"


def render_label_noise(noise: dict, out: Path) -> list[str]:
    from . import plots

    plots.plot_label_noise(noise, out / "label_noise.png")
    md = [
        "## Weak-label noise (R9)",
        "",
        f"{noise['instances']} paired instances per rate (k = 2, simplex head); mean [95 % CI].",
        "",
        "| rho | teacher KL(F*,.) | forward KL(F*,.) | reverse KL(F*,.) | reverse - forward KL "
        "| forward acc | reverse acc |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in noise["rows"]:
        md.append(
            f"| {r['rho']} | {_ci(r['teacher']['kl'])} | {_ci(r['forward']['kl'])} | "
            f"{_ci(r['reverse']['kl'])} "
            f"| {_ci(r['reverse_minus_forward']['kl'])} | {_ci(r['forward']['acc'])} | "
            f"{_ci(r['reverse']['acc'])} |"
        )
    md += ["", "![label noise](label_noise.png)", ""]
    return md
