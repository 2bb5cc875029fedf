"""The model registry: names, kinds and sources of the models a sweep can use, and the cache folder (no
torch).

The paper's families by hub id (GPT-2, Pythia, Qwen2.5), the offline models that ship in PyPI packages
(all-MiniLM-L6-v2, and minilm-l3, its first three blocks; Gemma-3-270M from its GGUF package), and tiny
random configs for tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelError

CACHE_ENV = "W2S_CACHE"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "decoder" | "encoder"
    source: str  # "hub" | "package" | "tiny"
    params: str  # rough size, for listings
    hub_id: str | None = None
    first_blocks: tuple[str, int] | None = None  # (base model, k): the base's embeddings and first k blocks


def _hub(name, params, kind="decoder"):
    return ModelSpec(name, kind, "hub", params, name)


MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        _hub("gpt2", "124M"),
        _hub("gpt2-medium", "355M"),
        _hub("gpt2-large", "774M"),
        _hub("gpt2-xl", "1.5B"),
        *[_hub(f"EleutherAI/pythia-{p}", p) for p in ("70m", "160m", "410m", "1b", "1.4b", "2.8b")],
        *[_hub(f"Qwen/Qwen2.5-{p}", p) for p in ("0.5B", "1.5B", "3B", "7B", "14B")],
        ModelSpec("all-MiniLM-L6-v2", "encoder", "package", "22.7M"),
        ModelSpec("gemma-3-270m", "decoder", "package", "268M"),
        # a smaller model of the same family: all-MiniLM-L6-v2 cut after its third of six blocks
        ModelSpec("minilm-l3", "encoder", "package", "17.1M", first_blocks=("all-MiniLM-L6-v2", 3)),
        ModelSpec("tiny-gpt2", "decoder", "tiny", "~0.1M"),
        ModelSpec("tiny-gpt-neox", "decoder", "tiny", "~0.1M"),
        ModelSpec("tiny-qwen2", "decoder", "tiny", "~0.1M"),
        ModelSpec("tiny-bert", "encoder", "tiny", "~0.1M"),
        ModelSpec("tiny-bert-first1", "encoder", "tiny", "~0.1M", first_blocks=("tiny-bert", 1)),
    ]
}


def trained_on(name: str) -> tuple[str, int | None]:
    """(model, N) of a run's model name: ``MODEL@N`` is MODEL trained on only N pairs of its training split (a
    seeded random subset, held-out part included): a weaker teacher of the same architecture, made weaker in a
    recorded way. A plain name trains on the whole split (N = None)."""
    base, sep, n = name.partition("@")
    if not sep:
        return name, None
    if not n.isdigit() or int(n) < 10:
        raise ModelError(f"bad model {name!r}: MODEL@N needs a whole number of training pairs N >= 10")
    return base, int(n)


def spec(name: str) -> ModelSpec:
    """The registry entry of a model (``MODEL@N`` names MODEL's entry)."""
    base = trained_on(name)[0]
    if base not in MODELS:
        raise ModelError(f"unknown model {base!r}; known models: {', '.join(MODELS)}")
    return MODELS[base]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "w2s-verify")
