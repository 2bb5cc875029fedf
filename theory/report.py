"""The theory report: a Markdown and a JSON table of every check, and the sections (tables, plots) checks
supply.

Written both by ``w2s-theory report`` (which runs the checks itself) and at the end of ``pytest paper_checks``
(from the results the tests recorded), so the report always reflects what was actually checked.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.io import atomic_write_text, environment

from .check_result import CheckResult, ReportPart


def _fmt(x) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def _cell(x) -> str:
    return str(x).replace("|", "\\|")  # absolute values in statements must not split the table


def markdown_table(results: list[CheckResult]) -> str:
    head = (
        "| item | statement | provenance | instances | violations | worst slack | tightness |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
    )
    rows = [
        "| "
        + " | ".join(
            _cell(c)
            for c in (
                r.item,
                r.statement,
                r.provenance,
                r.instances,
                r.violations,
                _fmt(r.worst_slack),
                r.tightness,
            )
        )
        + " |"
        for r in results
    ]
    return head + "\n".join(rows) + "\n"


def write_report(
    results: list[CheckResult],
    out_dir: str | Path,
    command: str,
    parts: list[ReportPart] | None = None,
    not_run: list[str] | None = None,
) -> Path:
    """Write theory_report.md, theory_report.json and the plots; returns the Markdown path.

    Sections come from the checks: every ReportPart of a result, plus ``parts`` supplied beside the results
    (tables and plots of checks that are not inequalities), rendered in their order."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    every = sorted([p for r in results for p in r.parts] + list(parts or []), key=lambda p: p.order)
    env = environment()
    payload = {
        "command": command,
        "environment": env,
        "checks": [r.summary() for r in results],
        **{p.key: p.data for p in every if p.key is not None},
        **({"not_run": not_run} if not_run else {}),
    }
    atomic_write_text(out / "theory_report.json", json.dumps(payload, indent=2, default=float))
    md = [
        "# Theory report",
        "",
        f"Made by `{command}` at {env['time_utc']} (commit {env['git_commit']}).",
        "",
        "Each row computes both sides of its statement on every instance; a violation is lhs > rhs + "
        "tolerance.",
        "Worst slack is min(rhs - lhs); for identities it is -max|lhs - rhs|. Provenance says whether the",
        "statement is the paper's or a reconstruction (see docs/theory.md).",
        "",
        markdown_table(results),
    ]
    if not_run:
        md += ["", "**Not run** (a missing optional dependency; nothing is claimed for these):", ""]
        md += [f"- {line}" for line in not_run] + [""]
    for part in every:
        md += part.render(part.data, out)
    path = out / "theory_report.md"
    atomic_write_text(path, "\n".join(md))
    return path
