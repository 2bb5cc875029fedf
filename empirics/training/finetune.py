"""Full fine-tuning of a pairwise reward model (paper defaults) through Hugging Face Accelerate.

Defaults (docs/theory.md section 4): Adam, lr 1e-5, cosine decay, batch 32 pairs, 1 epoch, max length 512
with left truncation, no dropout; bf16 autocast and gradient checkpointing when a GPU is present. Both texts
of each pair go through one forward pass, padded dynamically; in one process, each batch's pairs are sorted by
length and run in small groups (each padded only to its own longest text), and the loss then sees the whole
batch with one backward (batch statistics of the confidence losses are never taken over a minibatch of one).
One process by default; for several GPUs launch the same command with ``accelerate launch`` (DDP, or FSDP via
an accelerate config for 7B-14B models).

Top-block fine-tuning (``--trainable-blocks K``, :func:`finetune_top`): only the top K blocks and the head
train, on the frozen lower blocks' cached states (:mod:`empirics.inputs.frozen`); the head starts from the
run's own linear probe and the best held-out checkpoint is kept."""

from __future__ import annotations

import hashlib
import math
import time
from contextlib import nullcontext
from dataclasses import asdict

import numpy as np
import torch
from tqdm.auto import tqdm

from core.numerics import sigmoid

from ..inputs.data import PreferencePair, content_hash
from ..inputs.models import RewardModel, batch_pair_logits, load_backbone, tokenize_pairs
from ..inputs.precision import autocast, inference_autocast
from ..inputs.streams import RunStreams
from ..plans.options import FinetuneConfig
from .checkpoints import RunCheckpoints, fingerprint
from .losses import Loss


def accelerator(**trackers):
    """Accelerate's process state is global: one Accelerator configuration for every run of a process (and
    for a run's trackers, `trackers` being log_with / project_dir). The precision is applied by our own
    autocast (empirics.inputs.precision), so runs of either precision can share a process."""
    from accelerate import Accelerator

    # cpu=True without CUDA: under accelerate launch / torchrun that is multi-CPU (gloo); with CUDA, NCCL. The
    # same flag as processes.process_roles, since both share Accelerate's process state
    return Accelerator(mixed_precision="no", cpu=not torch.cuda.is_available(), **trackers)


def batches(n: int, batch_size: int, epochs: float, rng: np.random.Generator):
    """Shuffled index batches covering `epochs` passes (a fractional last epoch is allowed), the order drawn
    from `rng` (a run's ``batch_order`` stream)."""
    total = int(math.ceil(n * epochs / batch_size))
    order = np.concatenate([rng.permutation(n) for _ in range(int(math.ceil(epochs)) + 1)])
    return [order[i * batch_size : (i + 1) * batch_size] for i in range(total)]


def warmup_steps(warmup: float, total: int) -> int:
    """--warmup as steps: a fraction (< 1) of `total`, or a whole number of steps (at most `total`)."""
    return int(round(warmup * total)) if warmup < 1 else min(int(warmup), total)


def micro_batches(idx, k: int) -> list:
    """One step's pairs in `k` consecutive micro-batches (the first ones one pair larger where uneven)."""
    return [m for m in np.array_split(np.asarray(idx), k) if len(m)] if k > 1 else [idx]


class StepLog:
    """The per-step training log (loss, learning rate, gradient norm before clipping, pairs per second),
    saved in the run folder's train_log.json, and handed to the run's trackers if any
    (empirics.training.tracking)."""

    def __init__(self, tracking=None):
        self.rows: list[dict] = []
        self._t = time.perf_counter()
        self.tracking = tracking

    def add(self, step: int, loss: float, lr: float, grad_norm: float, pairs: int) -> None:
        now = time.perf_counter()
        rate = pairs / (now - self._t) if now > self._t else None
        self._t = now
        self.rows.append({"step": step, "loss": loss, "lr": lr, "grad_norm": grad_norm, "pairs_per_s": rate})
        if self.tracking is not None:
            self.tracking.log(self.rows[-1])

    def finish(self) -> None:
        if self.tracking is not None:
            self.tracking.finish()


