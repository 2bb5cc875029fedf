"""Every option of a sweep, in typed dataclasses, one section per concern: the one source of the CLI, the
presets, sweep.json and configs.

The command line is derived from these classes by ``transformers.HfArgumentParser`` (see :mod:`empirics.cli`):
each field is one option (``--max-length`` for ``SetupConfig.max_length``), its type and help come from here,
and an option that several stages use (max length, gamma, the training and inference batch sizes) is one
field. :mod:`empirics.plans.experiment` assembles them into a sweep. Nothing here imports torch."""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Literal

from core.errors import ConfigError

from ..registries.datasets import DATASETS
from ..registries.heads import HEAD_REGISTRY, HEADS
from ..registries.losses import LOSSES
from ..registries.noise import Noise

# ---------------------------------------------------------------------------------------------- names
MODES = ("last_layer", "finetune")
EXTRACTIONS = ("per-text", "shared-prefix")  # empirics.inputs.features, empirics.inputs.shared_prefix
MAX_LENGTH_RANGE = (8, 131_072)  # tokens per text: below 8 no dialogue fits; above, no model here reads it


def _opt(default=dataclasses.MISSING, help: str = "", **kw):  # noqa: A002 (argparse's word)
    """A dataclass field with the help text the CLI shows."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


def _in_range(name: str, value, low, high) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{_flag(name)} must lie in [{low}, {high}], got {value!r}")


def _positive(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(f"--{name.replace('_', '-')} must be a positive finite number, got {value!r}")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_choices(section) -> None:
    """Every field has its declared type, and a Literal-typed field one of its choices (argparse checks the
    CLI; this checks presets and sweep.json alike)."""
    for name, t in typing.get_type_hints(type(section)).items():
        value, args = getattr(section, name), typing.get_args(t)
        if value is None and type(None) in args:
            continue
        base = next((a for a in args if a is not type(None)), t) if type(None) in args else t
        expected = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}.get(base)
        if expected and (not isinstance(value, expected) or (base is not bool and isinstance(value, bool))):
            raise ConfigError(f"{_flag(name)} must be a {base.__name__}, got {value!r}")
        if expected and base is float and not math.isfinite(value):
            raise ConfigError(f"{_flag(name)} must be a finite number, got {value!r}")
        if typing.get_origin(t) is list:
            item = typing.get_args(t)[0]
            if not isinstance(value, list):
                raise ConfigError(f"{_flag(name)} takes a list of {item.__name__} values, got {value!r}")
            if not value:
                raise ConfigError(f"{_flag(name)} needs at least one value")
            if not all(isinstance(v, item) and not isinstance(v, bool) for v in value):
                raise ConfigError(f"{_flag(name)} takes {item.__name__} values, got {value!r}")
        if typing.get_origin(t) is Literal and getattr(section, name) not in typing.get_args(t):
            raise ConfigError(
                f"--{name.replace('_', '-')}: invalid choice: {getattr(section, name)!r} "
                f"(choose from {', '.join(typing.get_args(t))})"
            )


# ---------------------------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class DataConfig:
    _argument_group_name = "data"
    dataset: Literal[tuple(DATASETS)] = _opt("hh-rlhf-harmless", "which preference data")
    data_dir: str | None = _opt(
        None, "folder of train_gt/train_w2s/test.jsonl (or $W2S_DATA_DIR); else the hub"
    )
    n_pairs: int | None = _opt(None, "pairs per split (default: all)")
    train_gt_pairs: int | None = _opt(
        None, "train_gt's first so many pairs (the teachers' and ceilings' pool; default: --n-pairs)"
    )
    train_w2s_pairs: int | None = _opt(
        None, "train_w2s's first so many pairs (the students' training split; default: --n-pairs)"
    )
    data_seed: int = _opt(0, "seed of each pair's order swap")
    allow_split_overlap: bool = _opt(False, "accept the same pair (by content) in two splits")
    heldout_frac: float = _opt(
        0.2,
        "fraction of each run's training split held out (drawn by the run's seed) to choose the head's L2; "
        "the run fits the rest",
    )

    def __post_init__(self):
        _check_choices(self)
        for name in ("n_pairs", "train_gt_pairs", "train_w2s_pairs"):
            _positive(name, getattr(self, name), allow_none=True)
        _in_range("heldout_frac", self.heldout_frac, 0.0, 0.9)
        if self.data_seed < 0:
            raise ConfigError(f"--data-seed must be >= 0, got {self.data_seed}")

    def pairs(self, split: str) -> int | None:
        """How many of a split's pairs the experiment reads (its first ones; None: all)."""
        own = {"train_gt": self.train_gt_pairs, "train_w2s": self.train_w2s_pairs}.get(split)
        return own if own is not None else self.n_pairs


