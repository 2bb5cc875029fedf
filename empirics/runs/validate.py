"""Everything a sweep needs, checked before any work: names, combinations, numbers, and the data itself.

:func:`check_sweep` is fast and needs no model or data (an unknown model, loss or head fails in well under two
seconds); :func:`load_checked_splits` reads the three splits and refuses empty splits, duplicate ids and pairs
shared between splits. Numbers are checked where they are defined (:mod:`empirics.plans.options`). No torch
here.
"""

from __future__ import annotations

import logging

from core.errors import ConfigError

from ..plans.experiment import Sweep
from ..plans.grid import student_specs
from ..registries.heads import HEAD_REGISTRY, HEADS
from ..registries.losses import BATCH_STATISTICS_LOSSES
from ..registries.models import TOP_BLOCK_TYPES, spec, trained_on

log = logging.getLogger(__name__)


def check_sweep(sw: Sweep) -> None:
    """Names and combinations of a sweep, without loading anything."""
    exp, grid = sw.experiment, sw.grid
    for weak, strong in grid.model_pairs:
        spec(weak)
        spec(strong)
        if weak == strong:
            raise ConfigError(f"--pairs {weak}:{strong}: the weak and the strong model are the same")
    if exp.mode == "last_layer":
        bad = [h for h in grid.heads if h not in HEADS]
        if bad:
            raise ConfigError(
                f"--heads {' '.join(bad)}: last-layer mode trains a head, one of {', '.join(HEADS)}"
            )
        if not any(HEAD_REGISTRY[h].fits(loss) for h in grid.heads for loss in grid.losses):
            h = HEAD_REGISTRY[grid.heads[0]]
            raise ConfigError(f"the {h.name} head takes only {', '.join(h.losses)}; none is in --losses")
    elif grid.heads != ["full"]:
        log.warning(
            "note: fine-tuning trains the full model; --heads %s does not apply", " ".join(grid.heads)
        )
    ft = exp.finetune
    if exp.mode == "last_layer" and ft.trainable_blocks is not None:
        log.warning("note: --trainable-blocks applies to fine-tuning (--mode finetune); ignored here")
    elif ft.trainable_blocks is None and ft.checkpoints_per_epoch > 1:
        log.warning(
            "note: --checkpoints-per-epoch applies with --trainable-blocks; full fine-tuning keeps its last "
            "state"
        )
    if exp.mode == "finetune" and ft.trainable_blocks is not None:
        for weak, strong in grid.model_pairs:
            for m in (strong,) if ft.teacher_head == "logistic" else (weak, strong):
                if spec(m).model_type not in TOP_BLOCK_TYPES:
                    raise ConfigError(
                        f"--trainable-blocks is offered for {', '.join(TOP_BLOCK_TYPES)} models (where the "
                        f"split is exact), not {m} ({spec(m).model_type}); fine-tune it whole (without it)"
                    )
    batch_losses = sorted(set(grid.losses) & set(BATCH_STATISTICS_LOSSES))
    if exp.mode == "finetune" and batch_losses and exp.finetune.batch_size < 2:
        raise ConfigError(
            f"--batch-size must be >= 2 for losses with batch statistics ({', '.join(batch_losses)})"
        )
    if exp.mode == "finetune" and batch_losses and exp.finetune.grad_accumulation > 1:
        raise ConfigError(
            f"--grad-accumulation > 1 would take the batch statistics of {', '.join(batch_losses)} over "
            "micro-batches, not the step's batch; use 1 with these losses"
        )
    if not student_specs(grid, exp.mode):
        raise ConfigError("the grid has no student to run")


def load_checked_splits(pipe) -> dict:
    """Read every split through the pipeline (so runs reuse them) and check them together."""
    from ..inputs.data import SPLITS, check_overlap

    splits = {name: pipe.inputs.split(name) for name in SPLITS}
    check_overlap(splits, allow=pipe.exp.data.allow_split_overlap)
    return splits


def check_training_limits(sw: Sweep, sizes: dict[str, int]) -> None:
    """Every ``MODEL@N`` trains on N pairs of the splits it reads: the weak model on train_gt, the strong one
    on train_gt (ceiling) and train_w2s (students). N larger than a split is refused before any run."""
    for weak, strong in sw.grid.model_pairs:
        for name, splits in ((weak, ("train_gt",)), (strong, ("train_gt", "train_w2s"))):
            n = trained_on(name)[1]
            short = [f"{s} has {sizes[s]}" for s in splits if n is not None and n > sizes[s]]
            if short:
                raise ConfigError(
                    f"--pairs {weak}:{strong}: {name} trains on {n} pairs, but {', '.join(short)} "
                    "(--n-pairs or the data)"
                )
            frac = sw.experiment.data.heldout_frac
            for split in splits:  # the held-out rule needs a non-empty fit part and held-out part
                m = n if n is not None else sizes[split]
                if frac > 0 and not 1 <= round(frac * m) < m:
                    raise ConfigError(
                        f"{name} trains on {m} pairs of {split}: holding out {frac:g} of them leaves an "
                        "empty fit or held-out part; use more pairs or another --heldout-frac"
                    )
