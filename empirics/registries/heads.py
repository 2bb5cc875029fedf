"""Every head a run can train as one registry entry: the mode that trains it, what it is, the losses it can
fit and what the audit needs to know of its class. Adding a head is adding one entry here, its fitter in
:class:`empirics.training.trainers.Trainer` and its test; the config, the validation, the grid, the pipeline
and the audit read this table. Nothing here imports torch."""

from __future__ import annotations

from dataclasses import dataclass

from .losses import CONVEX_FIXED_OBJECTIVES


@dataclass(frozen=True)
class HeadEntry:
    name: str
    mode: str  # the sweep mode that trains it: "last_layer" (frozen features) or "finetune"
    description: str
    losses: tuple[str, ...] | None  # the losses it can fit; None: every registered loss
    # why its class misses Theorem 2's convexity hypothesis (None: convex in probability space); fine-tuning
    # states its own reason from the number of trainable blocks
    class_not_convex: str | None
    saved_design: bool  # its class is saved with the results, so the audit can project F* on it (Theorem 3)

    def fits(self, loss: str) -> bool:
        return self.losses is None or loss in self.losses


HEAD_REGISTRY: dict[str, HeadEntry] = {
    e.name: e
    for e in (
        HeadEntry(
            name="logistic",
            mode="last_layer",
            description="a linear logistic head on the frozen model's pair features, its L2 chosen on the "
            "held-out part (second order and certified for the fixed convex objectives, Adam otherwise)",
            losses=None,
            class_not_convex="softmax head (convex in logit space only)",
            saved_design=False,
        ),
        HeadEntry(
            name="simplex",
            mode="last_layer",
            description="the order-antisymmetric simplex head over k-means prototypes, a class convex in "
            "probability space (docs/theory.md R4), fit by the certified box solver",
            losses=CONVEX_FIXED_OBJECTIVES,
            class_not_convex=None,
            saved_design=True,
        ),
        HeadEntry(
            name="full",
            mode="finetune",
            description="the reward model itself, fine-tuned (every block, or the top --trainable-blocks)",
            losses=None,
            class_not_convex=None,
            saved_design=False,
        ),
    )
}

HEADS = tuple(n for n, e in HEAD_REGISTRY.items() if e.mode == "last_layer")  # the choices of --heads
