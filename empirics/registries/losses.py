"""Every weak-to-strong loss as one registry entry: its name, the paper's name, the objective, whether it
takes batch statistics, its plot style, and everything a head needs of it: the per-example function (torch,
fine-tuning and the Adam head), the value and gradient in logit space (numpy, the second-order logistic
head) and the objective in probability space (the certified simplex-head solver, on core.binary_head).
Adding a loss is adding one entry here (and its test); the CLI, the validation, the grid, the heads, the
solver, the plots and the summaries read this table, and nothing outside it branches on a loss name.

Nothing here imports torch: a per-example function receives the batch's terms (:class:`Terms`, built by
:mod:`empirics.training.losses`) and combines them with tensor arithmetic. Notation (docs/theory.md section
2): q the student's distribution, p the weak label, ``floor(x)`` = (1 - k gamma) x + gamma, a the confidence
weight at this step, yhat the hardened student (detached)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from core.binary_head import BINARY_OBJECTIVES, BinaryObjective


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
class LogitTerms:
    """What a logit-space function may use (numpy float64, shape (n,)): z = u . v, s = sigmoid(z) and its
    logs, the weak label y, the logs of its gamma-floor, and the teacher's mean entropy (a scalar)."""

    z: np.ndarray
    s: np.ndarray
    log_s: np.ndarray
    log_1s: np.ndarray
    y: np.ndarray
    log_y: np.ndarray
    log_1y: np.ndarray
    teacher_entropy: float


def _forward_ce(t: LogitTerms):
    return -(t.y * t.log_s + (1 - t.y) * t.log_1s), t.s - t.y


def _forward_kl(t: LogitTerms):
    per, dz = _forward_ce(t)
    return per - t.teacher_entropy, dz


def _reverse_ce(t: LogitTerms):
    return -(t.s * t.log_y + (1 - t.s) * t.log_1y), -t.s * (1 - t.s) * (t.log_y - t.log_1y)


def _reverse_kl(t: LogitTerms):
    per = t.s * (t.log_s - t.log_y) + (1 - t.s) * (t.log_1s - t.log_1y)
    return per, t.s * (1 - t.s) * (t.z - (t.log_y - t.log_1y))


@dataclass(frozen=True)
class LossEntry:
    name: str
    paper_name: str
    objective: str
    batch_statistics: bool  # reads the whole batch (hardening): needs batches >= 2, no micro-batches
    marker: str
    color: str
    per_example: Callable[[Terms], Any]
    # (per-example value, dJ/dz) in logit space, in float64: the second-order logistic head (None: no
    # fixed objective, batch statistics)
    logit_terms: Callable[[LogitTerms], tuple[np.ndarray, np.ndarray]] | None = None
    # the objective in P(first chosen) that the certified simplex-head solver minimises (None: not convex
    # in the head's weights, or batch statistics)
    prob_objective: BinaryObjective | None = None


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
            logit_terms=_forward_ce,
            prob_objective=BINARY_OBJECTIVES["forward_kl"],  # the same minimiser: CE = KL + H(p)
        ),
        LossEntry(
            name="forward_kl",
            paper_name="FKL",
            objective="KL(p, q) = CE(p, q) - H(p): the gradients of forward_ce",
            batch_statistics=False,
            marker="s",
            color="tab:cyan",
            per_example=lambda t: t.kl(t.p, t.log_q),
            logit_terms=_forward_kl,
            prob_objective=BINARY_OBJECTIVES["forward_kl"],
        ),
        LossEntry(
            name="reverse_ce",
            paper_name="RCE",
            objective="CE(q, floor(p))",
            batch_statistics=False,
            marker="D",
            color="tab:red",
            per_example=lambda t: t.ce(t.q, t.log_floor(t.p)),
            logit_terms=_reverse_ce,
            prob_objective=BINARY_OBJECTIVES["reverse_ce"],
        ),
        LossEntry(
            name="reverse_kl",
            paper_name="RKL",
            objective="KL(q, floor(p))",
            batch_statistics=False,
            marker="^",
            color="tab:orange",
            per_example=lambda t: (t.q * (t.log_q - t.log_floor(t.p))).sum(-1),
            logit_terms=_reverse_kl,
            prob_objective=BINARY_OBJECTIVES["reverse_kl"],
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
