"""Every weak-to-strong loss as one registry entry: its name, the paper's name, the objective, whether it
takes batch statistics, its plot style and its per-example function. Adding a loss is adding one entry here
(and its test); the CLI, the validation, the grid, the plots and the summaries read this table.

Nothing here imports torch: a per-example function receives the batch's terms (:class:`Terms`, built by
:mod:`empirics.losses`) and combines them with tensor arithmetic. Notation (docs/theory.md section 2): q the
student's distribution, p the weak label, ``floor(x)`` = (1 - k gamma) x + gamma, a the confidence weight at
this step, yhat the hardened student (detached)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Terms(Protocol):
    """What a per-example function may use (tensors of shape (B, k); ``ce``/``kl`` return (B,))."""

    p: Any
    q: Any
    log_q: Any
    a: float  # the confidence weight (computed only when read)
    yhat: Any  # the hardened student (computed only when read; needs a batch of at least 2)

    def ce(self, target, log_pred): ...  # -sum target * log_pred
    def kl(self, target, log_pred): ...  # sum target log target - target * log_pred
    def log_floor(self, x): ...  # log((1 - k gamma) x + gamma)


@dataclass(frozen=True)
class LossEntry:
    name: str
    paper_name: str
    objective: str
    batch_statistics: bool  # reads the whole batch (hardening): needs batches >= 2, no micro-batches
    marker: str
    color: str
    per_example: Callable[[Terms], Any]


LOSS_REGISTRY: dict[str, LossEntry] = {
    e.name: e
    for e in (
        LossEntry(
            name="forward_ce",
            paper_name="FCE",
            objective="CE(p, q), the standard weak-to-strong loss",
            batch_statistics=False,
            marker="o",
            color="tab:blue",
            per_example=lambda t: t.ce(t.p, t.log_q),
        ),
        LossEntry(
            name="forward_kl",
            paper_name="FKL",
            objective="KL(p, q) = CE(p, q) - H(p): the gradients of forward_ce",
            batch_statistics=False,
            marker="s",
            color="tab:cyan",
            per_example=lambda t: t.kl(t.p, t.log_q),
        ),
        LossEntry(
            name="reverse_ce",
            paper_name="RCE",
            objective="CE(q, floor(p))",
            batch_statistics=False,
            marker="D",
            color="tab:red",
            per_example=lambda t: t.ce(t.q, t.log_floor(t.p)),
        ),
        LossEntry(
            name="reverse_kl",
            paper_name="RKL",
            objective="KL(q, floor(p))",
            batch_statistics=False,
            marker="^",
            color="tab:orange",
            per_example=lambda t: (t.q * (t.log_q - t.log_floor(t.p))).sum(-1),
        ),
        LossEntry(
            name="confidence",
            paper_name="Conf",
            objective="CE((1 - a) p + a yhat, q) (Burns et al. 2023)",
            batch_statistics=True,
            marker="v",
            color="tab:green",
            per_example=lambda t: t.ce((1 - t.a) * t.p + t.a * t.yhat, t.log_q),
        ),
        LossEntry(
            name="reverse_confidence_mix",
            paper_name="RConf (a)",
            objective="(1 - a) CE(q, floor(p)) + a CE(q, floor(yhat))",
            batch_statistics=True,
            marker="P",
            color="tab:purple",
            per_example=lambda t: (
                (1 - t.a) * t.ce(t.q, t.log_floor(t.p)) + t.a * t.ce(t.q, t.log_floor(t.yhat))
            ),
        ),
        LossEntry(
            name="reverse_confidence_target",
            paper_name="RConf (b)",
            objective="CE(q, floor((1 - a) p + a yhat))",
            batch_statistics=True,
            marker="*",
            color="tab:brown",
            per_example=lambda t: t.ce(t.q, t.log_floor((1 - t.a) * t.p + t.a * t.yhat)),
        ),
    )
}

LOSSES = tuple(LOSS_REGISTRY)
# the convex fixed objectives: no batch statistics, so the simplex head and the second-order solver take them
CONVEX_FIXED_OBJECTIVES = tuple(n for n, e in LOSS_REGISTRY.items() if not e.batch_statistics)
BATCH_STATISTICS_LOSSES = tuple(n for n, e in LOSS_REGISTRY.items() if e.batch_statistics)
