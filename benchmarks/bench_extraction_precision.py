"""Benchmark: which precision makes frozen-feature extraction fast, and at what cost in features and accuracy.

Modes, each over the same texts (the first --pairs pairs of train_gt and of test, both responses):
  fp32            the fp32 model, no autocast (the reference)
  tf32            the fp32 model with TF32 matrix products (CUDA only)
  autocast        the fp32 model under the suite's bf16 autocast for forward passes (`--bf16 on`:
                  empirics.inputs.precision.inference_autocast, which on a GPU keeps cuDNN's attention kernel
                  out)
  autocast-cudnn  the same with cuDNN attention allowed (PyTorch's own choice; CUDA only)
  bf16            a bf16 copy of the model, no autocast (weights and activations in bf16)
  bf16-nocudnn    the same without cuDNN attention (CUDA only)
For each mode and batch size: wall seconds per pass (after a warm-up, the best of --reps passes, tokenisation
included as in the pipeline), each text's relative L2 error of its pooled feature against fp32 at the same
batch size (median, max, share above 1 %), and for every non-fp32 mode a paired test-accuracy comparison with
fp32 (logistic ceiling by the suite's held-out rule, as bench_bf16_extraction.py). --profile adds PyTorch
profiler tables (top operators by self device and host time) for one batch-64 pass over 256 texts per mode.
Writes results/benchmarks/extraction_precision.json.

    python benchmarks/bench_extraction_precision.py [--model gemma-3-270m] [--pairs 1000] [--batches 16 64]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from bench_bf16_extraction import ceiling_test_correct, paired_ci95  # the same ceiling and interval
from torch.nn.attention import SDPBackend

from core.cli import COUNT, MAX_LENGTH, OneLineErrorParser, run_command
from core.io import atomic_write_text
from empirics.inputs import precision
from empirics.inputs.data import load_split
from empirics.inputs.features import embed_texts, token_ids
from empirics.inputs.models import load_backbone
from empirics.runs.pipeline import run_environment as environment

MODES = ("fp32", "tf32", "autocast", "autocast-cudnn", "bf16", "bf16-nocudnn")
CUDA_ONLY = ("tf32", "autocast-cudnn", "bf16-nocudnn")


@contextlib.contextmanager
def backend_settings(mode: str):
    """TF32 matrix products for mode tf32; cuDNN attention off for bf16-nocudnn, and let back into the suite's
    forward-pass autocast for autocast-cudnn."""
    matmul, cudnn = torch.get_float32_matmul_precision(), torch.backends.cuda.cudnn_sdp_enabled()
    backends = precision.INFERENCE_SDPA_BACKENDS
    torch.set_float32_matmul_precision("high" if mode == "tf32" else "highest")
    torch.backends.cuda.enable_cudnn_sdp(cudnn and mode != "bf16-nocudnn")
    if mode == "autocast-cudnn":
        precision.INFERENCE_SDPA_BACKENDS = (*backends, SDPBackend.CUDNN_ATTENTION)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(matmul)
        torch.backends.cuda.enable_cudnn_sdp(cudnn)
        precision.INFERENCE_SDPA_BACKENDS = backends


def relative_errors(f: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per text: |f - ref| / |ref| (L2 over the feature vector)."""
    return np.linalg.norm(f - ref, axis=1) / np.maximum(np.linalg.norm(ref, axis=1), 1e-30)


def parser() -> OneLineErrorParser:
    p = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="gemma-3-270m")
    p.add_argument("--pairs", type=COUNT, default=1000, help="pairs of train_gt and of test each")
    p.add_argument("--batches", type=COUNT, nargs="+", default=[16, 64])
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--reps", type=COUNT, default=2, help="timed passes per mode and batch size (best kept)")
    p.add_argument("--max-length", type=MAX_LENGTH, default=256)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--data-dir", default="../shared/data/hh-rlhf-harmless")
    p.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    return p


def precision_row(batch, mode, seconds, n_texts, correct, feats, lengths, best) -> dict:
    """One mode at one batch size: the best time, the test accuracy and the features' errors against fp32,
    and against fp32's predictions the paired accuracy difference."""
    err = relative_errors(feats[mode], feats["fp32"])
    row = {
        "batch": batch,
        "mode": mode,
        "seconds": min(seconds),
        "seconds_all": seconds,
        "texts_per_second": n_texts / min(seconds),
        "test_accuracy": float(correct[mode].mean()),
        "feature_rel_error_median": float(np.median(err)),
        "feature_rel_error_max": float(err.max()),
        "texts_rel_error_above_1pct": int((err > 0.01).sum()),
        "texts_rel_error_above_10pct": int((err > 0.1).sum()),
        "worst_text": {"index": int(err.argmax()), "tokens": lengths[int(err.argmax())]},
    }
    if mode != "fp32":
        diff = correct[mode] - correct["fp32"]
        row["speedup_vs_fp32"] = best["fp32"] / row["seconds"]
        row["paired_difference"] = float(diff.mean())
        row["paired_difference_ci95"] = paired_ci95(diff)
    return row