def accumulate_step(micro: list, n_pairs: int, compute, backward, desc: str, at: str, no_sync=None) -> float:
    """The backward passes of one optimiser step over its micro-batches; returns the step's loss. The loss is
    the mean over the step's `n_pairs` pairs: each micro-batch's mean weighted by its share. `no_sync` (DDP's
    context, from a factory) defers the gradients' sync to the last micro-batch. A non-finite loss raises
    FloatingPointError naming `desc` and `at`."""
    total = 0.0
    for k, part in enumerate(micro):
        with no_sync() if no_sync is not None and k < len(micro) - 1 else nullcontext():
            value = compute(part)
            if not torch.isfinite(value.detach()):
                raise FloatingPointError(f"{desc}: non-finite loss {value.item()} at {at}")
            if len(micro) > 1:
                value = value * (len(part) / n_pairs)
            backward(value)
        total += float(value.detach())
    return total


def apply_step(opt, sched, steps: StepLog, step: int, loss: float, grad_norm, pairs: int) -> None:
    """Log the step (its loss, learning rate and gradient norm before clipping), then step the optimiser and
    the schedule."""
    steps.add(step, loss, sched.get_last_lr()[0], float(grad_norm), pairs)
    opt.step()
    sched.step()
    opt.zero_grad()


def _prepared(model_name: str, n_pairs: int, cfg: FinetuneConfig, streams: RunStreams):
    """(model, tokenizer, accelerator, batch plan, optimiser, schedule): the reward model, its head drawn from
    the run's ``init`` stream (gradient checkpointing on by request, or on a GPU with 'auto'), prepared by
    Accelerate."""
    backbone, tok, s = load_backbone(model_name)
    model = RewardModel(backbone, s.kind, init=streams.torch("init"))
    acc = accelerator()
    if cfg.gradient_checkpointing == "on" or (
        cfg.gradient_checkpointing == "auto" and torch.cuda.is_available()
    ):
        backbone.gradient_checkpointing_enable()
    plan = batches(n_pairs, cfg.batch_size, cfg.epochs, streams.numpy("batch_order"))
    opt, sched = _optimiser(model, cfg, len(plan))
    model, opt, sched = acc.prepare(model, opt, sched)
    return model, tok, acc, plan, opt, sched


def training_fingerprint(model_name, pairs, labels, loss, cfg, max_length, seed, bf16, world) -> str:
    """What a fine-tuning run's numbers depend on, hashed: a checkpoint is resumed only by the same."""
    target = hashlib.sha256(np.asarray(labels, np.float64).tobytes()).hexdigest()
    setting = {"cfg": asdict(cfg), "loss": asdict(loss), "max_length": max_length, "bf16": bf16}
    return fingerprint(
        model=model_name, pairs=content_hash(pairs), labels=target, seed=seed, world=world, **setting
    )


def _optimiser(model, cfg: FinetuneConfig, total: int):
    """Adam with linear warmup (--warmup) and cosine decay over `total` steps."""
    from transformers import get_cosine_schedule_with_warmup

    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    return opt, get_cosine_schedule_with_warmup(opt, warmup_steps(cfg.warmup, total), total)


def loop_record(cfg: FinetuneConfig, total: int, world: int = 1) -> dict:
    """What a training loop ran with (train_log.json): the effective batch, the micro-batch, the schedule."""
    return {
        "effective_batch": cfg.batch_size,
        "micro_batch": int(math.ceil(cfg.batch_size / world / cfg.grad_accumulation)),
        "grad_accumulation": cfg.grad_accumulation,
        "processes": world,
        "warmup_steps": warmup_steps(cfg.warmup, total),
        "max_grad_norm": cfg.max_grad_norm,
        "steps": total,
    }


def finetune(
    model_name: str,
    pairs: list[PreferencePair],
    labels: np.ndarray,
    loss: Loss,
    cfg: FinetuneConfig,
    max_length: int,
    streams: RunStreams,
    desc: str = "fine-tuning",
    bf16: bool = False,
    checkpoints: RunCheckpoints | None = None,
    tracking=None,
) -> tuple[RewardModel, object, object, dict]:
    """Train backbone + head on soft labels P(first is chosen); returns (model, tokenizer, accelerator,
    record): the record holds the loop's settings and the per-step log (``train_log``). With `checkpoints`
    the state is saved every N steps and the run goes on from its latest one (empirics.training.checkpoints).
    What the run draws comes from `streams` (head, batch order; the loop's own draws from its ``dropout``
    stream)."""
    with streams.torch_global("dropout"):
        return _finetune(
            model_name, pairs, labels, loss, cfg, max_length, streams, desc, bf16, checkpoints, tracking
        )


