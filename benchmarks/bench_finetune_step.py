"""Benchmark: full fine-tuning step throughput, this suite's loop against a lineage-style reference loop.

Ours: a batch of B pairs, sorted by length and run in groups of g pairs (each group one forward pass with both
texts of each pair, padded to the group's longest text), one loss over the whole batch, one backward, one
optimiser step; "ours_one_pass" is the same with the whole batch in one forward pass (what runs under DDP);
"ours_bf16" adds bf16 autocast, which CPUs with native bf16 (avx512_bf16, AMX) run much faster (fine-tuning's
--bf16 on). Reference (the style of the group's lineage code): a minibatch of one with gradient accumulation
over the same B pairs, two separate forward passes per pair (first text, then second), fp32. Same model, data,
batch and optimiser; both use dynamic padding (the reference pads nothing: one text at a time). Reports
pairs/s and the speed-up; writes results/benchmarks/finetune_step.json.

    python benchmarks/bench_finetune_step.py [--model all-MiniLM-L6-v2] [--batch 8] [--steps 4] \
        [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.cli import COUNT, MAX_LENGTH, OneLineErrorParser, number, run_command
from empirics.inputs.data import load_split
from empirics.inputs.models import RewardModel, batch_pair_logits, load_backbone
from empirics.inputs.precision import detected_native_bf16, precision_provenance
from empirics.inputs.streams import RunStreams
from empirics.runs.pipeline import run_environment as environment
from empirics.training.losses import get_loss


def our_step(model, tok, pairs, labels, loss, opt, max_length, group_pairs=None, bf16=False):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        z = batch_pair_logits(
            model, tok, [p.first for p in pairs], [p.second for p in pairs], max_length, group_pairs
        )
        value = loss(z, labels)
    value.backward()
    opt.step()
    opt.zero_grad()


def reference_step(model, tok, pairs, labels, loss, opt, max_length):
    for p, y in zip(pairs, labels, strict=True):  # minibatch of one, gradient accumulation
        r = []
        for text in (p.first, p.second):  # two separate forward passes per pair
            enc = tok([text], truncation=True, max_length=max_length, return_tensors="pt")
            r.append(model(enc["input_ids"], enc["attention_mask"]))
        (loss(r[0] - r[1], y[None]) / len(pairs)).backward()
    opt.step()
    opt.zero_grad()


def timed(step, model, tok, batches, loss, max_length):
    opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    step(model, tok, *batches[0], loss, opt, max_length)  # warm-up
    t0 = time.perf_counter()
    for pairs, labels in batches[1:]:
        step(model, tok, pairs, labels, loss, opt, max_length)
    return time.perf_counter() - t0


def main():
    ap = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--batch", type=number(int, 2), default=32)
    ap.add_argument("--steps", type=COUNT, default=3)
    ap.add_argument("--max-length", type=MAX_LENGTH, default=128)
    ap.add_argument(
        "--group-pairs", type=COUNT, default=4, help="pairs per length-sorted forward group (ours)"
    )
    ap.add_argument("--data-dir", default="../shared/data/hh-rlhf-harmless")
    ap.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    args = ap.parse_args()
    pairs = load_split("jsonl", "train_w2s", args.data_dir, args.batch * (args.steps + 1))
    labels = torch.tensor([float(p.label) for p in pairs])
    batches = [
        (pairs[i : i + args.batch], labels[i : i + args.batch]) for i in range(0, len(pairs), args.batch)
    ]
    loss = get_loss("forward_ce")
    result = {
        "model": args.model,
        "batch_pairs": args.batch,
        "timed_steps": args.steps,
        "max_length": args.max_length,
        "threads": torch.get_num_threads(),
        "native_bf16": detected_native_bf16(),  # else bf16 autocast is emulated, and its timing says nothing
        "hardware": precision_provenance(),
    }
    variants = [
        ("ours", lambda *a: our_step(*a, group_pairs=args.group_pairs)),
        ("ours_bf16", lambda *a: our_step(*a, group_pairs=args.group_pairs, bf16=True)),
        ("ours_one_pass", our_step),
        ("reference", reference_step),
    ]
    for name, step in variants:
        backbone, tok, s = load_backbone(args.model)
        model = RewardModel(backbone, s.kind, init=RunStreams(0).torch("init")).train()
        seconds = timed(step, model, tok, batches, loss, args.max_length)
        result[f"{name}_seconds"] = seconds
        result[f"{name}_pairs_per_second"] = args.batch * args.steps / seconds
        print(
            f"{name:>9}: {args.batch * args.steps / seconds:.2f} pairs/s ({seconds / args.steps:.2f} s per "
            "step)"
        )
    result["speedup"] = result["reference_seconds"] / result["ours_seconds"]
    result["speedup_one_pass"] = result["reference_seconds"] / result["ours_one_pass_seconds"]
    result["speedup_bf16"] = result["reference_seconds"] / result["ours_bf16_seconds"]
    result["mean_tokens_per_text"] = float(
        np.mean([len(tok(t)["input_ids"]) for p in pairs for t in (p.first, p.second)])
    )
    result["environment"] = environment()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "finetune_step.json").write_text(json.dumps(result, indent=2))
    print(
        f"speed-up fp32 {result['speedup']:.2f}x, bf16 autocast {result['speedup_bf16']:.2f}x, one pass fp32 "
        f"{result['speedup_one_pass']:.2f}x (goal >= 2x); bf16 "
        + ("native" if result["native_bf16"] else "emulated (no native bf16 on this CPU)")
    )


if __name__ == "__main__":
    sys.exit(run_command("bench_finetune_step.py", main))
