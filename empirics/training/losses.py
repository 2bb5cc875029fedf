"""Weak-to-strong losses with one interface: ``loss(logits, labels, step_frac) -> scalar``.

``logits`` are binary pair logits z (shape (B,)) or k-class logits (B, k); ``labels`` are the weak soft
labels, P(first is chosen) (B,) or distributions (B, k). Everything is computed in float32 from
log-probabilities (``logsigmoid`` / ``log_softmax``), so hard 0/1 labels, |z| up to 1e4 and bf16/fp16 inputs
give finite values and gradients (float64 inputs stay float64). Means are true batch means. The losses
themselves (objectives, the paper's names) are the entries of :mod:`empirics.registries.losses`; this module
evaluates them on torch tensors.

Hardening thresholds the student's probabilities at the batch quantile that makes the fraction of positives
equal the mean weak label, over the whole batch (a batch of one is refused); the student prediction is
detached. The weight a warms up: "linear" (to a_max = 0.5 over the first 20 %, the group's later code) or
"burns" (a_max * step_frac until warmup ends, then a_max: Burns et al.'s original, ramping to 0.05 then
jumping to 0.5)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.errors import LossError
from core.torch_numerics import ce_from_log, gamma_floor, kl_from_log

from ..registries.losses import LOSS_REGISTRY

DEFAULT_GAMMA = 1e-3


def _as_k_class(logits: torch.Tensor, labels: torch.Tensor):
    """(log q, p) as (B, k) tensors in float32 at least (float64 stays float64); binary z becomes [1 - s,
    s]."""
    dtype = torch.promote_types(logits.dtype, torch.float32)
    logits, labels = logits.to(dtype), labels.to(dtype)
    if logits.ndim == 1:
        log_q = torch.stack([F.logsigmoid(-logits), F.logsigmoid(logits)], dim=-1)
        p = torch.stack([1 - labels, labels], dim=-1) if labels.ndim == 1 else labels
    else:
        log_q, p = F.log_softmax(logits, dim=-1), labels
    if p.shape != log_q.shape:
        raise LossError(
            f"labels of shape {tuple(labels.shape)} do not match logits of shape {tuple(logits.shape)}"
        )
    return log_q, p


def _floored(p: torch.Tensor, gamma: float) -> torch.Tensor:
    k = p.shape[-1]
    if not 0 < gamma < 1 / k:
        raise LossError(f"gamma = {gamma} is outside (0, 1/k) = (0, {1 / k:.4g})")
    return gamma_floor(p, gamma)


def hardened(q: torch.Tensor, p: torch.Tensor, gather=None) -> torch.Tensor:
    """Hard student labels: class 1 where the student's P(class 1) is above its batch quantile at 1 -
    mean(p_1), so the fraction of positives matches the mean weak label (binary; k-class: argmax). Detached.
    With several processes, `gather` concatenates a tensor across them, so the quantile is over the whole
    batch."""
    q = q.detach()
    q1, p1 = (
        (q[:, 1], p[:, 1]) if gather is None else (gather(q[:, 1].contiguous()), gather(p[:, 1].contiguous()))
    )
    if q1.shape[0] < 2:
        raise LossError(
            "the confidence loss needs batch statistics over at least 2 examples (got a batch of 1)"
        )
    if q.shape[-1] == 2:
        threshold = torch.quantile(q1, 1 - p1.mean())
        pos = (q[:, 1] > threshold).float()
        return torch.stack([1 - pos, pos], dim=-1)
    return F.one_hot(q.argmax(-1), q.shape[-1]).float()


class _Terms:
    """A batch's terms for a registry entry's per-example function (empirics.registries.losses.Terms); the
    confidence weight and the hardened student are computed when first read."""

    ce, kl = staticmethod(ce_from_log), staticmethod(kl_from_log)

    def __init__(self, loss: Loss, log_q: torch.Tensor, p: torch.Tensor, step_frac: float, gather) -> None:
        self.log_q, self.p, self.q = log_q, p, log_q.exp()
        self._loss, self._step_frac, self._gather = loss, step_frac, gather

    def log_floor(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(_floored(x, self._loss.gamma))

    @functools.cached_property
    def a(self) -> float:
        return self._loss.alpha(self._step_frac)

    @functools.cached_property
    def yhat(self) -> torch.Tensor:
        return hardened(self.q, self.p, self._gather)


@dataclass(frozen=True)
class Loss:
    name: str
    gamma: float = DEFAULT_GAMMA
    alpha_max: float = 0.5
    warmup_frac: float = 0.2
    schedule: str = "linear"  # "linear" | "burns"

    def alpha(self, step_frac: float) -> float:
        if self.schedule == "linear":
            return (
                self.alpha_max * min(1.0, step_frac / self.warmup_frac)
                if self.warmup_frac > 0
                else self.alpha_max
            )
        if self.schedule == "burns":
            return self.alpha_max * (step_frac if step_frac < self.warmup_frac else 1.0)
        raise LossError(f"unknown confidence schedule {self.schedule!r}; choose 'linear' or 'burns'")

    def per_example(
        self, logits: torch.Tensor, labels: torch.Tensor, step_frac: float = 0.0, gather=None
    ) -> torch.Tensor:
        entry = LOSS_REGISTRY.get(self.name)
        if entry is None:
            raise LossError(f"unknown loss {self.name!r}; known losses: {', '.join(LOSS_REGISTRY)}")
        log_q, p = _as_k_class(logits, labels)
        return entry.per_example(_Terms(self, log_q, p, step_frac, gather))

    def __call__(
        self, logits: torch.Tensor, labels: torch.Tensor, step_frac: float = 0.0, gather=None
    ) -> torch.Tensor:
        return self.per_example(logits, labels, step_frac, gather).mean()

    @property
    def uses_batch_statistics(self) -> bool:
        return LOSS_REGISTRY[self.name].batch_statistics


def get_loss(name: str, gamma: float = DEFAULT_GAMMA, **kw) -> Loss:
    if name not in LOSS_REGISTRY:
        raise LossError(f"unknown loss {name!r}; known losses: {', '.join(LOSS_REGISTRY)}")
    loss = Loss(name, gamma, **kw)
    _floored(torch.zeros(1, 2), gamma)  # validates gamma
    loss.alpha(0.0)  # validates the schedule
    return loss
