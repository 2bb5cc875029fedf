"""What a run trains on, and how its hyper-parameters are chosen without looking at test.

Every run trains on a seeded part of its training split (train_gt for the weak model and the ceiling,
train_w2s for a student): the run's ``sample`` stream (:mod:`empirics.inputs.streams`) permutes the split, a
fraction ``heldout_frac`` is held out and the rest is fit. So a seed changes the run (a resampled training
set) even where the fit itself is deterministic (a convex head by L-BFGS), and seeds are replications of the
training sample. ``MODEL@N`` runs see only N pairs of the split in all (held-out part included).

The one rule for every loss alike: each candidate L2 penalty is fit on the fit part, and the one whose
predictions agree best with the run's own training labels on the held-out part is kept (agreement of
P > 1/2 with label > 1/2, an exact 1/2 counting one half; ties go to the larger penalty). A student's labels
are the weak teacher's (after noise), so a student never sees ground truth; the weak model and the ceiling
see ground truth on train_gt only. Test is never read before the choice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..registries.models import trained_on
from .streams import RunStreams


@dataclass(frozen=True)
class Partition:
    fit: np.ndarray  # indices into the training split, sorted
    heldout: np.ndarray

    def record(self) -> dict:
        return {"n_fit": int(len(self.fit)), "n_heldout": int(len(self.heldout))}


def partition(n: int, rng: np.random.Generator, heldout_frac: float, limit: int | None = None) -> Partition:
    """(fit, held-out) parts of a split of n pairs, from one permutation drawn from `rng` (a run's ``sample``
    stream); with `limit`, of the permutation's first `limit` pairs."""
    if limit is not None and limit > n:
        raise ValueError(f"asked for {limit} training pairs, the split has only {n}")
    order = rng.permutation(n)[: limit or n]
    n_held = int(round(heldout_frac * len(order)))
    if heldout_frac > 0 and not 1 <= n_held < len(order):
        raise ValueError(f"holding out {heldout_frac:g} of {len(order)} pairs leaves an empty part")
    return Partition(np.sort(order[n_held:]), np.sort(order[:n_held]))


def run_partition(model: str, streams: RunStreams, n: int, heldout_frac: float) -> Partition:
    """The parts a run of `model` (``MODEL@N`` sees N pairs) with `streams` uses of a split of n pairs: the
    same (model, seed, n, fraction) always gives the same parts."""
    return partition(n, streams.numpy("sample", n), heldout_frac, trained_on(model)[1])


def mark_training_rows(rows: list[dict], targets, part: Partition) -> None:
    """Each predictions row of the split a run trained on gets the soft label it trained on (after noise,
    before the gamma-floor) and whether it was fit or held out."""
    held = np.zeros(len(rows), bool)
    held[part.heldout] = True
    for r, t, h in zip(rows, targets, held, strict=True):
        r["target"], r["part"] = float(t), "heldout" if h else "fit"


def agreement(prob: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of P(first chosen) > 1/2 that agree with label > 1/2 (soft labels are hardened; an exact 1/2
    on either side counts one half)."""
    prob, labels = np.asarray(prob, np.float64), np.asarray(labels, np.float64)
    hit = np.where((prob == 0.5) | (labels == 0.5), 0.5, ((prob > 0.5) == (labels > 0.5)).astype(float))
    return float(hit.mean())


def choose_l2(
    grid: list[float],
    fit: Callable[[float], tuple[object, np.ndarray]],
    heldout_labels: np.ndarray,
) -> tuple[float, object, dict[str, float]]:
    """(chosen L2, its fitted model, held-out agreement per L2). `fit(l2)` returns (model, held-out P(first
    chosen)). Ties go to the larger penalty (the simpler model)."""
    scores, models = {}, {}
    for l2 in sorted(grid):
        models[l2], prob = fit(l2)
        scores[l2] = agreement(prob, heldout_labels)
    best = max(sorted(grid), key=lambda l2: (scores[l2], l2))
    return best, models[best], {f"{l2:g}": s for l2, s in scores.items()}
