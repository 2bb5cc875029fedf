"""Figures of a results folder, regenerated from saved results: gain vs disagreement over all real runs,
accuracy per loss for each weak -> strong pair (the layout of the paper's Figures 2-4), accuracy against
noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.io import atomic_savefig
from theory.plots import pyplot, scatter_gain_vs_disagreement

from .config import LOSSES


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


def accuracy_per_loss(summary: dict, path: Path) -> None:
    """Grouped bars: one group per (weak -> strong, head), one bar per loss, weak and ceiling as lines."""
    rows = [r for r in summary["rows"] if r["noise"] == "none"]
    if not rows:
        return
    plt = pyplot()
    fig, axes = plt.subplots(1, len(rows), figsize=(4.5 * len(rows), 4), squeeze=False)
    for ax, r in zip(axes[0], rows, strict=True):
        losses = [loss for loss in LOSSES if loss in r]
        x = np.arange(len(losses))
        ax.bar(
            x,
            [100 * r[loss][0] for loss in losses],
            yerr=[100 * r[loss][1] for loss in losses],
            capsize=3,
            color=["tab:blue" if "forward" in loss or loss == "confidence" else "tab:red" for loss in losses],
        )
        for key, style in (("weak", ":"), ("ceiling", "--")):
            if key in r:
                ax.axhline(100 * r[key][0], color="k", ls=style, lw=1, label=f"{key} {100 * r[key][0]:.1f}")
        ax.set_xticks(x, [loss.replace("_", "\n") for loss in losses], fontsize=6)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{r['weak_model']} -> {r['strong_model']}\n({r['head']} head)", fontsize=8)
        ax.legend(fontsize=7)
        lo = min([100 * r[loss][0] for loss in losses] + [100 * r.get("weak", (1, 0))[0]])
        ax.set_ylim(max(0, lo - 10), None)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)


def accuracy_vs_noise(summary: dict, path: Path) -> None:
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
        return
    plt = pyplot()
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4), squeeze=False)
    for ax, ((w, st, head), pts) in zip(axes[0], sorted(groups.items()), strict=True):
        pts.sort(key=lambda t: t[0])
        for loss in LOSSES:
            have = [(lvl, r[loss]) for lvl, r in pts if loss in r]
            if len(have) > 1:
                ax.errorbar(
                    [h[0] for h in have],
                    [100 * h[1][0] for h in have],
                    yerr=[100 * h[1][1] for h in have],
                    marker="o",
                    ms=3,
                    capsize=2,
                    label=loss,
                    ls="-" if "reverse" in loss else "--",
                )
        ax.set_xlabel("fraction of weak labels flipped")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{w} -> {st} ({head} head)", fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)
