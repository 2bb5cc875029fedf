"""The summary table of a results folder: weak, ceiling and every student's test accuracy with a 95 %
interval.

Intervals: over seeds when a setting has several (Student t, ``scipy.stats.ttest_1samp``), else the Wilson
interval of the single run's accuracy (``scipy.stats.binomtest``). Reads saved files only (no torch).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import stats

from core.io import write_json_and_markdown
from core.stats import mean_t_interval

from ..registries.losses import LOSSES
from .claims import REAL_STUDENT_SE, Runs, weak_to_strong
from .records import load_checked_runs
from .run_folder import RunRecord

CONFIDENCE = 0.95
GAP_SE = REAL_STUDENT_SE  # a weak-to-strong setting: ceiling - weak >= 3 standard errors on test


def wilson_interval(accuracy: float, n: int) -> tuple[float, float]:
    """Wilson score interval of an accuracy over n examples (a tie counted 1/2 is rounded to whole
    examples)."""
    ci = stats.binomtest(int(round(accuracy * n)), n).proportion_ci(CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


def accuracy_interval(runs: list[RunRecord]) -> tuple[float, float, float]:
    """(mean, low, high) of the test accuracy of one setting's runs."""
    values = [r.test["accuracy"] for r in runs]
    if len(values) > 1:
        return mean_t_interval(values, CONFIDENCE)
    return (values[0], *wilson_interval(values[0], runs[0].test["n"]))


def summarize(out: str | Path) -> dict:
    """summary.json and summary.md: weak, ceiling and every student's test accuracy with a 95 % interval, per
    (weak -> strong, head, noise); warns when the weak model is not really weaker (ceiling - weak < 3 SE)."""
    out = Path(out)
    runs = load_checked_runs(out)
    weak = {(r.spec.model, r.spec.seed): r for r in runs if r.spec.role == "weak"}
    runs_index = Runs(runs)
    rows, warnings = [], []
    for key, g in sorted(_settings(runs, weak).items()):
        row, warning = _setting_row(key, g, runs_index)
        rows.append(row)
        warnings += [warning] if warning else []
    baselines = {r.spec.model: r for r in runs if r.spec.role == "baseline"}
    summary_baselines = {name: accuracy_interval([r]) for name, r in sorted(baselines.items())}
    for w in sorted({k[0] for k in weak}):
        warnings += teacher_vs_rules(w, [r for (m, _), r in weak.items() if m == w], baselines)
    summary = {
        "rows": rows,
        "baselines": summary_baselines,
        "warnings": list(dict.fromkeys(warnings)),
        "runs": len(runs),
    }
    write_json_and_markdown(out, "summary", summary, summary_markdown(summary))
    return summary


def _settings(runs: list[RunRecord], weak: dict) -> dict[tuple, dict[str, list]]:
    """{(weak, strong, head, noise tag): {loss: students, "_weak": their teachers, "_ceiling": their
    ceilings}}, a teacher and a ceiling listed once per student (None where missing)."""
    ceil = {(r.spec.model, r.spec.head, r.spec.seed): r for r in runs if r.spec.role == "ceiling"}
    groups: dict[tuple, dict[str, list]] = {}
    for r in runs:
        if r.spec.role != "student":
            continue
        s = r.spec
        g = groups.setdefault((s.weak_model, s.model, s.head, s.noise.tag), {})
        g.setdefault(s.loss, []).append(r)
        g.setdefault("_weak", []).append(weak.get((s.weak_model, s.seed)))
        g.setdefault("_ceiling", []).append(ceil.get((s.model, s.head, s.seed)))
    return groups


def _unique(rs: list) -> list[RunRecord]:
    return list({id(x): x for x in rs if x}.values())


def _setting_row(key: tuple, g: dict[str, list], runs_index: Runs) -> tuple[dict, str | None]:
    """One setting's row (accuracies with intervals, ceiling - weak with its SE, fit means) and its warning
    when the weak model is not clearly weaker."""
    w, st, head, noise = key
    row = {"weak_model": w, "strong_model": st, "head": head, "noise": noise}
    refs = {name: _unique(g[f"_{name}"]) for name in ("weak", "ceiling")}  # each teacher / ceiling run once
    for name, rs in refs.items():
        if rs:
            row[name] = accuracy_interval(rs)
    warning = None
    if "weak" in row and "ceiling" in row:
        row.update(_gap(runs_index, key, refs["weak"], refs["ceiling"]))
        gap, gse = row["ceiling_minus_weak"], row["gap_se"]
        if gap < GAP_SE * gse:
            warning = (
                f"{w} -> {st} ({head}): ceiling - weak = {gap:.4f} < {GAP_SE} SE = "
                f"{GAP_SE * gse:.4f} ({row['gap_se_kind']}); the weak model is not clearly weaker on "
                "this test split (not a weak-to-strong setting)"
            )
    fit = {}
    for loss in LOSSES:
        if loss in g:
            row[loss] = accuracy_interval(g[loss])
            fit[loss] = _fit_means(g[loss])
    for name, rs in refs.items():
        if rs:
            fit[name] = _fit_means(rs)
    row["fit"] = fit
    return row, warning