@dataclass(frozen=True)
class SetupConfig:
    _argument_group_name = "setup"
    mode: Literal[MODES] = _opt(
        "last_layer", "last_layer: heads on frozen features; finetune: full fine-tuning"
    )
    max_length: int = _opt(512, "max tokens per text (left truncation), in every stage")
    eval_batch_size: int = _opt(16, "texts per inference forward pass (feature extraction and prediction)")
    extraction: Literal[EXTRACTIONS] = _opt(
        "per-text",
        "frozen features: per-text runs each text whole; shared-prefix runs, for a decoder, the tokens a "
        "pair's two texts share at their start once and each text's rest from the cache (the same features "
        "to float rounding, about a sixth faster on HH-RLHF; docs/empirics.md), and an encoder per text "
        "(its attention looks both ways: nothing to share)",
    )
    bf16: Literal["auto", "on", "off"] = _opt(
        "auto",
        "bf16 autocast in extraction, fine-tuning and prediction; auto: on with a CUDA GPU or a CPU with "
        "native bf16 (avx512_bf16 / amx_bf16), fp32 elsewhere",
    )

    def __post_init__(self):
        _check_choices(self)
        _in_range("max_length", self.max_length, MAX_LENGTH_RANGE[0], MAX_LENGTH_RANGE[1])
        _in_range("eval_batch_size", self.eval_batch_size, 2, 65536)


@dataclass(frozen=True)
class LossConfig:
    _argument_group_name = "losses"
    gamma: float = _opt(
        1e-3, "probability floor of the reverse losses, the metrics and the audit, in (0, 1/2)"
    )
    confidence_alpha_max: float = _opt(0.5, "confidence losses: final weight of the hardened student labels")
    confidence_warmup_frac: float = _opt(
        0.2, "confidence losses: fraction of training over which the weight warms up"
    )
    confidence_schedule: Literal["linear", "burns"] = _opt(
        "linear", "confidence warm-up: linear ramp, or Burns et al.'s ramp then jump"
    )

    def __post_init__(self):
        _check_choices(self)
        if not (isinstance(self.gamma, (int, float)) and 0 < self.gamma < 0.5):
            raise ConfigError(f"gamma = {self.gamma} is outside (0, 1/2)")
        if not 0 <= self.confidence_alpha_max <= 1:
            raise ConfigError(f"--confidence-alpha-max must lie in [0, 1], got {self.confidence_alpha_max}")
        if not 0 <= self.confidence_warmup_frac <= 1:
            raise ConfigError(
                f"--confidence-warmup-frac must lie in [0, 1], got {self.confidence_warmup_frac}"
            )


@dataclass(frozen=True)
class HeadConfig:
    _argument_group_name = "last-layer heads"
    head_steps: int = _opt(1500, "logistic head, confidence losses: full-batch Adam steps")
    head_lr: float = _opt(0.05, "logistic head, confidence losses: Adam learning rate")
    head_l2: list[float] = _opt(
        [1e-3, 1e-2, 1e-1, 1.0, 10.0],
        "logistic head: L2 penalties tried; each run keeps the one that agrees best with its own training "
        "labels on its held-out part (one value: no choice)",
    )
    simplex_dim: int = _opt(64, "simplex head: number of simplex coordinates (k-means centroids)")

    def __post_init__(self):
        _check_choices(self)
        for name in ("head_steps", "head_lr", "simplex_dim"):
            _positive(name, getattr(self, name))
        _in_range("simplex_dim", self.simplex_dim, 2, 100_000)
        for l2 in self.head_l2:
            if not (math.isfinite(l2) and l2 >= 0):
                raise ConfigError(f"--head-l2 values must be finite numbers >= 0, got {l2!r}")
        if len(set(self.head_l2)) != len(self.head_l2):
            raise ConfigError(f"--head-l2 lists a value twice: {self.head_l2}")


