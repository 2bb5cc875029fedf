"""The numerics vocabulary in torch (the twins of :mod:`core.numerics`), on ``torch.special``.

Losses work from log-probabilities (``logsigmoid`` / ``log_softmax``) so that hard 0/1 labels, |z| up to 1e4
and bf16/fp16 inputs stay finite; distributions lie on the last axis."""

from __future__ import annotations

import torch
from torch.special import xlogy

__all__ = ["xlogy", "gamma_floor", "ce_from_log", "kl_from_log", "entropy"]


def gamma_floor(p: torch.Tensor, gamma: float) -> torch.Tensor:
    """(1 - k gamma) p + gamma, k the size of the last axis (no validation; see core.numerics.gamma_floor)."""
    return (1 - p.shape[-1] * gamma) * p + gamma


def ce_from_log(p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Per-example CE(p, q) = -sum_j p_j log q_j, given log q."""
    return -(p * log_q).sum(-1)


def kl_from_log(p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Per-example KL(p, q) = sum_j p_j log p_j - p_j log q_j, given log q (0 log 0 = 0)."""
    return (xlogy(p, p) - p * log_q).sum(-1)


def entropy(p: torch.Tensor) -> torch.Tensor:
    return -xlogy(p, p).sum(-1)
