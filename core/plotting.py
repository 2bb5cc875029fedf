"""Figure helpers both halves draw with: pyplot on a headless backend, and the gain-against-disagreement
scatter of Theorem 2 (the theory's synthetic students and the audit's real runs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .io import atomic_savefig


def pyplot():
    """matplotlib.pyplot on the headless Agg backend (imported lazily: plotting is never needed at import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scatter_gain_vs_disagreement(
    groups: dict[str, np.ndarray], path: Path, title: str, ylabel: str, diagonal: str
) -> None:
    """Gain against disagreement, one scatter per group of (disagreement, gain) points, with the y = x
    line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.3, 5))
    top = 1e-6
    for label, pts in groups.items():
        pts = np.asarray(pts, np.float64).reshape(-1, 2)
        if len(pts):
            ax.scatter(pts[:, 0], pts[:, 1], s=12, alpha=0.6, label=label)
            top = max(top, float(pts.max()))  # the diagonal spans the positive range of the points
    ax.plot([0, top], [0, top], "k--", lw=1, label=diagonal)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_xlabel("disagreement KL(F_sw, F_w)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)