@dataclass(frozen=True)
class FinetuneConfig:
    _argument_group_name = "fine-tuning"
    lr: float = _opt(1e-5, "learning rate (Adam, cosine decay)")
    batch_size: int = _opt(32, "pairs per optimiser step")
    epochs: float = _opt(1.0, "passes over the training split (>= 1; a fractional last pass is allowed)")
    gradient_checkpointing: Literal["auto", "on", "off"] = _opt("auto", "auto: on when a CUDA GPU is present")
    group_pairs: int = _opt(4, "single process: pairs per length-sorted forward group (less padding)")
    trainable_blocks: int | None = _opt(
        None,
        "train only the top K transformer blocks (and the head): the frozen lower blocks run once per text, "
        "cached and reused for training and evaluation; the head starts from the run's own linear probe "
        "(empirics.inputs.frozen); none: full fine-tuning",
    )
    teacher_head: Literal["same", "logistic"] = _opt(
        "same",
        "how the weak model trains in a fine-tuning sweep: like the students (same), or as a logistic head "
        "on its frozen features, its L2 chosen on its held-out part (logistic: e.g. a smaller model's probe)",
    )
    checkpoints_per_epoch: int = _opt(
        1,
        "with --trainable-blocks: held-out checkpoints per epoch; each run keeps the checkpoint that agrees "
        "best with its own training labels on its held-out part",
    )
    warmup: float = _opt(
        0.0,
        "linear learning-rate warmup before the cosine decay: a fraction of the steps (< 1) or a number of "
        "steps (a whole number >= 1); 0: none",
    )
    max_grad_norm: float | None = _opt(None, "clip the gradient's global norm to this (none: no clipping)")
    grad_accumulation: int = _opt(
        1,
        "micro-batches per optimiser step: each step's --batch-size pairs run in this many forward/backward "
        "passes (less memory; the same effective batch, recorded)",
    )

    def __post_init__(self):
        _check_choices(self)
        positive = ("lr", "batch_size", "epochs", "group_pairs", "checkpoints_per_epoch", "grad_accumulation")
        for name in positive:
            _positive(name, getattr(self, name))
        _positive("trainable_blocks", self.trainable_blocks, allow_none=True)
        _positive("max_grad_norm", self.max_grad_norm, allow_none=True)
        if not math.isfinite(self.warmup) or self.warmup < 0 or (self.warmup >= 1 and self.warmup % 1):
            raise ConfigError(
                f"--warmup must be a fraction in [0, 1) or a whole number of steps, got {self.warmup}"
            )
        if self.grad_accumulation > self.batch_size:
            raise ConfigError(
                f"--grad-accumulation {self.grad_accumulation} exceeds --batch-size {self.batch_size}: "
                "a micro-batch would be empty"
            )
        if self.epochs < 1:
            raise ConfigError(f"--epochs must be >= 1 (every pair seen at least once), got {self.epochs}")


@dataclass(frozen=True)
class GridConfig:
    _argument_group_name = "grid"
    pairs: list[str] = _opt(
        ["all-MiniLM-L6-v2:gemma-3-270m"], "weak -> strong model pairs, as WEAK:STRONG", aliases=["--pair"]
    )
    losses: list[str] = _opt(list(LOSSES), f"student losses, from: {', '.join(LOSSES)}")
    heads: list[str] = _opt(["logistic"], "last-layer heads (logistic, simplex); fine-tuning uses full")
    seeds: list[int] = _opt([0], "seeds of the runs")
    noises: list[str] = _opt(
        ["none"], "weak-label noise: none, flip:RHO or shrink:ALPHA", aliases=["--noise"]
    )
    noise_losses: list[str] | None = _opt(
        None, "the losses that also run with the noises other than none (default: every loss of --losses)"
    )

    def __post_init__(self):
        _check_choices(self)
        for p in self.pairs:
            weak, sep, strong = p.partition(":")
            if not sep or not weak or not strong:
                raise ConfigError(f"bad --pairs {p!r}; use WEAK:STRONG, e.g. gpt2:gpt2-medium")
        for loss in self.losses:
            if loss not in LOSSES:
                raise ConfigError(f"unknown loss {loss!r}; known losses: {', '.join(LOSSES)}")
        for head in self.heads:
            if head not in HEAD_REGISTRY:
                raise ConfigError(f"unknown head {head!r}; choose from {', '.join(HEADS)} (or full)")
        for seed in self.seeds:
            if seed < 0:
                raise ConfigError(f"seeds must be >= 0, got {seed}")
        for n in self.noises:
            Noise.parse(n)
        listed = self.noise_losses
        if listed is not None and (not isinstance(listed, list) or not listed):
            raise ConfigError(f"--noise-losses takes a non-empty list of losses, got {self.noise_losses!r}")
        for loss in self.noise_losses or ():
            if loss not in self.losses:
                raise ConfigError(
                    f"--noise-losses names {loss!r}, which is not in --losses ({', '.join(self.losses)})"
                )

    def runs_with(self, loss: str, noise: Noise) -> bool:
        """Whether the grid has students of `loss` under `noise` (noisy students: the noise losses only)."""
        return noise.kind == "none" or self.noise_losses is None or loss in self.noise_losses

    @property
    def model_pairs(self) -> list[tuple[str, str]]:
        return [tuple(p.split(":", 1)) for p in self.pairs]

    @property
    def noise_list(self) -> list[Noise]:
        return [Noise.parse(n) for n in self.noises]


SECTIONS = (
    DataConfig,
    SetupConfig,
    LossConfig,
    HeadConfig,
    FinetuneConfig,
    GridConfig,
)  # the CLI's option groups
