"""FINDINGS.md of an audited results folder: what docs/findings.md reports, computed from the
saved summary, claims, planted truth and timing (no torch, no training)."""

from __future__ import annotations

from pathlib import Path

from core.io import atomic_write_text, read_json

from ..registries.losses import LOSSES
from .inference import SEEDS_LOOKED

GOAL = {True: "yes", False: "no", None: "no decision differs"}


def _pct(v) -> str:
    return f"{100 * v[0]:.1f} [{100 * v[1]:.1f}, {100 * v[2]:.1f}]"


def _seeds(c: dict) -> str:
    """Seeds whose MDE would meet the goal, these runs as a pilot: at its seed variance / at that variance's
    80 % upper limit."""
    if c.get("mde_goal_met") is None:
        return ""
    keys = ("seeds_for_goal", "seeds_for_goal_upper80")
    n = [f"> {SEEDS_LOOKED}" if c.get(k) is None else str(c[k]) for k in keys]
    return " / ".join(n)


def _left_out_numbers(x: dict) -> str:
    """A left-out setting's ceiling - weak per teacher (replicate-aware SE) and what the claim reads there."""
    out = ""
    for g in x.get("ceiling_minus_weak", []):
        if g is None:
            out += "; ceiling - weak: no ceiling or teacher runs (or fewer than 2 seeds)"
            continue
        out += f"; ceiling - weak {100 * g['gap']:+.2f} pts = {g['in_se']:.1f} replicate SE"
        if g["gap"] > 0 and not g["real"]:  # these seeds as a pilot: how many would show the gap at 3 SE
            need = g.get("seeds_for_real")
            out += f" (3 SE would take {f'> {SEEDS_LOOKED}' if need is None else need} seeds)"
    if "not_pooled" in x:
        n = x["not_pooled"]
        out += (
            f"; a - b there, not pooled: {100 * n['delta']:+.2f} [{100 * n['ci95'][0]:+.2f}, "
            f"{100 * n['ci95'][1]:+.2f}] over {n['seeds']} seeds"
        )
    return out


def findings_markdown(results: str | Path) -> str:
    results = Path(results)
    summary = read_json(results / "summary.json")
    claims = read_json(results / "audit" / "claims.json")
    sweep = read_json(results / "sweep.json")
    lines = [f"# Findings: {results.name}", "", sweep.get("description", ""), ""]
    lines += accuracy_section(summary) + claims_section(claims) + panels_section(claims)
    planted = results / "audit" / "planted.json"
    if planted.is_file():
        lines += planted_section(read_json(planted))
    timing = results / "timing.json"
    if timing.is_file():
        lines += timing_section(read_json(timing))
    return "\n".join(lines) + "\n"


