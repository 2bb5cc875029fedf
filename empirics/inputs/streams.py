"""What a run's seed redraws: one named random stream per source, derived here and nowhere else.

A run's seed reaches its draws only through :class:`RunStreams`. Each stream is a numpy ``SeedSequence`` of
its own (the seed and a salt naming the source), handed to what draws as a ``numpy.random.Generator`` or a
``torch.Generator``; no library code seeds a global generator, and loading a model draws from none of these
(:func:`fixed_torch_rng`).

============  ==================================================================  =========================
stream        what draws from it                                                  entropy
============  ==================================================================  =========================
sample        the training sample and its fit / held-out split: one permutation   (seed, n, 2_147_483_629)
              of the n pairs of the split; ``MODEL@N`` runs keep its first N,
              and the first ``heldout_frac`` of those are held out
label_noise   which weak labels a ``flip:RHO`` noise flips                          (seed, 7919)
batch_order   fine-tuning's shuffled batches                                      (seed,)
init          the reward model's head, when it does not start from a probe        (seed, 1_000_003)
dropout       anything the training loop draws from torch's global generator     (seed, 1_000_033)
              (dropout, off in this protocol): run in a fork of that generator
              seeded from this stream, so the global state is left as it was
============  ==================================================================  =========================

The first three entropies are the ones the suite always used, so the committed references (their splits,
flips and batch orders) are regenerated with the same draws. ``init`` and ``dropout`` are new: before them,
the head's initial weights came from the global generator, re-seeded when a tiny model was built.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

# the salt of each stream; None: the seed alone (batch order, as it always was)
SALTS: dict[str, int | None] = {
    "sample": 2_147_483_629,
    "label_noise": 7919,
    "batch_order": None,
    "init": 1_000_003,
    "dropout": 1_000_033,
}
# streams that depend on the size of what they permute (their entropy holds it before the salt)
SIZED = {"sample"}
# the seed of everything a model is built from: tiny random models' weights, and any weight a checkpoint lacks
WEIGHTS_SEED = 0


class StreamError(ValueError):
    pass


@dataclass(frozen=True)
class RunStreams:
    """The random streams of one run, all derived from its seed."""

    seed: int

    def __post_init__(self):
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise StreamError(f"a run's seed must be an integer >= 0, got {self.seed!r}")

    def entropy(self, name: str, size: int | None = None) -> tuple[int, ...]:
        """The SeedSequence entropy of stream `name` (`size`: the length of what a sized stream permutes)."""
        if name not in SALTS:
            raise StreamError(f"unknown random stream {name!r}; the streams are {', '.join(SALTS)}")
        if (name in SIZED) != (size is not None):
            raise StreamError(f"stream {name!r} {'needs' if name in SIZED else 'takes no'} size")
        salt = SALTS[name]
        return (int(self.seed), *(() if size is None else (int(size),)), *(() if salt is None else (salt,)))

    def numpy(self, name: str, size: int | None = None) -> np.random.Generator:
        """A fresh numpy Generator on stream `name`: the same draws every time it is asked for."""
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(self.entropy(name, size)))))

    def torch_seed(self, name: str) -> int:
        """A 63-bit seed for torch, from stream `name`'s SeedSequence."""
        words = np.random.SeedSequence(list(self.entropy(name))).generate_state(2, np.uint64)
        return int(words[0] >> np.uint64(1))

    def torch(self, name: str, device: str = "cpu"):
        """A fresh ``torch.Generator`` on stream `name`."""
        import torch

        return torch.Generator(device=device).manual_seed(self.torch_seed(name))

    @contextmanager
    def torch_global(self, name: str) -> Iterator[None]:
        """Inside: torch's global generator(s) seeded from stream `name`, for draws a library makes there
        (dropout); outside: the global state exactly as before."""
        with fixed_torch_rng(self.torch_seed(name)):
            yield


@contextmanager
def fixed_torch_rng(seed: int = WEIGHTS_SEED) -> Iterator[None]:
    """A fork of torch's global generators (CPU, and the current GPU if any) seeded with `seed`; restored on
    exit, so what runs inside neither reads nor changes the caller's random state."""
    import torch

    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
