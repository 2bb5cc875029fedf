"""Audit of the bounds on real runs, from saved predictions only (no retraining).

For every student run and split (test; train_w2s's fit part, the rows the student was fit on: its held-out
rows are left out), with F* the one-hot ground truth:
- L(F*, F_w), L(F*, F_sw) (cross-entropy to the truth = KL, F* one-hot), both disagreements, the gain;
- Lemma 1 / Theorem 1 on gamma-floored copies of both models (gamma as in training), both directions of d,
  with the fraction of predictions the floor binds on (outside [gamma, 1 - gamma]); tightness |gap| / sqrt(d)
  / C*. Its hypotheses always hold here (floored models), so a violation is a failure;
- Theorem 2's slack, as a measurement: a one-hot F* is not in any student class, so its hypotheses fail
  (non-realizability), plus the softmax/logistic head, full fine-tuning, or a finite sample where those apply;
- Theorem 3 for simplex-head students, whose class is known (its design is saved with the results): R is the
  certified moment projection of F* onto the class at the same points; sharp form and final form (marked
  vacuous when its right side is >= log(1 / gamma)), each plus the student's reverse-KL Frank-Wolfe gap g,
  which makes them hold for every member of the class (g ~ 0 for a certified reverse-KL student in sample: the
  theorem's own setting). A violation is a failure. The teacher in Theorems 2 and 3 on train_w2s is what the
  student was fit to: its gamma-floored training targets."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from core.binary_head import binary_terms, box_gap, solve_binary
from core.bounds import c_sharp, confirmed_sides
from core.io import read_npz, write_json_and_markdown
from core.numerics import binary_ce_onehot, binary_kl, gamma_floor
from core.tolerances import CERTIFIED_SLACK, FP_INEQUALITY_SLACK, REQUIRED_GAP_REL

from ..plans.spec import RunSpec
from ..registries.heads import HEAD_REGISTRY
from .records import load_checked_runs
from .run_folder import RunRecord, simplex_design_file


def _two(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], axis=1)


def hypotheses_failing(run: RunSpec, split: str, mode: str, trainable_blocks: int | None = None) -> list[str]:
    """Which of Theorem 2's hypotheses fail for this run and split (F* one-hot always fails realizability)."""
    fails = ["non-realizability (one-hot F* is not in the student's class)"]
    if mode == "finetune":
        what = "full fine-tuning"
        if trainable_blocks:
            what = f"fine-tuning of the top {trainable_blocks} block(s)"
        fails.append(f"{what} (the class is not convex in probability space)")
    elif HEAD_REGISTRY[run.head].class_not_convex:
        fails.append(HEAD_REGISTRY[run.head].class_not_convex)
    if run.loss != "reverse_kl":
        fails.append(f"the student minimises {run.loss}, not reverse KL")
    if split == "test":
        fails.append("finite sample (the student is not the projection of the test-set teacher)")
    return fails


def audit_split(run_rec: RunRecord, split: str, design: dict | None, projections: dict | None = None) -> dict:
    cfg, run = run_rec.config, run_rec.spec
    gamma = cfg["gamma"]
    rows = run_rec.predictions(split)
    keep = np.array([r.get("part", "fit") == "fit" for r in rows])  # in sample: the rows the student fit
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    label = np.array([r["label"] for r in rows])
    p_w, p_s = np.array([r["weak_prob"] for r in rows]), np.array([r["prob"] for r in rows])
    fw, fs = gamma_floor(p_w, gamma), gamma_floor(p_s, gamma)
    f_star = _two(label.astype(float))
    out = {
        "run": run_rec.name,
        "split": split,
        "n": len(rows),
        "gamma": gamma,
        "floor_binds_teacher": float(np.mean((p_w < gamma) | (p_w > 1 - gamma))),
        "floor_binds_student": float(np.mean((p_s < gamma) | (p_s > 1 - gamma))),
        "L_star_w": float(binary_ce_onehot(label, fw).mean()),
        "L_star_sw": float(binary_ce_onehot(label, fs).mean()),
        "kl_sw_w": float(binary_kl(fs, fw).mean()),
        "kl_w_sw": float(binary_kl(fw, fs).mean()),
    }
    out["gain"] = out["L_star_w"] - out["L_star_sw"]
    out["lemma1"] = lemma1_sides(f_star, fw, fs, gamma, out)
    out["lemma1_violations"] = sum(not v["holds"] for v in out["lemma1"].values() if isinstance(v, dict))
    # Theorems 2 and 3: the teacher is the training target in sample, the weak model's prediction off sample
    teacher = gamma_floor(np.array([r["target"] for r in rows]), gamma) if "target" in rows[0] else fw
    kl_star_w = float(binary_ce_onehot(label, teacher).mean())
    kl_sw_t = float(binary_kl(fs, teacher).mean())
    out["theorem2_slack"] = kl_star_w - kl_sw_t - out["L_star_sw"]
    exp = cfg["experiment"]
    out["theorem2_failing_hypotheses"] = hypotheses_failing(
        run, split, exp["setup"]["mode"], exp.get("finetune", {}).get("trainable_blocks")
    )
    if design is not None and HEAD_REGISTRY[run.head].saved_design:
        # R depends on the class, the points and the truth only: one solve serves every student on them
        G, key = design[split][keep], (run.model, split, gamma, keep.tobytes(), label.tobytes())
        projections = {} if projections is None else projections
        if key not in projections:
            projections[key] = solve_binary(0.5, G, label.astype(float), gamma, "forward_kl")
        R = projections[key]
        out["theorem3"] = theorem3(
            label,
            teacher,
            G,
            np.array(run_rec.metrics["simplex_w"]),
            gamma,
            run.loss,
            split,
            kl_star_w,
            R,
        )
    return out


