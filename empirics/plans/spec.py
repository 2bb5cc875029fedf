"""One run of a sweep: its role, models, head, loss, noise and seed, and the folder name that says so."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.errors import InvalidInputError

from ..registries.noise import Noise


@dataclass(frozen=True)
class RunSpec:
    role: str  # weak | ceiling | student
    model: str
    seed: int = 0
    head: str = "logistic"  # last-layer head; "full" in fine-tuning mode
    loss: str = "forward_ce"
    weak_model: str | None = None
    noise: Noise = field(default_factory=Noise)

    @classmethod
    def from_dict(cls, d: dict, where: str = "run spec") -> RunSpec:
        """The spec as a config.json writes it (``asdict``); a malformed one is an InvalidInputError naming
        `where`."""
        try:
            return cls(**{**d, "noise": Noise(**d.get("noise", {}))})
        except (TypeError, AttributeError) as exc:
            raise InvalidInputError(f"{where}: not a run spec ({exc})") from None

    @property
    def name(self) -> str:
        parts = [self.role, slug(self.model), self.head]
        if self.role == "student":
            parts += [f"from-{slug(self.weak_model)}", self.loss, self.noise.tag]
        return "__".join(parts + [f"s{self.seed}"])


def slug(name: str) -> str:
    """A model name as one safe path component."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", name)
