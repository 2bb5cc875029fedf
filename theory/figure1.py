"""Regenerate Figure 1 (mass covering vs mode seeking) from a mixture: PNG, PDF and a JSON of the fits."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from core.io import atomic_savefig, atomic_write_text

from .gaussian_mixture import Mixture, forward_fit_closed_form, forward_fit_direct, reverse_local_minima

DEFAULT_MIXTURE = Mixture(weights=(0.6, 0.4), means=(-3.0, 3.0), stds=(1.0, 1.0))


def fit_figure1(mix: Mixture) -> dict:
    """Both fits, every certified local minimum of the reverse fit, and the numbers the checks use."""
    m_cf, s_cf = forward_fit_closed_form(mix)
    m_dir, s_dir, grad = forward_fit_direct(mix)
    minima = reverse_local_minima(mix)
    return {
        "mixture": {"weights": list(mix.weights), "means": list(mix.means), "stds": list(mix.stds)},
        "forward_closed_form": {"m": m_cf, "s": s_cf},
        "forward_direct": {"m": m_dir, "s": s_dir, "grad_norm": grad},
        "reverse_minima": [f.to_json() for f in minima],
    }


def _normal_pdf(x, m, s):
    return np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))


def write_figure1(mix: Mixture, out_dir: str | Path) -> dict:
    """Fit, then write figure1.png, figure1.pdf and figure1.json under out_dir; returns the fit dict."""
    from .plots import pyplot

    plt = pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fit = fit_figure1(mix)
    lo = min(mu - 4 * sd for mu, sd in zip(mix.means, mix.stds, strict=True))
    hi = max(mu + 4 * sd for mu, sd in zip(mix.means, mix.stds, strict=True))
    x = np.linspace(lo, hi, 1000)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.fill_between(x, np.exp(mix.logpdf(x)), color="0.85", label="p (mixture)")
    f = fit["forward_closed_form"]
    ax.plot(
        x,
        _normal_pdf(x, f["m"], f["s"]),
        color="tab:blue",
        lw=2,
        label=f"forward KL(p||q): mass covering (m={f['m']:.2f}, s={f['s']:.2f})",
    )
    for r in fit["reverse_minima"]:
        style = "-" if r["is_global"] else "--"
        tag = "global" if r["is_global"] else "local"
        ax.plot(
            x,
            _normal_pdf(x, r["m"], r["s"]),
            style,
            color="tab:red",
            lw=2 if r["is_global"] else 1.2,
            label=f"reverse KL(q||p), {tag} min (m={r['m']:.2f}, s={r['s']:.2f}, KL={r['kl']:.3f})",
        )
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title("Figure 1: forward KL covers the mass, reverse KL seeks a mode")
    # below the axes: inside, wherever it goes, it hides a peak of some mixture
    legend = ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    fig.tight_layout()
    layout = _layout(fig, ax, legend)
    for ext in ("png", "pdf"):
        atomic_savefig(fig, out / f"figure1.{ext}", dpi=150)
    plt.close(fig)
    atomic_write_text(out / "figure1.json", json.dumps(fit, indent=2))
    return fit | {"layout": layout}


def _layout(fig, ax, legend) -> dict:
    """Where the legend lies and where each curve peaks, in the figure's pixels (as saved): {"legend":
    [x0, y0, x1, y1], "peaks": {label: [x, y]}} (the mixture's peak under "p (mixture)")."""
    fig.canvas.draw()
    box = legend.get_window_extent(fig.canvas.get_renderer())
    curves = [(line.get_label(), *line.get_data()) for line in ax.get_lines()]
    for coll in ax.collections:  # the filled mixture: its top edge
        xy = np.concatenate([p.vertices for p in coll.get_paths()])
        curves.append((coll.get_label(), xy[:, 0], xy[:, 1]))
    peaks = {}
    for label, xs, ys in curves:
        i = int(np.argmax(ys))
        peaks[label] = [float(v) for v in ax.transData.transform((xs[i], ys[i]))]
    return {"legend": [float(box.x0), float(box.y0), float(box.x1), float(box.y1)], "peaks": peaks}
