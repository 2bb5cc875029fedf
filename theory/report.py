"""The theory report: a Markdown and a JSON table of every check, and the tightness plot.

Written both by ``w2s-theory report`` (which runs the checks itself) and at the end of ``pytest paper_checks``
(from the results the tests recorded), so the report always reflects what was actually checked.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from .bounds import c1, c2, c_sharp
from .checks import CheckResult


def environment() -> dict:
    """Where and with what the report was made (saved next to the results)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    versions = {}
    for pkg in ("numpy", "scipy", "sympy", "mpmath", "torch", "matplotlib", "hypothesis"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"git_commit": commit, "python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count(), "packages": versions, "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _fmt(x) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def _cell(x) -> str:
    return str(x).replace("|", "\\|")  # absolute values in statements must not split the table


def markdown_table(results: list[CheckResult]) -> str:
    head = ("| item | statement | provenance | instances | violations | worst slack | tightness |\n"
            "| --- | --- | --- | --- | --- | --- | --- |\n")
    rows = ["| " + " | ".join(_cell(c) for c in (r.item, r.statement, r.provenance, r.instances, r.violations,
                                                  _fmt(r.worst_slack), r.tightness)) + " |" for r in results]
    return head + "\n".join(rows) + "\n"


def suprema_table(searches: list[dict]) -> str:
    lines = ["| gamma | k | direction | measured sup | C* | C_2 | C_1 | sup / C* |", "| --- " * 8 + "|"]
    for s in searches:
        lines.append(f"| {s['gamma']:g} | {s['k']} | {s['direction']} | {s['best_ratio']:.6f} | {s['c_sharp']:.6f} "
                     f"| {s['c2']:.6f} | {s['c1']:.6f} | {s['ratio_to_c_sharp']:.7f} |")
    return "\n".join(lines) + "\n"


def plot_tightness(searches: list[dict], path: Path) -> None:
    """Measured supremum of |gap|/sqrt(d) against gamma, with C_1, C_2 and C* drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    g = np.logspace(-4.2, np.log10(0.24), 200)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(g, [c1(x) for x in g], label="C_1 = 1/(sqrt 2 gamma)  (Lemma 1, reconstructed)")
    ax.loglog(g, [c2(x) for x in g], label="C_2 = sqrt(2/gamma)  (Theorem 1, reconstructed)")
    ax.loglog(g, [c_sharp(x) for x in g], "k:", label="C* = sqrt(2(1-gamma)/gamma)  (witness limit)")
    for direction, marker in (("forward", "o"), ("reverse", "x")):
        pts = [(s["gamma"], s["best_ratio"]) for s in searches if s["direction"] == direction]
        if pts:
            ax.loglog(*zip(*pts), marker, ms=7, mfc="none", label=f"measured sup, d = KL {direction} (50-digit)")
    ax.set_xlabel("gamma (probability floor)")
    ax.set_ylabel("sup |L(F*,F_sw) - L(F*,F_w)| / sqrt(d)")
    ax.set_title("Tightness of Lemma 1 / Theorem 1")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def write_report(results: list[CheckResult], out_dir: str | Path, command: str) -> Path:
    """Write theory_report.md, theory_report.json and tightness_vs_gamma.png; returns the Markdown path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    searches = [s for r in results for s in r.details.get("searches", [])]
    env = environment()
    payload = {"command": command, "environment": env, "checks": [r.summary() for r in results],
               "adversarial_suprema": searches}
    tmp = out / "theory_report.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2, default=float))
    tmp.replace(out / "theory_report.json")
    md = ["# Theory report", "", f"Made by `{command}` at {env['time_utc']} (commit {env['git_commit']}).", "",
          "Each row computes both sides of its statement on every instance; a violation is lhs > rhs + tolerance.",
          "Worst slack is min(rhs - lhs); for identities it is -max|lhs - rhs|. Provenance says whether the",
          "statement is the paper's or a reconstruction (see THEORY.md).", "", markdown_table(results)]
    if searches:
        plot_tightness(searches, out / "tightness_vs_gamma.png")
        md += ["## Measured suprema of |gap| / sqrt(d) (adversarial search, 50-digit verified)", "",
               suprema_table(searches), "", "![tightness](tightness_vs_gamma.png)", ""]
    sep = next((r for r in results if r.key == "figure1_separations"), None)
    if sep is not None:
        md += ["## Figure 1 separations (1/2 N(-a,1) + 1/2 N(a,1))", "",
               f"a_sn = {sep.details['a_sn']:.4f} (mode-seeking minima appear), "
               f"a* = {sep.details['a_star']:.4f} (they become global).", ""]
        md += ["| a | local minima (m, s, KL; * = global) |", "| --- | --- |"]
        for row in sep.details["sweep"]:
            mins = "; ".join(f"({m['m']:.3f}, {m['s']:.3f}, {m['kl']:.4f}){'*' if m['is_global'] else ''}"
                             for m in row["minima"])
            md.append(f"| {row['a']:.2f} | {mins} |")
        md.append("")
    path = out / "theory_report.md"
    path.write_text("\n".join(md))
    return path
