"""Benchmark: feature extraction under bf16 autocast against fp32, and a paired check that downstream
accuracy is unchanged.

Goal (issue 10): on hardware with native bf16 (a CUDA GPU, or a CPU with avx512_bf16 / amx_bf16, where
`--bf16 auto` turns it on), extraction >= 1.7x faster than fp32, and the logistic ceiling fit on bf16 features
as accurate on the same test pairs as the one fit on fp32 features (the paired difference's 95 % interval
contains 0). Both heads follow the sweep's rule: forward CE, L-BFGS, L2 chosen on a held-out part of the
training pairs (empirics.inputs.partition), standardised on the training features. Without native bf16 the
timing is reported but says nothing (bf16 is emulated there, and slower); the accuracy check still holds.
Writes results/benchmarks/bf16_extraction.json.

    python benchmarks/bench_bf16_extraction.py [--model gemma-3-270m] [--pairs 1000] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.cli import COUNT, MAX_LENGTH, OneLineErrorParser, run_command
from core.errors import InvalidInputError
from core.io import atomic_write_text
from core.numerics import sigmoid
from empirics.inputs.data import load_split
from empirics.inputs.features import embed_texts
from empirics.inputs.models import load_backbone
from empirics.inputs.partition import partition
from empirics.inputs.precision import detected_native_bf16, precision_provenance
from empirics.inputs.streams import RunStreams
from empirics.readers.inference import bootstrap
from empirics.readers.metrics import accuracy
from empirics.runs.pipeline import run_environment as environment
from empirics.training.heads import Standardizer, fit_logistic_heldout

L2_GRID = [0.01, 0.1, 1.0, 10.0]
GAMMA = 1e-3


Pair = tuple[np.ndarray, np.ndarray]  # (features of the first texts, of the second)


def ceiling_test_correct(
    train: Pair, train_labels: np.ndarray, test: Pair, test_labels: np.ndarray
) -> tuple[float, np.ndarray]:
    """The logistic ceiling by the sweep's rule (forward CE, L-BFGS, L2 chosen on a held-out part of the
    training pairs, standardised on the training features): (chosen L2, per-test-pair correctness). Shared
    with bench_extraction_precision.py."""
    std = Standardizer.fit(*train)
    part = partition(len(train_labels), RunStreams(0).numpy("sample", len(train_labels)), 0.2)
    l2, head, _ = fit_logistic_heldout(std(*train), train_labels, "forward_ce", GAMMA, L2_GRID, part)
    return l2, accuracy(sigmoid(std(*test) @ head.v), test_labels)


def paired_ci95(diff: np.ndarray) -> list[float]:
    """95 % paired-bootstrap interval of a per-pair difference (empirics.readers.inference.bootstrap)."""
    dist = bootstrap([diff])
    return [float(np.percentile(dist, q)) for q in (2.5, 97.5)]


def parser() -> OneLineErrorParser:
    p = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="gemma-3-270m")
    p.add_argument("--pairs", type=COUNT, default=1000, help="pairs of train_gt and of test each")
    p.add_argument("--batch", type=COUNT, default=16)
    p.add_argument("--max-length", type=MAX_LENGTH, default=256)
    p.add_argument("--data-dir", default="../shared/data/hh-rlhf-harmless")
    p.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    return p


def main() -> None:
    args = parser().parse_args()
    if args.batch < 1 or args.max_length < 1:
        raise InvalidInputError(f"--batch and --max-length must be >= 1, got {args.batch}, {args.max_length}")
    splits = {s: load_split("jsonl", s, args.data_dir, args.pairs) for s in ("train_gt", "test")}
    backbone, tok, spec = load_backbone(args.model)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    backbone.to(device)

    def extract(split: str, bf16: bool) -> tuple[np.ndarray, np.ndarray, float]:
        pairs = splits[split]
        texts = [q.first for q in pairs] + [q.second for q in pairs]
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        emb = embed_texts(backbone, tok, spec.kind, texts, args.max_length, args.batch, split, bf16)
        if device == "cuda":
            torch.cuda.synchronize()
        return emb[: len(pairs)], emb[len(pairs) :], time.perf_counter() - t0

    embed_texts(backbone, tok, spec.kind, [splits["test"][0].first] * args.batch, args.max_length)  # warm-up
    labels = {s: np.array([q.label for q in splits[s]]) for s in splits}
    seconds, correct, chosen_l2, test_features = {}, {}, {}, {}
    for precision, bf16 in (("fp32", False), ("bf16", True)):
        feats = {s: extract(s, bf16) for s in splits}
        seconds[precision] = sum(f[2] for f in feats.values())
        chosen_l2[precision], correct[precision] = ceiling_test_correct(
            feats["train_gt"][:2], labels["train_gt"], feats["test"][:2], labels["test"]
        )
        test_features[precision] = np.concatenate(feats["test"][:2])
    diff = correct["bf16"] - correct["fp32"]
    ci = paired_ci95(diff)
    f32, b16 = test_features["fp32"], test_features["bf16"]
    result = {
        "model": args.model,
        "pairs_per_split": args.pairs,
        "device": device,
        "native_bf16": detected_native_bf16(),  # the hardware itself ($W2S_NATIVE_BF16 does not change it)
        "hardware": precision_provenance(),
        "fp32_seconds": seconds["fp32"],
        "bf16_seconds": seconds["bf16"],
        "speedup": seconds["fp32"] / seconds["bf16"],
        "test_accuracy_fp32": float(correct["fp32"].mean()),
        "test_accuracy_bf16": float(correct["bf16"].mean()),
        "paired_difference": float(diff.mean()),
        "paired_difference_ci95": ci,
        "accuracy_unchanged": bool(ci[0] <= 0 <= ci[1]),
        "chosen_l2": chosen_l2,
        "feature_rel_max_abs_diff": float(np.abs(b16 - f32).max() / np.abs(f32).max()),
        "environment": environment(),
    }
    atomic_write_text(args.out / "bf16_extraction.json", json.dumps(result, indent=2))
    print(summary_line(result))


def summary_line(r: dict) -> str:
    note = "" if r["native_bf16"] else " (no native bf16 here: the speedup says nothing)"
    acc32, acc16, ci = (
        100 * r["test_accuracy_fp32"],
        100 * r["test_accuracy_bf16"],
        r["paired_difference_ci95"],
    )
    return (
        f"{r['model']} on {r['device']}: fp32 {r['fp32_seconds']:.1f} s, bf16 {r['bf16_seconds']:.1f} s, "
        f"{r['speedup']:.2f}x (goal >= 1.7x){note}; test accuracy fp32 "
        f"{acc32:.1f} %, bf16 {acc16:.1f} %, paired "
        f"{100 * r['paired_difference']:+.2f} pts [{100 * ci[0]:+.2f}, {100 * ci[1]:+.2f}]: "
        f"{'unchanged' if r['accuracy_unchanged'] else 'CHANGED'} within its interval"
    )


if __name__ == "__main__":
    sys.exit(run_command("bench_bf16_extraction.py", main))
