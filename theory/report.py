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

from . import plots
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


def write_report(results: list[CheckResult], out_dir: str | Path, command: str, extras: dict | None = None) -> Path:
    """Write theory_report.md, theory_report.json and the plots; returns the Markdown path.

    ``extras`` may hold "scatter", "convexity_table" and "label_noise" (see theory.suite)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    extras = extras or {}
    searches = [s for r in results for s in r.details.get("searches", [])]
    env = environment()
    payload = {"command": command, "environment": env, "checks": [r.summary() for r in results],
               "adversarial_suprema": searches, **{k: v for k, v in extras.items() if k != "scatter"},
               "gain_vs_disagreement": extras.get("scatter")}
    tmp = out / "theory_report.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2, default=float))
    tmp.replace(out / "theory_report.json")
    md = ["# Theory report", "", f"Made by `{command}` at {env['time_utc']} (commit {env['git_commit']}).", "",
          "Each row computes both sides of its statement on every instance; a violation is lhs > rhs + tolerance.",
          "Worst slack is min(rhs - lhs); for identities it is -max|lhs - rhs|. Provenance says whether the",
          "statement is the paper's or a reconstruction (see THEORY.md).", "", markdown_table(results)]
    if searches:
        plots.plot_tightness(searches, out / "tightness_vs_gamma.png")
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
    md += last_layer_sections(results, extras, out)
    path = out / "theory_report.md"
    path.write_text("\n".join(md))
    return path


def _ci(t) -> str:
    return f"{t[0]:.4f} [{t[1]:.4f}, {t[2]:.4f}]"


def last_layer_sections(results: list[CheckResult], extras: dict, out: Path) -> list[str]:
    """Markdown (and plots) for the last-layer theorems: forward failure rates, finite samples, the 2 x 2
    convexity table, label noise, gain versus disagreement."""
    md = []
    by_key = {r.key: r for r in results}
    fc = by_key.get("forward_converse")
    if fc is not None:
        md += ["## Forward KL: how often Theorem 2's inequality and its analogue fail", "",
               "Certified forward projections on non-degenerate realizable instances; a violation is slack < -(g + 1e-12).",
               "", "| teacher | instances | violates KL(F*,F_sw) <= KL(F*,F_w) - KL(F_sw,F_w) | violates ... - KL(F_w,F_sw) |",
               "| --- | --- | --- | --- |"]
        for kind, row in fc.details["by_teacher"].items():
            n = max(row["instances"], 1)
            md.append(f"| {kind} | {row['instances']} | {row['violates_theorem2_form']} ({row['violates_theorem2_form'] / n:.0%}) "
                      f"| {row['violates_forward_analogue']} ({row['violates_forward_analogue'] / n:.0%}) |")
        md.append("")
    fs = by_key.get("finite_sample_rate")
    if fs is not None:
        d = fs.details
        plots.plot_finite_sample(d, out / "finite_sample_rate.png")
        md += ["## Finite samples (R6)", "", f"Slope of log sd(population slack) on log n: **{d['slope']:.3f}**, "
               f"bootstrap 95 % CI [{d['slope_ci95'][0]:.3f}, {d['slope_ci95'][1]:.3f}] ({d['seeds']} seeds per n).", "",
               "| n | sd of slack | mean slack (+- se) | n x mean |", "| --- | --- | --- | --- |"]
        for n, sd, m, se, nm in zip(d["ns"], d["sd"], d["mean"], d["mean_se"], d["n_times_mean"]):
            md.append(f"| {n} | {sd:.3e} | {m:.3e} +- {se:.1e} | {nm:.3f} |")
        md += ["", "![finite samples](finite_sample_rate.png)", ""]
    table = extras.get("convexity_table")
    if table:
        md += ["## Which convexity gives which guarantee (R8)", "",
               "P: KL(F*,F_sw) <= KL(F*,F_w) - KL(F_sw,F_w); D: KL(F_sw,F*) <= KL(F_w,F*) - KL(F_w,F_sw). "
               "Violation rate (worst slack) per teacher logit-noise level; exact by theory: P for reverse/simplex, "
               "D (an identity) for forward/softmax.", "",
               "| loss / head | sigma | counted | P violated | P worst | D violated | D worst |",
               "| --- | --- | --- | --- | --- | --- | --- |"]
        for cell, levels in table.items():
            for sigma, r in levels.items():
                if r["counted"]:
                    md.append(f"| {cell} | {sigma} | {r['counted']} | {r['P_violation_rate']:.0%} | {r['P_worst']:.2e} "
                              f"| {r['D_violation_rate']:.0%} | {r['D_worst']:.2e} |")
        md.append("")
    noise = extras.get("label_noise")
    if noise:
        plots.plot_label_noise(noise, out / "label_noise.png")
        md += ["## Weak-label noise (R9)", "", f"{noise['instances']} paired instances per rate (k = 2, simplex head); "
               "mean [95 % CI].", "", "| rho | teacher KL(F*,.) | forward KL(F*,.) | reverse KL(F*,.) | reverse - forward KL "
               "| forward acc | reverse acc |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in noise["rows"]:
            md.append(f"| {r['rho']} | {_ci(r['teacher']['kl'])} | {_ci(r['forward']['kl'])} | {_ci(r['reverse']['kl'])} "
                      f"| {_ci(r['reverse_minus_forward']['kl'])} | {_ci(r['forward']['acc'])} | {_ci(r['reverse']['acc'])} |")
        md += ["", "![label noise](label_noise.png)", ""]
    scatter = extras.get("scatter")
    if scatter:
        plots.plot_gain_vs_disagreement(scatter, out / "gain_vs_disagreement.png")
        md += ["## Gain versus disagreement", "", "![gain vs disagreement](gain_vs_disagreement.png)", ""]
    return md