def timing_section(timing: dict) -> list[str]:
    """Wall seconds per stage over all invocations, the peak memory, and each model's features per split."""
    t = dict(timing["total"])
    peak = t.pop("peak_rss_mib", None)
    lines = [
        "",
        "## Time (wall seconds, all invocations) and memory",
        "",
        ", ".join(f"{k} {v:.0f}" for k, v in t.items())
        + ("" if peak is None else f"; peak resident memory {peak:.0f} MiB (the largest invocation's)")
        + ". Invocations that ran at once (the workers of a launch) add up beyond the wall clock.",
    ]
    features = timing.get("features") or {}
    if features:
        lines += [
            "",
            "Frozen features per model and split: the wall seconds that made them (model loading excluded, "
            "every process of a resumed split counted); cache: made earlier, read from the cache here.",
            "",
            "| model | split | texts | seconds | texts / s | |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for model, splits in features.items():
            for split, m in splits.items():
                sec, texts = m.get("seconds"), m["texts"]
                cost = f"{sec:.0f} | {texts / sec:.2f}" if sec else "unknown | "
                cached = "cache" if m.get("cached") else ""
                lines.append(f"| {model} | {split} | {texts} | {cost} | {cached} |")
    return lines


def accuracy_section(summary: dict) -> list[str]:
    """Weak, ceiling, ceiling - weak and every loss's student per row of summary.json, one column per loss."""
    lines = [
        "## Weak, ceiling and students (test accuracy %, 95 % interval over seeds)",
        "",
        "| weak -> strong | head | noise | weak | ceiling | ceiling - weak (SE) | "
        + " | ".join(LOSSES)
        + " |",
        "|" + " --- |" * (6 + len(LOSSES)),
    ]
    for r in summary["rows"]:
        gap = ""
        if "gap_se" in r:
            kind = "one run's SE" if r.get("gap_se_kind", "").startswith("one run") else "replicate SE"
            se = f"{r['ceiling_minus_weak'] / r['gap_se']:.1f} {kind}" if r["gap_se"] > 0 else "SE 0"
            gap = f"{100 * r['ceiling_minus_weak']:+.1f} ({se})"
        cells = [_pct(r[k]) if k in r else "" for k in ("weak", "ceiling")]
        students = [_pct(r[k]) if k in r else "" for k in LOSSES]
        lines.append(
            f"| {r['weak_model']} -> {r['strong_model']} | {r['head']} | {r['noise']} | "
            + " | ".join(cells + [gap] + students)
            + " |"
        )
    if summary.get("baselines"):
        lines += [
            "",
            "Rules that read no model: "
            + "; ".join(f"{k} {_pct(v)}" for k, v in summary["baselines"].items()),
        ]
    return lines


def claims_section(claims: list[dict]) -> list[str]:
    """Each claim's verdict with its numbers, the same comparison per setting, and what was left out."""
    lines = [
        "",
        "## The paper's claims",
        "",
        "The training run (seed) is the unit: interval, Holm p (one two-sided family) and MDE count the "
        "variance between seeds and between test pairs (crossed); settings not weak-to-strong are left out.",
        "",
        "| claim | verdict | a - b (pts) [95 % CI] | per seed (pts) | Holm p | MDE (pts) | MDE goal met "
        "| seeds for the goal (pilot / its 80 % upper limit) | paper (secondary summary) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in claims:
        if c["delta"] is None:
            lines.append(f"| {c['statement']} | {c['verdict']} | {c['reason']} | | | | | | {c['paper']} |")
            continue
        lo, hi = c["ci95"]
        p = "" if c.get("p_holm") is None else f"{c['p_holm']:.3g}"
        lines.append(
            f"| {c['statement']} | **{c['verdict']}** | "
            f"{100 * c['delta']:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] | "
            + ", ".join(f"{100 * x:+.2f}" for x in c["per_seed"])
            + f" | {p} | {100 * c['mde']:.2f} | {GOAL[c.get('mde_goal_met')]} | {_seeds(c)} | {c['paper']} |"
        )
    lines += ["", "The same comparisons within each teacher and head (a - b, pts [95 % CI], MDE):", ""]
    for c in claims:
        for setting, b in c.get("extra", {}).get("by_setting", {}).items():
            lo, hi = b["ci95"]
            lines.append(
                f"- {c['statement']}, {setting}: {100 * b['delta']:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}], "
                f"MDE {100 * b['mde']:.2f}"
            )
    left_out = [(c, x) for c in claims for x in c.get("excluded", [])]
    if left_out:
        lines += ["", "Settings left out of a claim:", ""]
        lines += [
            f"- {c['statement']}: {x['setting']} ({x['why']}{_left_out_numbers(x)})" for c, x in left_out
        ]
    return lines


def panels_section(claims: list[dict]) -> list[str]:
    """Each claim per panel (teacher -> student pair), with its verdict where the claim has several panels:
    the panels of one claim are one two-sided Holm family of their own."""
    rows = [(c, panel, b) for c in claims for panel, b in c.get("extra", {}).get("by_panel", {}).items()]
    if not any(len(c.get("extra", {}).get("by_panel", {})) > 1 for c in claims):
        return []  # one panel per claim: the pooled verdict is the panel's
    lines = [
        "",
        "## Per panel (teacher -> student)",
        "",
        "Each claim within each teacher -> student pair; a claim's panels are one two-sided Holm family "
        "(Holm p over its panels), beside the pooled verdicts above (the primary family).",
        "",
        "| claim | panel | a - b (pts) [95 % CI] | MDE (pts) | seeds | Holm p (panels) | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c, panel, b in rows:
        lo, hi = b["ci95"]
        p = "" if b.get("p_holm_panels") is None else f"{b['p_holm_panels']:.3g}"
        lines.append(
            f"| {c['statement']} | {panel} | {100 * b['delta']:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] | "
            f"{100 * b['mde']:.2f} | {b['seeds']} | {p} | {b.get('verdict', '-')} |"
        )
    return lines


def planted_section(p: dict) -> list[str]:
    """The planted-truth check of Theorem 2 (audit/planted.json) in one paragraph."""
    rk = p["students"]["reverse_kl"]
    return [
        "",
        "## Planted truth (Theorem 2 where its hypotheses hold)",
        "",
        f"F* in {p.get('planted_class', 'the strong simplex class')}: mean |F* - 1/2| "
        f"{p['f_star_confidence']['test']:.3f}, KL(F*, teacher) {p['kl_star_teacher']['test']:.4f} "
        f"(test); reverse-KL student in-sample slack {rk['train_w2s']['slack']:+.2e} (certificate "
        f"{rk['gap']:.1e}), "
        f"test slack {rk['test']['slack']:+.2e} [{rk['test']['slack_ci95'][0]:+.2e}, "
        f"{rk['test']['slack_ci95'][1]:+.2e}]; gains KL(F*,F_w) - KL(F*,F_sw) on test: "
        + ", ".join(f"{loss} {r['test']['gain']:+.4f}" for loss, r in p["students"].items()),
    ]


def write_findings(results: str | Path) -> str:
    text = findings_markdown(results)
    atomic_write_text(Path(results) / "FINDINGS.md", text)
    return text
