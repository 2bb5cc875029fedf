"""Metrics of one run on its test predictions (binary: P(first is chosen) against the ground-truth label)."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import mannwhitneyu

from core.numerics import binary_ce_onehot, binary_kl, gamma_floor


def accuracy(prob: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Per-example correctness; an exact tie at 1/2 counts one half."""
    return np.where(prob == 0.5, 0.5, ((prob > 0.5) == (label == 1)).astype(float))


def auroc(prob: np.ndarray, label: np.ndarray) -> float | None:
    pos, neg = label == 1, label == 0
    if not pos.any() or not neg.any():
        return None
    u = mannwhitneyu(prob[pos], prob[neg]).statistic  # pairs ranked right, ties counted 1/2
    return float(u / (pos.sum() * neg.sum()))


def run_metrics(
    prob: np.ndarray, label: np.ndarray, gamma: float, weak_prob: np.ndarray | None = None
) -> dict:
    """Accuracy with its standard error, AUROC, cross-entropy to the ground truth (model floored at gamma),
    and with a weak teacher, both disagreements KL(F_sw, F_w) and KL(F_w, F_sw) (both floored)."""
    prob, label = np.asarray(prob, np.float64), np.asarray(label)
    correct = accuracy(prob, label)
    n = len(prob)
    acc = float(correct.mean())
    pf = gamma_floor(prob, gamma)
    out = {
        "n": n,
        "accuracy": acc,
        "accuracy_se": math.sqrt(max(acc * (1 - acc), 0.0) / n),
        "auroc": auroc(prob, label),
        "cross_entropy": float(np.mean(binary_ce_onehot(label, pf))),
        "gamma": gamma,
    }
    if weak_prob is not None:
        wf = gamma_floor(weak_prob, gamma)
        out["kl_student_weak"] = float(np.mean(binary_kl(pf, wf)))
        out["kl_weak_student"] = float(np.mean(binary_kl(wf, pf)))
    return out


def pgr(student: dict, weak: dict, ceiling: dict) -> dict:
    """Performance gap recovered, only where the ceiling beats the weak model by >= 3 standard errors (a
    weak-to-strong setting; below that the ratio divides by noise)."""
    gap = ceiling["accuracy"] - weak["accuracy"]
    se = math.sqrt(ceiling["accuracy_se"] ** 2 + weak["accuracy_se"] ** 2)
    if gap <= 0 or gap < 3 * se:
        return {"pgr": None, "pgr_reason": f"ceiling - weak = {gap:.4f} < 3 SE = {3 * se:.4f}"}
    return {"pgr": (student["accuracy"] - weak["accuracy"]) / gap, "pgr_reason": None}