def _finetune(model_name, pairs, labels, loss, cfg, max_length, streams, desc, bf16, checkpoints, tracking):
    model, tok, acc, plan, opt, sched = _prepared(model_name, len(pairs), cfg, streams)
    steps = StepLog(tracking)
    model.train()
    y_all = torch.tensor(np.asarray(labels), dtype=torch.float32)
    # several processes (accelerate launch / torchrun): each takes its shard of every batch; DDP averages the
    # gradients, and the confidence losses' quantile is taken over the whole batch, gathered across processes
    world, rank = acc.num_processes, acc.process_index
    gather = acc.gather if world > 1 else None
    print_ = checkpoints and training_fingerprint(
        model_name, pairs, labels, loss, cfg, max_length, streams.seed, bf16, world
    )
    done, steps.rows = checkpoints.restore(acc, print_) if checkpoints else (0, [])
    bar = tqdm(plan, desc=desc, unit="batch", disable=not acc.is_local_main_process, leave=False)
    for step, batch in enumerate(bar):
        if step < done:  # trained before the checkpoint this run resumed from
            continue
        if len(batch) < world:  # a last batch too small to shard: every process skips it alike
            continue
        idx = batch[: len(batch) - len(batch) % world][rank::world]  # equal shards for the gather

        def compute(part, step=step):
            with autocast(bf16):
                firsts, seconds = [pairs[i].first for i in part], [pairs[i].second for i in part]
                group = cfg.group_pairs if world == 1 else None
                z = batch_pair_logits(model, tok, firsts, seconds, max_length, group)
                return loss(z, y_all[part].to(acc.device), step / len(plan), gather)

        micro, at = micro_batches(idx, cfg.grad_accumulation), f"step {step + 1} of {len(plan)}"
        total = accumulate_step(micro, len(idx), compute, acc.backward, desc, at, lambda: acc.no_sync(model))
        norm = acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm or math.inf)
        apply_step(opt, sched, steps, step + 1, total, norm, len(batch))
        if checkpoints is not None and checkpoints.due(step + 1, len(plan)):
            checkpoints.save(acc, step + 1, steps.rows, print_)
    model.eval()
    steps.finish()
    return acc.unwrap_model(model), tok, acc, loop_record(cfg, len(plan), world) | {"train_log": steps.rows}