def _gap(runs_index: Runs, key: tuple, weak: list[RunRecord], ceiling: list[RunRecord]) -> dict:
    """ceiling - weak between seed means; its SE replicate-aware (seeds x test pairs, empirics.readers.claims)
    from 2
    seeds on; with one seed, that run's test-sampling SE (no replicate variance can be seen)."""
    w, st, head, _ = key
    gap = weak_to_strong(runs_index, w, st, head)
    if gap is None:
        mean = lambda rs, k: sum(x.test[k] for x in rs) / len(rs)  # noqa: E731
        gap = {
            "gap": mean(ceiling, "accuracy") - mean(weak, "accuracy"),
            "se": math.sqrt(mean(ceiling, "accuracy_se") ** 2 + mean(weak, "accuracy_se") ** 2),
        }
        kind = "one run's test-sampling SE (one seed)"
    else:
        kind = "replicate-aware SE (seeds x test pairs)"
    return {
        "gap_se_kind": kind,
        "ceiling_minus_weak": gap["gap"],
        "gap_se": gap["se"],
        "weak_really_weaker": gap["gap"] >= GAP_SE * gap["se"],
    }


def _fit_means(runs: list[RunRecord]) -> dict:
    """Mean over a setting's runs of the ground-truth accuracy on the fit part, the agreement with the run's
    own labels on its held-out part, and the test accuracy: overfitting and the chosen L2 at a glance."""
    fits = [r.metrics.get("fit") for r in runs]
    if not all(fits):
        return {}
    out = {
        "fit_accuracy": float(np.mean([f["fit_accuracy"] for f in fits])),
        "test_accuracy": float(np.mean([r.test["accuracy"] for r in runs])),
    }
    if all("heldout_agreement" in f for f in fits):
        out["heldout_agreement"] = float(np.mean([f["heldout_agreement"] for f in fits]))
    l2 = sorted({r.metrics["head_l2"] for r in runs if "head_l2" in r.metrics})
    if l2:
        out["head_l2"] = l2
    return out


def teacher_vs_rules(
    weak_model: str, weak_runs: list[RunRecord], baselines: dict[str, RunRecord]
) -> list[str]:
    """A teacher no better than a rule that reads no model is flagged (its test accuracy is not 2 SE above
    the rule's), with how often it agrees with the rule."""
    out = []
    for rule, b in baselines.items():
        if rule == "first-chosen":
            continue
        for wr in weak_runs:
            a, r = wr.test, b.test
            se = math.sqrt(a["accuracy_se"] ** 2 + r["accuracy_se"] ** 2)
            if a["accuracy"] - r["accuracy"] < 2 * se:
                agree = _agreement(wr, b)
                out.append(
                    f"teacher {weak_model} (seed {wr.spec.seed}) is no better than the rule {rule}: "
                    f"{a['accuracy']:.4f} vs {r['accuracy']:.4f} (< 2 SE = {2 * se:.4f}); they agree on "
                    f"{100 * agree:.1f} % of test pairs"
                )
    return out


def _agreement(a: RunRecord, b: RunRecord) -> float:
    pa = [r["prob"] > 0.5 for r in a.predictions("test")]
    pb = [r["prob"] > 0.5 for r in b.predictions("test")]
    return float(np.mean(np.array(pa) == np.array(pb)))


def summary_markdown(summary: dict) -> str:
    cols = ["weak", "ceiling", *LOSSES]
    lines = ["| weak -> strong | head | noise | " + " | ".join(cols) + " |", "|" + " --- |" * (3 + len(cols))]
    for r in summary["rows"]:
        cells = [
            f"{100 * r[c][0]:.1f} [{100 * r[c][1]:.1f}, {100 * r[c][2]:.1f}]" if c in r else "" for c in cols
        ]
        lines.append(
            f"| {r['weak_model']} -> {r['strong_model']} | {r['head']} | {r['noise']} | "
            + " | ".join(cells)
            + " |"
        )
    text = (
        "Test accuracy (%) with 95 % intervals (Student t over seeds, or Wilson for one run).\n\n"
        + "\n".join(lines)
        + "\n"
    )
    fit_lines = []
    for r in summary["rows"]:
        for name, f in r.get("fit", {}).items():
            if f:
                l2 = ", ".join(f"{v:g}" for v in f.get("head_l2", [])) or "-"
                held = f"{100 * f['heldout_agreement']:.1f}" if "heldout_agreement" in f else "-"
                fit_lines.append(
                    f"| {r['weak_model']} -> {r['strong_model']} | {r['head']} | {r['noise']} | {name} | "
                    f"{100 * f['fit_accuracy']:.1f} | {held} | {100 * f['test_accuracy']:.1f} | {l2} |"
                )
    if fit_lines:
        text += (
            "\nTrain and test (mean over seeds): ground-truth accuracy on the part each run fit, agreement "
            "with its own training labels on its held-out part, test accuracy, and the L2 the held-out rule "
            "chose.\n\n| weak -> strong | head | noise | run | fit accuracy | held-out agreement | test "
            "accuracy | L2 |\n" + "|" + " --- |" * 8 + "\n" + "\n".join(fit_lines) + "\n"
        )
    if summary.get("baselines"):
        text += (
            "\nBaselines that read no model (test accuracy %): "
            + "; ".join(
                f"{name} {100 * a:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
                for name, (a, lo, hi) in summary["baselines"].items()
            )
            + "\n"
        )
    if summary["warnings"]:
        text += "\n" + "\n".join(f"- WARNING: {w}" for w in summary["warnings"]) + "\n"
    return text
