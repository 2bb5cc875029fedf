"""Figures of the theory report, each drawn from saved check results (never by hand)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.io import atomic_savefig
from core.plotting import pyplot, scatter_gain_vs_disagreement

from .bounds import c1, c2, c_sharp


def plot_tightness(searches: list[dict], path: Path) -> None:
    """Measured supremum of |gap|/sqrt(d) against gamma, with C_1, C_2 and C* drawn."""
    plt = pyplot()
    g = np.logspace(-4.2, np.log10(0.24), 200)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(g, [c1(x) for x in g], label="C_1 = 1/(sqrt 2 gamma)  (Lemma 1, reconstructed)")
    ax.loglog(g, [c2(x) for x in g], label="C_2 = sqrt(2/gamma)  (Theorem 1, reconstructed)")
    ax.loglog(g, [c_sharp(x) for x in g], "k:", label="C* = sqrt(2(1-gamma)/gamma)  (witness limit)")
    for direction, marker in (("forward", "o"), ("reverse", "x")):
        pts = [(s["gamma"], s["best_ratio"]) for s in searches if s["direction"] == direction]
        if pts:
            ax.loglog(
                *zip(*pts, strict=True),
                marker,
                ms=7,
                mfc="none",
                label=f"measured sup, d = KL {direction} (50-digit)",
            )
    ax.set_xlabel("gamma (probability floor)")
    ax.set_ylabel("sup |L(F*,F_sw) - L(F*,F_w)| / sqrt(d)")
    ax.set_title("Tightness of Lemma 1 / Theorem 1")
    ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)


def plot_gain_vs_disagreement(scatter: dict, path: Path) -> None:
    """Synthetic students (simplex head, F* realizable): Theorem 2 puts the reverse-KL ones on or above y =
    x."""
    scatter_gain_vs_disagreement(
        {f"{name}-KL student": scatter.get(name, []) for name in ("forward", "reverse")},
        path,
        "Gain vs disagreement (simplex head, F* realizable)",
        "gain KL(F*, F_w) - KL(F*, F_sw)",
        "y = x (Theorem 2: reverse on or above)",
    )


def plot_label_noise(sweep: dict, path: Path) -> None:
    """True error and accuracy of teacher and students against the flip rate rho, 95 % intervals."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    rhos = [r["rho"] for r in sweep["rows"]]
    for ax, metric, label in ((axes[0], "kl", "KL(F*, model)"), (axes[1], "acc", "accuracy vs argmax F*")):
        for name, color in (("teacher", "0.5"), ("forward", "tab:blue"), ("reverse", "tab:red")):
            m = np.array([r[name][metric] for r in sweep["rows"]])
            ax.errorbar(
                rhos,
                m[:, 0],
                yerr=[m[:, 0] - m[:, 1], m[:, 2] - m[:, 0]],
                color=color,
                marker="o",
                ms=4,
                capsize=3,
                label=name,
            )
        ax.set_xlabel("fraction of weak labels flipped (rho)")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle("Weak-label noise (synthetic, k = 2, simplex head)")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)


def plot_finite_sample(details: dict, path: Path) -> None:
    """Spread over seeds of the population slack against n, log-log, with the n^(-1/2) reference."""
    plt = pyplot()
    ns, sd = np.array(details["ns"], float), np.array(details["sd"])
    fig, ax = plt.subplots(figsize=(5.2, 4))
    ax.loglog(ns, sd, "o-", label=f"sd over {details['seeds']} seeds (slope {details['slope']:.3f})")
    ax.loglog(ns, sd[0] * (ns / ns[0]) ** -0.5, "k:", label="n^(-1/2)")
    ax.set_xlabel("n (weak-labelled sample size)")
    ax.set_ylabel("sd of population slack")
    ax.set_title("Finite samples: Theorem 2 slack off-sample")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=150)
    plt.close(fig)