def row_line(row: dict) -> str:
    return (
        f"batch {row['batch']:4d} {row['mode']:9s} {row['seconds']:7.2f} s"
        f" {row['texts_per_second']:8.1f} texts/s"
        f"  x{row.get('speedup_vs_fp32', 1.0):5.2f}  acc {100 * row['test_accuracy']:.2f}"
        f"  paired {100 * row.get('paired_difference', 0.0):+.2f}"
        f" {[round(100 * c, 2) for c in row.get('paired_difference_ci95', [0.0, 0.0])]}"
        f"  rel err median {row['feature_rel_error_median']:.1e}"
        f" max {row['feature_rel_error_max']:.1e}"
        f" (>1 %: {row['texts_rel_error_above_1pct']}, >10 %: {row['texts_rel_error_above_10pct']})"
        f" first pass {row['seconds_all'][0]:.2f} s"
    )


def profile_modes(run, modes: list[str], device: str, texts: list[str]) -> dict:
    """torch.profiler tables per mode (batch 64, 256 texts), by device time and by host time."""
    from torch.profiler import ProfilerActivity, profile

    profiles = {}
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    for mode in modes:
        with profile(activities=acts) as prof:
            run(mode, 64, texts)
        key = "self_cuda_time_total" if device == "cuda" else "self_cpu_time_total"
        table = prof.key_averages().table(sort_by=key, row_limit=12)
        cpu_table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8)
        profiles[mode] = {"by_device_time": table, "by_host_time": cpu_table}
        print(f"--- profile {mode} (batch 64, 256 texts), top by self device time\n{table}", flush=True)
    return profiles


def main() -> None:
    args = parser().parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    modes = [m for m in args.modes if m not in CUDA_ONLY or device == "cuda"]
    if "fp32" not in modes:
        modes.insert(0, "fp32")
    splits = {s: load_split("jsonl", s, args.data_dir, args.pairs) for s in ("train_gt", "test")}
    texts = [t for s in splits for q in splits[s] for t in (q.first, q.second)]
    n = {s: len(splits[s]) for s in splits}
    labels = {s: np.array([q.label for q in splits[s]]) for s in splits}
    fp32_model, tok, spec = load_backbone(args.model)
    lengths = [len(i) for i in token_ids(tok, texts, args.max_length)]
    fp32_model.to(device)
    wants_bf16 = {"bf16", "bf16-nocudnn"} & set(modes)
    bf16_model = copy.deepcopy(fp32_model).to(torch.bfloat16) if wants_bf16 else None
    models = {m: bf16_model if m.startswith("bf16") else fp32_model for m in modes}

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def run(mode: str, batch: int, subset: list[str]) -> tuple[np.ndarray, float]:
        sync()
        t0 = time.perf_counter()
        with backend_settings(mode):
            autocast = mode.startswith("autocast")
            f = embed_texts(models[mode], tok, spec.kind, subset, args.max_length, batch, mode, autocast)
        sync()
        return f, time.perf_counter() - t0

    def head_correct(f: np.ndarray) -> np.ndarray:
        a = n["train_gt"]
        train, test = (f[0 : 2 * a : 2], f[1 : 2 * a : 2]), (f[2 * a :: 2], f[2 * a + 1 :: 2])
        return ceiling_test_correct(train, labels["train_gt"], test, labels["test"])[1]

    rows = []
    for batch in args.batches:
        feats, correct, best = {}, {}, {}
        for mode in modes:
            run(mode, batch, texts[: 4 * batch])  # warm-up: kernels chosen, caches filled
            seconds = []
            for _ in range(args.reps):
                feats[mode], s = run(mode, batch, texts)
                seconds.append(s)
            correct[mode] = head_correct(feats[mode])
            row = precision_row(batch, mode, seconds, len(texts), correct, feats, lengths, best)
            best[mode] = row["seconds"]
            rows.append(row)
            print(row_line(row), flush=True)
    profiles = profile_modes(run, modes, device, texts[:256]) if args.profile else {}
    result = {
        "model": args.model,
        "pairs_per_split": args.pairs,
        "device": device,
        "device_name": torch.cuda.get_device_name() if device == "cuda" else None,
        "rows": rows,
        "profiles": profiles,
        "environment": environment(),
    }
    atomic_write_text(args.out / "extraction_precision.json", json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(run_command("bench_extraction_precision.py", main))
