"""Figures of a results folder, regenerated from saved results: gain vs disagreement over all real runs,
accuracy per loss for each weak -> strong pair (the layout of the paper's Figures 2-4), accuracy against
noise, and the measured gaps against Lemma 1's bound."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.io import atomic_savefig
from core.plotting import pyplot, scatter_gain_vs_disagreement

from ..registries.losses import LOSS_REGISTRY, LOSSES


def drawn(ax) -> dict:
    """What a panel shows, read back from its artists (data coordinates): {"lines": {label: y values},
    "errorbars": {label: {"x", "y", "low", "high"}}, "points": {label: [[x, y], ...]}, "spans": [[y0, y1]]}.
    The tests read figures through this, never through file sizes."""
    from matplotlib.container import ErrorbarContainer
    from matplotlib.patches import Rectangle

    out = {"lines": {}, "errorbars": {}, "points": {}, "spans": []}
    in_bars = set()
    for c in ax.containers:
        if isinstance(c, ErrorbarContainer):
            line, _, (bars, *_) = c.lines
            in_bars.add(line)
            segs = bars.get_segments()
            out["errorbars"][c.get_label()] = {
                "x": [float(v) for v in line.get_xdata()],
                "y": [float(v) for v in line.get_ydata()],
                "low": [float(seg[0][1]) for seg in segs],
                "high": [float(seg[1][1]) for seg in segs],
            }
    for line in ax.get_lines():
        if line not in in_bars:
            out["lines"][line.get_label()] = [float(v) for v in line.get_ydata()]
    for coll in ax.collections:
        if coll.get_label() and not coll.get_label().startswith("_"):
            out["points"][coll.get_label()] = coll.get_offsets().tolist()
    for patch in ax.patches:
        if isinstance(patch, Rectangle):
            out["spans"].append([float(patch.get_y()), float(patch.get_y() + patch.get_height())])
        else:
            ys = np.asarray(patch.get_xy())[:, 1]
            out["spans"].append([float(ys.min()), float(ys.max())])
    return out


def gain_vs_disagreement(audit_rows: list[dict], path: Path) -> None:
    groups = {
        split: [(r["kl_sw_w"], r["gain"]) for r in audit_rows if r["split"] == split]
        for split in ("test", "train_w2s")
    }
    scatter_gain_vs_disagreement(
        groups,
        path,
        "Real runs: gain vs disagreement",
        "gain L(F*, F_w) - L(F*, F_sw)",
        "y = x (gain = disagreement)",
    )


# a marker and a colour per loss, from its registry entry
MARKERS = {name: e.marker for name, e in LOSS_REGISTRY.items()}
COLORS = {name: e.color for name, e in LOSS_REGISTRY.items()}


def _interval(value: tuple[float, float, float]) -> tuple[float, list[float]]:
    """(mean, [below, above]) in points from a (mean, low, high) interval: asymmetric error bars."""
    mean, low, high = (100 * v for v in value)
    return mean, [mean - low, high - mean]


def accuracy_per_loss(summary: dict, path: Path) -> dict | None:
    """The layout of the paper's Figures 2-4: one panel per (weak -> strong, head), test accuracy per loss
    as a point with its 95 % interval (over seeds), weak and ceiling as bands; the y-axis spans weak to
    ceiling with a margin, so a difference is seen against the weak-to-ceiling gap (no bars cut at an
    arbitrary floor). Returns what was drawn per panel title (:func:`drawn`); None when nothing is."""
    rows = [r for r in summary["rows"] if r["noise"] == "none"]
    if not rows:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 4), squeeze=False)
    for ax, r in zip(axes[0], rows, strict=True):
        losses = [loss for loss in LOSSES if loss in r]
        values = []
        for i, loss in enumerate(losses):
            mean, err = _interval(r[loss])
            ax.errorbar(
                [i],
                [mean],
                yerr=[[err[0]], [err[1]]],
                marker=MARKERS[loss],
                color=COLORS[loss],
                capsize=3,
                label=loss,
            )
            values += [mean - err[0], mean + err[1]]
        for key, color in (("weak", "0.5"), ("ceiling", "k")):
            if key in r:
                mean, err = _interval(r[key])
                ax.axhspan(mean - err[0], mean + err[1], color=color, alpha=0.15, lw=0)
                ax.axhline(
                    mean, color=color, ls=":" if key == "weak" else "--", lw=1, label=f"{key} {mean:.1f}"
                )
                values += [mean - err[0], mean + err[1]]
        ax.set_xticks(range(len(losses)), [loss.replace("_", "\n") for loss in losses], fontsize=6)
        ax.set_xlim(-0.6, len(losses) - 0.4)
        span = max(values) - min(values)
        ax.set_ylim(min(values) - 0.25 * span, max(values) + 0.25 * span)
        ax.set_ylabel("test accuracy (%), 95 % interval")
        ax.set_title(f"{r['weak_model']} -> {r['strong_model']}\n({r['head']} head, no noise)", fontsize=8)
        bands = [line for line in ax.get_lines() if line.get_label().startswith(("weak ", "ceiling "))]
        ax.legend(handles=bands, fontsize=7, loc="lower right")  # the losses are named on the x-axis
    fig.tight_layout()
    shown = {ax.get_title(): drawn(ax) for ax in axes[0]}
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)
    return shown


def accuracy_vs_noise(summary: dict, path: Path) -> dict | None:
    """Test accuracy against the fraction of weak labels flipped, one line per loss (marker and colour per
    loss, solid for reverse losses), 95 % intervals; the weak teacher's clean accuracy as a dotted line.
    Returns what was drawn per panel title (:func:`drawn`); None when no setting has two noise levels."""
    groups = {}
    for r in summary["rows"]:
        level = (
            0.0
            if r["noise"] == "none"
            else float(r["noise"].removeprefix("flip"))
            if r["noise"].startswith("flip")
            else None
        )
        if level is not None:
            groups.setdefault((r["weak_model"], r["strong_model"], r["head"]), []).append((level, r))
    groups = {k: v for k, v in groups.items() if len(v) > 1}
    if not groups:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups), 4), squeeze=False)
    for ax, ((w, st, head), pts) in zip(axes[0], sorted(groups.items()), strict=True):
        pts.sort(key=lambda t: t[0])
        for loss in LOSSES:
            have = [(lvl, _interval(r[loss])) for lvl, r in pts if loss in r]
            if len(have) > 1:
                ax.errorbar(
                    [h[0] for h in have],
                    [h[1][0] for h in have],
                    yerr=np.array([h[1][1] for h in have]).T,
                    marker=MARKERS[loss],
                    color=COLORS[loss],
                    ms=4,
                    capsize=2,
                    label=loss,
                    ls="-" if "reverse" in loss else "--",
                )
        clean = dict(pts).get(0.0, {})
        if "weak" in clean:
            ax.axhline(100 * clean["weak"][0], color="0.5", ls=":", lw=1, label="weak teacher (clean)")
        ax.set_xlabel("fraction of weak labels flipped")
        ax.set_ylabel("test accuracy (%), 95 % interval")
        ax.set_title(f"{w} -> {st} ({head} head)", fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    shown = {ax.get_title(): drawn(ax) for ax in axes[0]}
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)
    return shown


def bound_tightness(audit_rows: list[dict], path: Path) -> dict | None:
    """Lemma 1 / Theorem 1 on real runs: |L(F*,F_sw) - L(F*,F_w)| against its bound C* sqrt(d) (d in each
    direction), log-log, with y = x: every point lies below it; its distance below is the looseness. Returns
    what was drawn (:func:`drawn`); None when no run has a disagreement above 0."""
    from core.bounds import c_sharp

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.3, 5))
    lo, hi = np.inf, 0.0
    for direction, key, marker in (("forward", "kl_w_sw", "o"), ("reverse", "kl_sw_w", "s")):
        for split, color in (("test", "tab:blue"), ("train_w2s", "tab:orange")):
            rows = [r for r in audit_rows if r["split"] == split and r[key] > 0]
            if not rows:
                continue
            bound = np.array([c_sharp(r["gamma"]) * np.sqrt(r[key]) for r in rows])
            gap = np.maximum(np.array([abs(r["gain"]) for r in rows]), 1e-12)
            ax.scatter(
                bound, gap, s=10, alpha=0.5, marker=marker, color=color, label=f"{split}, d = {direction}"
            )
            lo, hi = min(lo, gap.min(), bound.min()), max(hi, bound.max(), gap.max())
    if hi == 0.0:
        plt.close(fig)
        return None
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x (the bound)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("bound C* sqrt(d)")
    ax.set_ylabel("|L(F*, F_sw) - L(F*, F_w)| (cross-entropy to the truth)")
    ax.set_title("Lemma 1 / Theorem 1 on real runs: measured gap vs bound", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    shown = drawn(ax)
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)
    return shown


def read_train_logs(results: Path) -> dict[str, dict]:
    """Each fine-tuning run's train_log.json (empirics.training.finetune.StepLog), by run name; {} when
    none."""
    import json

    return {p.parent.name: json.loads(p.read_text()) for p in sorted(Path(results).glob("*/train_log.json"))}


PANELS = (
    ("loss", "training loss (the run's objective)"),
    ("lr", "learning rate"),
    ("grad_norm", "gradient norm"),
)


def training_curves(logs: dict[str, dict], path: Path) -> dict[str, dict[str, list]] | None:
    """Loss, learning rate and gradient norm (before clipping) per optimiser step, one line per run, coloured
    by loss (teachers and ceilings in grey). Returns what was drawn, read back from the figure's lines
    ({panel: {run: y values}}), or None when no run logged steps (nothing is written)."""
    logs = {name: log for name, log in logs.items() if log.get("steps")}
    if not logs:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (key, label) in zip(axes, PANELS, strict=True):
        for name, log in logs.items():
            loss = next((x for x in LOSSES if f"__{x}__" in name), None)
            steps, values = [s["step"] for s in log["steps"]], [s[key] for s in log["steps"]]
            ax.plot(steps, values, lw=0.8, alpha=0.7, label=name, color=COLORS[loss] if loss else "0.5")
        ax.set_xlabel("optimiser step")
        ax.set_title(label, fontsize=9)
        if key == "grad_norm":
            ax.set_yscale("log")
    used = [x for x in LOSSES if any(f"__{x}__" in n for n in logs)]
    handles = [plt.Line2D([], [], color=COLORS[x], label=x) for x in used]
    axes[0].legend(handles=[*handles, plt.Line2D([], [], color="0.5", label="teacher / ceiling")], fontsize=6)
    fig.tight_layout()
    drawn = {
        key: {line.get_label(): [float(y) for y in line.get_ydata()] for line in ax.get_lines()}
        for ax, (key, _) in zip(axes, PANELS, strict=True)
    }
    atomic_savefig(fig, path, dpi=130)
    plt.close(fig)
    return drawn


# the effects the paper reports for reverse over forward losses, in points (GPT-2 on CAI-Harmless; secondary)
PAPER_RANGE = {"reverse_kl_beats_forward_kl": (0.6, 1.8), "reverse_ce_beats_forward_ce": (0.6, 1.8)}


def _verdict_rows(claims: list[dict]) -> list[tuple[str, str, dict]]:
    """(claim key, row label, numbers) of each decided claim, pooled first, then each of its panels."""
    rows = []
    for c in claims:
        if c.get("delta") is None or c.get("verdict") == "identity":
            continue
        rows.append((c["key"], f"{c['key']} ({c['verdict']})", c))
        for panel, b in c.get("extra", {}).get("by_panel", {}).items():
            if len(c["extra"]["by_panel"]) > 1:
                rows.append((c["key"], f"  {panel} ({b.get('verdict', '-')})", b))
    return rows


def verdicts(claims: list[dict], path: Path) -> dict | None:
    """One picture of a regime's verdicts: each claim's a - b (pts) with its 95 % interval, pooled and per
    panel, against zero; its MDE as a pair of ticks at +-MDE (an effect outside them would have been seen with
    80 % power); the paper's reported range as a band on the claims it reports one for. Returns
    :func:`drawn` of the panel and the row labels; None when no claim was decided."""
    rows = _verdict_rows(claims)
    if not rows:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(rows) + 2), 5.5))
    pooled = [i for i, (_, label, _) in enumerate(rows) if not label.startswith(" ")]
    panels = [i for i in range(len(rows)) if i not in pooled]
    for kind, idx, color, marker in (("pooled", pooled, "k", "o"), ("per panel", panels, "0.45", ".")):
        if not idx:
            continue
        mean = [100 * rows[i][2]["delta"] for i in idx]
        low = [100 * (rows[i][2]["delta"] - rows[i][2]["ci95"][0]) for i in idx]
        high = [100 * (rows[i][2]["ci95"][1] - rows[i][2]["delta"]) for i in idx]
        ax.errorbar(idx, mean, yerr=[low, high], ls="none", capsize=3, label=kind, color=color, marker=marker)
    x, mde = range(len(rows)), [100 * r[2]["mde"] for r in rows]
    ax.plot(x, mde, ls="none", marker="_", ms=12, color="tab:blue", label="+MDE")
    ax.plot(x, [-m for m in mde], ls="none", marker="_", ms=12, color="tab:blue", label="-MDE")
    ax.axhline(0, color="k", lw=0.8, label="zero")
    for i, (key, _, _) in enumerate(rows):
        if key in PAPER_RANGE and i in pooled:
            lo, hi = PAPER_RANGE[key]
            ax.add_patch(plt.Rectangle((i - 0.4, lo), 0.8, hi - lo, color="tab:orange", alpha=0.35, lw=0))
    ax.set_xticks(list(x), [label for _, label, _ in rows], rotation=75, ha="right", fontsize=6)
    ax.set_ylabel("a - b, test accuracy (points), 95 % interval")
    ax.set_title("Verdicts: pooled and per panel; ticks +-MDE; band: the paper's reported range", fontsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: it covers no interval
    fig.tight_layout()
    shown = drawn(ax) | {"rows": [label for _, label, _ in rows]}
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)
    return shown
