"""Benchmark: feature extraction throughput against the bare backbone's forward passes on the same texts.

Ours: ``empirics.features.embed_texts`` (tokenisation, length-sorted batches, forward, pooling, copy to
numpy). Bare: only the backbone's forward passes over the same batches, tokenised beforehand. Goal: ours >= 90
% of bare. Writes results/benchmarks/feature_extraction.json.

    python benchmarks/bench_feature_extraction.py [--model all-MiniLM-L6-v2] [--texts 512] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from empirics.data import load_split
from empirics.features import embed_texts
from empirics.models import load_backbone
from empirics.pipeline import run_environment as environment


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data-dir", default="../shared/data/hh-rlhf-harmless")
    ap.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    args = ap.parse_args()
    pairs = load_split("jsonl", "test", args.data_dir, args.texts // 2)
    texts = [t for p in pairs for t in (p.first, p.second)]
    backbone, tok, s = load_backbone(args.model)
    backbone.eval()
    order = np.argsort([len(t) for t in texts])[::-1]
    encoded = [
        tok(
            [texts[i] for i in order[j : j + args.batch]],
            truncation=True,
            max_length=args.max_length,
            padding="longest",
            return_tensors="pt",
        )
        for j in range(0, len(texts), args.batch)
    ]
    embed_texts(backbone, tok, s.kind, texts[: args.batch], args.max_length, args.batch)  # warm-up
    bare, ours = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        with torch.no_grad():
            for enc in encoded:
                backbone(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        bare.append(time.perf_counter() - t0)
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
        "environment": environment(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "feature_extraction.json").write_text(json.dumps(result, indent=2))
    print(
        f"bare backbone {result['bare_texts_per_second']:.1f} texts/s; extraction "
        f"{result['ours_texts_per_second']:.1f} "
        f"texts/s: {100 * result['ratio']:.1f} % of bare (goal >= 90 %)"
    )


if __name__ == "__main__":
    main()
