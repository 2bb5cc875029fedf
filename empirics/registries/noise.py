"""Kinds of weak-label noise, one entry each (its CLI form, the range of its level, how it changes the
labels),
and :class:`Noise`, one kind at one level. Nothing here imports torch."""

from __future__ import annotations

import typing
from dataclasses import dataclass

from core.errors import InvalidInputError


def _flip(p, level: float, rng):
    """Flip a fraction `level` of the labels (p -> 1 - p), drawn from `rng` (the run's label_noise stream)."""
    hit = rng.permutation(len(p))[: int(round(level * len(p)))]
    p[hit] = 1 - p[hit]
    return p


def _shrink(p, level: float, rng):
    """Shrink every label towards 1/2 by `level`: p -> 1/2 + level (p - 1/2)."""
    return 0.5 + level * (p - 0.5)


@dataclass(frozen=True)
class NoiseKind:
    """A kind of weak-label noise: its CLI form, the range of its level, and how it changes the labels."""

    name: str
    usage: str
    level_range: tuple[float, float]
    level_name: str
    apply: typing.Callable


NOISE_KINDS = {
    k.name: k
    for k in (
        NoiseKind("flip", "flip:RHO", (0.0, 1.0), "flip fraction", _flip),
        NoiseKind("shrink", "shrink:ALPHA", (-1.0, 1.0), "shrink factor", _shrink),
    )
}
NOISE_USAGE = "none, " + ", ".join(k.usage for k in NOISE_KINDS.values())


@dataclass(frozen=True)
class Noise:
    """Label noise on the weak labels: none, or one of NOISE_KINDS at a level (flip a seeded fraction, or
    shrink all towards 1/2)."""

    kind: str = "none"
    level: float = 0.0

    def __post_init__(self):
        if self.kind == "none":
            return
        if self.kind not in NOISE_KINDS:
            raise InvalidInputError(f"unknown noise kind {self.kind!r}; use {NOISE_USAGE}")
        k = NOISE_KINDS[self.kind]
        low, high = k.level_range
        if not low <= self.level <= high:
            raise InvalidInputError(f"{k.level_name} must lie in [{low:g}, {high:g}], got {self.level}")

    @classmethod
    def parse(cls, text: str) -> Noise:
        if text == "none":
            return cls()
        kind, _, level = text.partition(":")
        try:
            value = float(level)
        except ValueError:
            raise InvalidInputError(f"bad noise {text!r}; use {NOISE_USAGE}") from None
        return cls(kind, value)

    @property
    def tag(self) -> str:
        return "none" if self.kind == "none" else f"{self.kind}{self.level:g}"

    def apply(self, p, rng):
        """The labels `p` with this noise; `rng` (a numpy Generator: the run's ``label_noise`` stream) is
        what a random kind draws from."""
        import numpy as np

        p = np.asarray(p, np.float64).copy()
        return p if self.kind == "none" else NOISE_KINDS[self.kind].apply(p, self.level, rng)