@torch.no_grad()
def predict_logits(
    model: RewardModel,
    tok,
    pairs: list[PreferencePair],
    max_length: int,
    batch_texts: int = 16,
    desc: str = "predicting",
    bf16: bool = False,
) -> np.ndarray:
    """z = r(first) - r(second) for every pair (float32 on CPU), `batch_texts` texts (half as many pairs) a
    pass."""
    batch_size = max(1, batch_texts // 2)
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in tqdm(range(0, len(pairs), batch_size), desc=desc, unit="batch", leave=False):
        chunk = pairs[start : start + batch_size]
        enc = tokenize_pairs(tok, [p.first for p in chunk], [p.second for p in chunk], max_length)
        with inference_autocast(bf16):
            z = model.pair_logits(enc["input_ids"].to(device), enc["attention_mask"].to(device))
        out.append(z.float().cpu())
    return torch.cat(out).numpy().astype(np.float64)


# ---------------------------------------------------------------------------------------------- top blocks
def _length_groups(states, idx, group: int) -> list[list[int]]:
    """`idx` sorted by the longer text of each pair and cut into groups of `group` pairs (less padding)."""
    order = sorted(idx, key=lambda i: max(states.length(i), states.length(states.n + i)))
    return [order[g : g + group] for g in range(0, len(order), group)]


@torch.no_grad()
def predict_top(model, states, idx=None, batch_pairs: int = 32, bf16: bool = False) -> np.ndarray:
    """z for pairs `idx` (default: all) of cached lower states, in the order of `idx`."""
    idx = list(range(states.n)) if idx is None else [int(i) for i in idx]
    model.eval()
    z = {}
    for g in _length_groups(states, idx, batch_pairs):
        with inference_autocast(bf16):
            z.update(zip(g, model.pair_logits(*states.pair_batch(g)).float().tolist(), strict=True))
    return np.array([z[i] for i in idx], dtype=np.float64)


def _top_model(model_name: str, trainable_blocks: int, head_weight: np.ndarray):
    """The top-block reward model, its head starting from `head_weight` (the run's linear probe): nothing of
    it is drawn."""
    from ..inputs.frozen import TopRewardModel

    # the weights the cached states and the probe's features came from (a tiny random model's: WEIGHTS_SEED's)
    backbone, _, s = load_backbone(model_name)
    model = TopRewardModel(backbone, s.kind, trainable_blocks)
    with torch.no_grad():
        model.head.weight.copy_(torch.as_tensor(head_weight, dtype=torch.float32).view(1, -1))
        model.head.bias.zero_()
    return model


def checkpoint_marks(n_steps: int, cfg: FinetuneConfig) -> dict[int, float]:
    """{step: epoch} of the checkpoints: ``cfg.checkpoints_per_epoch`` per epoch, the last one last."""
    n_ck = int(math.ceil(cfg.epochs * cfg.checkpoints_per_epoch))
    return {max(1, round(n_steps * j / n_ck)): j / cfg.checkpoints_per_epoch for j in range(1, n_ck + 1)}


def _top_step(model, states, pairs, y, loss, cfg, at: tuple[int, int], desc: str, bf16: bool) -> float:
    """The backward passes of step `at` = (step, of steps) on cached lower states, each micro-batch's pairs
    grouped by length; returns the step's loss."""
    step, n_steps = at

    def compute(part):
        z, order = [], []
        with autocast(bf16):
            for g in _length_groups(states, [int(i) for i in part], cfg.group_pairs):
                z.append(model.pair_logits(*states.pair_batch(g)))
                order += g
            return loss(torch.cat(z), y[order], (step - 1) / n_steps)

    micro = micro_batches(pairs, cfg.grad_accumulation)
    return accumulate_step(
        micro, len(pairs), compute, lambda v: v.backward(), desc, f"step {step} of {n_steps}"
    )


def finetune_top(
    model_name: str,
    states,
    fit: np.ndarray,
    labels: np.ndarray,
    heldout: np.ndarray,
    loss: Loss,
    cfg: FinetuneConfig,
    head_weight: np.ndarray,
    streams: RunStreams,
    desc: str = "fine-tuning",
    bf16: bool = False,
    tracking=None,
):
    """Train the top ``cfg.trainable_blocks`` blocks and the head on cached lower `states`
    (empirics.inputs.frozen)
    with soft labels (P(first chosen) for every pair of `states`; pairs `fit` train), the head starting from
    `head_weight` (the run's linear probe). At every checkpoint (``cfg.checkpoints_per_epoch`` per epoch) the
    agreement with the run's own labels on its `heldout` pairs is measured; the best checkpoint is kept (the
    first of equals; the last when nothing is held out). Returns (model, record). The batch order comes from
    `streams`, and the loop's own draws from its ``dropout`` stream."""
    with streams.torch_global("dropout"):
        return _finetune_top(
            model_name, states, fit, labels, heldout, loss, cfg, head_weight, streams, desc, bf16, tracking
        )


def _finetune_top(
    model_name, states, fit, labels, heldout, loss, cfg, head_weight, streams, desc, bf16, tracking
):
    from ..inputs.partition import agreement

    model = _top_model(model_name, cfg.trainable_blocks, head_weight)
    plan = batches(len(fit), cfg.batch_size, cfg.epochs, streams.numpy("batch_order"))
    marks = checkpoint_marks(len(plan), cfg)
    opt, sched = _optimiser(model, cfg, len(plan))
    y = torch.tensor(np.asarray(labels), dtype=torch.float32)
    steps = StepLog(tracking)

    def score() -> float | None:
        if not len(heldout):
            return None
        return agreement(sigmoid(predict_top(model, states, heldout, bf16=bf16)), labels[heldout])

    scores = {0.0: score()}  # the probe itself, for the record (never chosen: this regime trains the blocks)
    best, best_score, kept = None, None, None
    for step, batch in enumerate(tqdm(plan, desc=desc, unit="batch", leave=False), start=1):
        model.train()
        pairs = [int(i) for i in fit[batch]]
        total = _top_step(model, states, pairs, y, loss, cfg, (step, len(plan)), desc, bf16)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm or math.inf)
        apply_step(opt, sched, steps, step, total, norm, len(pairs))
        if step in marks:
            scores[marks[step]] = sc = score()
            if sc is None or best_score is None or sc > best_score:  # no held-out part: the last one
                best, best_score = marks[step], sc
                kept = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(kept)
    model.eval()
    steps.finish()
    record = {
        "trainable_blocks": cfg.trainable_blocks,
        "lr": cfg.lr,
        "checkpoint_epochs": best,
        "heldout_agreement_per_checkpoint": {f"{k:g}": v for k, v in scores.items()},
        "loop": loop_record(cfg, len(plan)),
        "train_log": steps.rows,
    }
    return model, record
