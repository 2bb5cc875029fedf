"""The README's verdict tables, made from packed regimes' audit/claims.json: one table of every claim's pooled
verdict per regime, and per regime with several teacher -> student pairs, a table of each claim per pair.

`w2s-empirics verdict-table REFERENCE` prints them; paper_checks/test_reference.py checks that the README
shows exactly what the committed reference decides (no hand-copied number can drift from it)."""

from __future__ import annotations

from pathlib import Path

from core.io import read_json

from .claims import CLAIMS
from .inference import SEEDS_LOOKED, Estimate

# short row labels, in the claims' order (the statements are in each regime's claims.md)
LABELS = {
    "reverse_kl_beats_forward_kl": "reverse KL > forward KL",
    "reverse_ce_beats_forward_ce": "reverse CE > forward CE",
    "forward_kl_equals_forward_ce": "forward KL = forward CE",
    "reverse_more_robust_to_noise": "noise: reverse KL > forward KL",
    "confidence_helps": "confidence > forward CE",
    "reverse_confidence_mix_beats_confidence": "reverse confidence (a: mixed losses) > confidence",
    "reverse_confidence_target_beats_confidence": "reverse confidence (b: mixed target) > confidence",
    "stronger_teacher_stronger_student": "stronger teacher -> stronger student",
    "stronger_student_gains_more": "stronger student gains more",
}
assert list(LABELS) == [c.key for c in CLAIMS], "a claim without its README label (or out of order)"
# regimes in the README's column order, with their names there; others follow by folder name
REGIME_NAMES = {
    "last-layer": "last layer",
    "finetune": "fine-tuning",
    "ladder-harmless": "ladder, harmless",
    "ladder-helpful": "ladder, helpful",
}
MOST_SEEDS = 10_000  # the largest seed count a shortfall is projected to
BEGIN, END = "<!-- verdict-table: begin -->", "<!-- verdict-table: end -->"


def _pts(x: float) -> str:
    return f"{100 * x:+.2f}"


def _interval(c: dict) -> str:
    return f"{_pts(c['delta'])} [{_pts(c['ci95'][0])}, {_pts(c['ci95'][1])}]"


def seeds_for_goal(c: dict, goal: float) -> str:
    """The seeds that would bring a claim's MDE to its goal, these runs as a pilot: the audit's count (it
    looks up to SEEDS_LOOKED), else the same projection from the saved variance components, up to
    MOST_SEEDS."""
    if c.get("seeds_for_goal") is not None:
        return str(c["seeds_for_goal"])
    if "variance" not in c:
        return f"> {SEEDS_LOOKED}"
    need = Estimate.from_saved(c).seeds_for(goal, most=MOST_SEEDS)
    return f"> {MOST_SEEDS}" if need is None else str(need)


def _mde(c: dict, goal: float | None) -> str:
    out = f"MDE {100 * c['mde']:.2f}"
    if goal is not None and c["mde"] > goal:
        out += f" (goal {100 * goal:g}: not met; {seeds_for_goal(c, goal)} seeds would meet it)"
    return out


def cell(c: dict, p_key: str = "p_holm") -> str:
    """One claim's verdict in a regime (or one panel's, `p_key` "p_holm_panels"): the verdict, a - b in points
    with its 95 % interval, the Holm p when decided, the MDE (and the shortfall when over its goal)."""
    v = c.get("verdict")
    if v == "identity":
        return f"identity (predictions agree to {c['max_abs_dprob']:.1e})"
    if c.get("delta") is None:
        return "-"
    goal = c.get("mde_goal")
    if v in ("reproduced", "contradicted"):
        return f"**{v}**: {_interval(c)}, p {c[p_key]:.2g}, {_mde(c, goal)}"
    return f"{v}: {_interval(c)}, {_mde(c, goal)}"


def _seeds(claims: list[dict]) -> int:
    return max(c.get("seeds", 0) for c in claims)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def regimes(reference: Path) -> list[tuple[str, list[dict]]]:
    """(regime folder name, its claims) of every packed regime under `reference`, in the README's order."""
    found = {p.parent.parent.name: read_json(p) for p in Path(reference).glob("*/audit/claims.json")}
    order = [r for r in REGIME_NAMES if r in found] + sorted(r for r in found if r not in REGIME_NAMES)
    return [(r, found[r]) for r in order]


def pooled_table(regs: list[tuple[str, list[dict]]]) -> list[str]:
    """Claims as rows, regimes as columns: each claim's pooled verdict (its regime's primary Holm family)."""
    head = ["claim (a > b)"] + [f"{REGIME_NAMES.get(r, r)}, {_seeds(cl)} seeds" for r, cl in regs]
    lines = [_row(head), _row(["---"] * len(head))]
    by_key = [{c["key"]: c for c in cl} for _, cl in regs]
    for key, label in LABELS.items():
        cells = [cell(k[key]) if key in k else "-" for k in by_key]
        if any(x != "-" for x in cells):
            lines.append(_row([label, *cells]))
    return lines


def panel_table(claims: list[dict]) -> list[str]:
    """One regime's claims per panel (teacher -> student pair, or the two teachers / students compared):
    each with its verdict in its claim's own Holm family over panels; empty when no claim has two panels."""
    rows = []
    for c in claims:
        panels = c.get("extra", {}).get("by_panel", {})
        if len(panels) > 1 and c.get("verdict") != "identity":
            rows += [_row([LABELS[c["key"]], panel, cell(b, "p_holm_panels")]) for panel, b in panels.items()]
    if not rows:
        return []
    head = _row(["claim (a > b)", "panel", "a - b in points [95 %], Holm p over panels, MDE"])
    return [head, "| --- | --- | --- |", *rows]


def markdown(reference: str | Path) -> str:
    """The README's block of the packed regimes under `reference`."""
    return block(regimes(Path(reference)))


def block(regs: list[tuple[str, list[dict]]]) -> str:
    """The README's block: the pooled table, then each regime's per-panel table."""
    lines = pooled_table(regs)
    for r, cl in regs:
        panel = panel_table(cl)
        if panel:
            lines += ["", f"Per panel, {REGIME_NAMES.get(r, r)} ({_seeds(cl)} seeds):", "", *panel]
    return "\n".join(lines) + "\n"


def shown_in(readme_text: str) -> str | None:
    """The block between the README's markers (None when the markers are missing)."""
    if BEGIN not in readme_text or END not in readme_text:
        return None
    return readme_text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def replaced_in(readme_text: str, block: str) -> str:
    """`readme_text` with the block between its markers replaced by `block`."""
    if shown_in(readme_text) is None:
        raise ValueError(f"no {BEGIN} ... {END} markers")
    before, rest = readme_text.split(BEGIN, 1)
    return f"{before}{BEGIN}\n{block}{END}{rest.split(END, 1)[1]}"