def lemma1_sides(f_star, fw, fs, gamma: float, out: dict) -> dict:
    """Lemma 1 / Theorem 1 on one run and split: both sides for each constant (C1, C2) and direction, each
    rechecked at 50 digits, and the tightness |gain| / sqrt(d) / C* per direction."""
    lemma = {}
    for direction in ("forward", "reverse"):
        for const in ("C1", "C2"):
            lhs, rhs, rechecked = confirmed_sides(
                f_star, _two(fw), _two(fs), gamma, const, direction, "ce", slack=FP_INEQUALITY_SLACK
            )
            lemma[f"{const}_{direction}"] = {
                "lhs": lhs,
                "rhs": rhs,
                "holds": lhs <= rhs + FP_INEQUALITY_SLACK,
                "rechecked_50_digits": rechecked,
            }
        d = out["kl_w_sw"] if direction == "forward" else out["kl_sw_w"]
        lemma[f"tightness_{direction}"] = abs(out["gain"]) / math.sqrt(d) / c_sharp(gamma) if d > 0 else 0.0
    return lemma


def theorem3(label, teacher, G, w, gamma, loss, split, kl_star_w, R=None) -> dict:
    """Sharp and final forms of Theorem 3 for a student in the simplex class (F_sw = 1/2 + G w), with R the
    certified moment projection of the one-hot F* onto the class at the same points.

    The certified form adds g, the Frank-Wolfe gap of the reverse-KL objective E KL(F, teacher) at F_sw: since
    <R - F_sw, log F_sw - log F_teacher> >= -g for every R in the class, both forms then hold for *every*
    member of the class, and a violation is a failure. g is ~0 exactly when F_sw is the reverse-KL projection
    of the teacher (Theorem 3's hypothesis: a certified reverse-KL student, in sample)."""
    fs = 0.5 + G @ w  # the class member itself (no second floor)
    if R is None:
        R = solve_binary(0.5, G, label.astype(float), gamma, "forward_kl")
    log_ratio, log_ratio_0 = np.log(teacher) - np.log(fs), np.log1p(-teacher) - np.log1p(-fs)
    inner = float(np.mean((label - R.p) * log_ratio + (R.p - label) * log_ratio_0))
    eps = float(np.mean(binary_ce_onehot(label, R.p)))  # KL(F*, R) with F* one-hot
    M = float(max(np.abs(log_ratio).max(), np.abs(log_ratio_0).max()))
    _, dp, _ = binary_terms("reverse_kl", fs, teacher, np.full(len(fs), 1 / len(fs)))
    g = max(box_gap(G.T @ dp, w, gamma), 0.0)
    base = kl_star_w - float(binary_kl(fs, teacher).mean())
    lhs = float(np.mean(binary_ce_onehot(label, fs)))
    sharp, final = base + inner + g, base + M * math.sqrt(2 * eps) + g
    return {
        "lhs": lhs,
        "sharp_rhs": sharp,
        "final_rhs": final,
        "R_certified": R.certified,
        "R_gap": R.gap,
        "eps": eps,
        "M": M,
        "reverse_kl_gap": g,
        "final_vacuous": final >= math.log(1 / gamma),
        "student_is_reverse_kl_projection": split == "train_w2s"
        and loss == "reverse_kl"
        and g <= REQUIRED_GAP_REL,
        "sharp_holds": lhs <= sharp + CERTIFIED_SLACK,
        "final_holds": lhs <= final + CERTIFIED_SLACK,
        "sharp_looseness": sharp - lhs,
        "final_looseness": final - lhs,
    }


