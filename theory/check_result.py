"""What a check returns: both sides per instance (:class:`CheckResult`), and the report parts it contributes.

Nothing here decides pass/fail by a status string: the paper_checks assert on ``lhs`` and ``rhs``; the report
tabulates them and renders each :class:`ReportPart` a check supplies (its own table or plot), in ``order``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class ReportPart:
    """A section of the theory report supplied by a check: ``render(data, out_dir)`` returns Markdown lines
    (and may write plots into out_dir); ``key`` names the data in theory_report.json (None: already in the
    check's details). Parts appear in ascending ``order``."""

    order: int
    key: str | None
    data: object
    render: Callable[[object, Path], list[str]]


@dataclass
class CheckResult:
    """lhs <= rhs + tol per instance (an identity is stored as lhs = |left - right|, rhs = 0)."""

    key: str
    item: str
    statement: str
    provenance: str
    lhs: np.ndarray
    rhs: np.ndarray
    tol: float
    tightness: str = ""
    details: dict = field(default_factory=dict)
    parts: list[ReportPart] = field(default_factory=list)

    @property
    def instances(self) -> int:
        return int(np.size(self.lhs))

    @property
    def violations(self) -> int:
        return int(np.sum(~(np.asarray(self.lhs) <= np.asarray(self.rhs) + self.tol)))

    @property
    def worst_slack(self) -> float:
        """min over instances of rhs - lhs (negative means a violation before the tolerance)."""
        return float(np.min(np.asarray(self.rhs) - np.asarray(self.lhs)))

    def summary(self) -> dict:
        return {
            "key": self.key,
            "item": self.item,
            "statement": self.statement,
            "provenance": self.provenance,
            "instances": self.instances,
            "violations": self.violations,
            "tolerance": self.tol,
            "worst_slack": self.worst_slack,
            "tightness": self.tightness,
            "details": self.details,
        }


def sci(x: float) -> str:
    """A tolerance as statements write it: 1e-12, 0.005, 1e-6 (not 1e-06)."""
    text = f"{x:g}"
    mant, sep, exp = text.partition("e")
    return f"{mant}e{int(exp)}" if sep else text
