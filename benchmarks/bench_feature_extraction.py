"""Benchmark: feature extraction throughput against the bare backbone's forward passes on the same texts.

Ours: ``empirics.inputs.features.embed_texts`` (tokenisation, batches by token length, forward, pooling, copy
to numpy). Bare: only the backbone's forward passes over the same batches, tokenised beforehand. Goal: ours >=
90 % of bare. Also the bare forward over batches sorted by characters (feature version 2's batching), with
each batching's share of padding tokens: what sorting by tokens saves. Writes
results/benchmarks/feature_extraction.json.

    python benchmarks/bench_feature_extraction.py [--model all-MiniLM-L6-v2] [--texts 512] [--data-dir DIR]
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
from empirics.inputs.data import load_split
from empirics.inputs.features import by_token_length, embed_texts, token_ids
from empirics.inputs.models import load_backbone
from empirics.runs.pipeline import run_environment as environment


def parser() -> OneLineErrorParser:
    ap = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--texts", type=COUNT, default=512)
    ap.add_argument("--batch", type=COUNT, default=16)
    ap.add_argument("--max-length", type=MAX_LENGTH, default=512)
    ap.add_argument("--repeats", type=COUNT, default=3)
    ap.add_argument("--data-dir", default="../shared/data/hh-rlhf-harmless")
    ap.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    return ap


def main():
    args = parser().parse_args()
    pairs = load_split("jsonl", "test", args.data_dir, args.texts // 2)
    texts = [t for p in pairs for t in (p.first, p.second)]
    backbone, tok, s = load_backbone(args.model)
    backbone.eval()
    ids = token_ids(tok, texts, args.max_length)
    encoded = [enc for _, enc in by_token_length(tok, ids, args.batch, "batches")]
    by_chars = np.argsort([len(t) for t in texts])[::-1]
    char_encoded = [
        tok.pad({"input_ids": [ids[i] for i in by_chars[j : j + args.batch]]}, return_tensors="pt")
        for j in range(0, len(texts), args.batch)
    ]

    def padding(batches) -> float:
        return float(
            sum((b["attention_mask"] == 0).sum() for b in batches)
            / sum(b["attention_mask"].numel() for b in batches)
        )

    def forward_all(batches) -> float:
        t0 = time.perf_counter()
        with torch.no_grad():
            for enc in batches:
                backbone(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        return time.perf_counter() - t0

    embed_texts(backbone, tok, s.kind, texts[: args.batch], args.max_length, args.batch)  # warm-up
    bare, bare_chars, ours = [], [], []
    for _ in range(args.repeats):
        bare.append(forward_all(encoded))
        bare_chars.append(forward_all(char_encoded))
        t0 = time.perf_counter()
        embed_texts(backbone, tok, s.kind, texts, args.max_length, args.batch)
        ours.append(time.perf_counter() - t0)
    result = {
        "model": args.model,
        "texts": len(texts),
        "batch": args.batch,
        "bare_seconds": bare,
        "ours_seconds": ours,
        "bare_texts_per_second": len(texts) / min(bare),
        "ours_texts_per_second": len(texts) / min(ours),
        "ratio": min(bare) / min(ours),
        "padding_fraction_token_sorted": padding(encoded),
        "padding_fraction_char_sorted": padding(char_encoded),
        "bare_char_sorted_seconds": bare_chars,
        "token_over_char_sorted_speedup": min(bare_chars) / min(bare),
        "environment": environment(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "feature_extraction.json").write_text(json.dumps(result, indent=2))
    print(
        f"bare backbone {result['bare_texts_per_second']:.1f} texts/s; extraction "
        f"{result['ours_texts_per_second']:.1f} "
        f"texts/s: {100 * result['ratio']:.1f} % of bare (goal >= 90 %); batches by characters pad "
        f"{100 * result['padding_fraction_char_sorted']:.1f} % of tokens, by tokens "
        f"{100 * result['padding_fraction_token_sorted']:.1f} %: bare forward "
        f"{result['token_over_char_sorted_speedup']:.2f}x faster by tokens"
    )


if __name__ == "__main__":
    sys.exit(run_command("bench_feature_extraction.py", main))