def audit(results: str | Path) -> dict:
    """Audit every student run of a results folder; writes audit/audit.json and audit/audit.md."""
    results = Path(results)
    rows, failures, designs, projections = [], [], {}, {}
    for rec in load_checked_runs(results):
        run = rec.spec
        if run.role != "student":
            continue
        design = None
        if HEAD_REGISTRY[run.head].saved_design:  # the class of the run's strong model (read once)
            if run.model not in designs:
                path = simplex_design_file(results, run.model)
                hint = "delete it and rerun the same sweep command (it recomputes nothing finished)"
                designs[run.model] = read_npz(path, ("train_w2s", "test"), hint) if path.is_file() else None
            design = designs[run.model]
        for split in ("train_w2s", "test"):
            r = audit_split(rec, split, design, projections)
            rows.append(r)
            if r["lemma1_violations"]:
                failures.append(f"{r['run']} [{split}]: Lemma 1 / Theorem 1 violated with floored models")
            t3 = r.get("theorem3")
            if t3 and not (
                t3["sharp_holds"] and t3["final_holds"]
            ):  # certified forms: valid for the whole class
                failures.append(
                    f"{r['run']} [{split}]: Theorem 3 (certified form) violated by a simplex student"
                )
    report = {"results": str(results), "rows": rows, "failures": failures}
    write_json_and_markdown(results / "audit", "audit", report, audit_markdown(report))
    return report


def audit_markdown(report: dict) -> str:
    lines = [
        "# Audit of the bounds on real runs",
        "",
        "L = cross-entropy to the one-hot truth; models floored at gamma. Lemma 1 tightness = |gap| / "
        "sqrt(d) / C*. "
        "Theorem 2's slack is a measurement (its hypotheses fail: see the JSON for which); Theorem 3 is "
        "shown for "
        "simplex-head students (sharp / final right sides minus the left side; 'vac.' = final form vacuous).",
        "",
        "| run | split | L(F*,F_w) | L(F*,F_sw) | gain | KL(sw,w) | KL(w,sw) | Lemma 1 holds | tightness "
        "fwd / rev "
        "| Thm 2 slack | Thm 3 sharp / final looseness |",
        "|" + " --- |" * 11,
    ]
    for r in report["rows"]:
        t3 = r.get("theorem3")
        t3s = (
            f"{t3['sharp_looseness']:.3g} / "
            f"{t3['final_looseness']:.3g}{' vac.' if t3['final_vacuous'] else ''}"
            if t3
            else ""
        )
        lines.append(
            f"| {r['run']} | {r['split']} | {r['L_star_w']:.4f} | {r['L_star_sw']:.4f} | {r['gain']:+.4f} | "
            f"{r['kl_sw_w']:.4f} | {r['kl_w_sw']:.4f} | {'yes' if not r['lemma1_violations'] else 'NO'} | "
            f"{r['lemma1']['tightness_forward']:.3f} / {r['lemma1']['tightness_reverse']:.3f} | "
            f"{r['theorem2_slack']:+.4f} | {t3s} |"
        )
    if report["rows"]:
        binds_t = max(r["floor_binds_teacher"] for r in report["rows"])
        binds_s = max(r["floor_binds_student"] for r in report["rows"])
        lines += [
            "",
            f"The gamma-floor binds (prediction outside [gamma, 1 - gamma]) on at most {100 * binds_t:.2f} "
            "% of "
            f"teacher and {100 * binds_s:.2f} % of student predictions in any run and split.",
        ]
    lines += ["", f"Failures (bounds violated where their hypotheses hold): {len(report['failures'])}"]
    lines += [f"- {f}" for f in report["failures"]]
    return "\n".join(lines) + "\n"
