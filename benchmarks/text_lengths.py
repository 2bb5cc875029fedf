"""Benchmark: how many tokens feature extraction reads per text, per task and model, at several max lengths.

The extraction's cost grows with the tokens it reads; this says how much a shorter --max-length would save
before anyone plans a design on it (docs/findings.md, the ladder on helpful). For each data folder and model:
every text of every split, tokenised as the sweep does (`empirics.inputs.features.token_ids`, special tokens
included, left truncation), its mean tokens read at each max length and the share of texts it cuts. Each
model is loaded as a sweep loads it (a packaged one converted into the cache on first use), for its tokenizer;
no forward pass. Writes OUT/text_lengths.json and prints a table.

    python benchmarks/text_lengths.py --data-dir ../shared/data/hh-rlhf-{harmless,helpful}
        [--models qwen2.5-coder-0.5b-instruct-q4] [--max-lengths 256 192 128] [--out results/benchmarks]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from core.cli import MAX_LENGTH, OneLineErrorParser, run_command
from core.io import atomic_write_text
from empirics.inputs.data import SPLITS, load_split
from empirics.inputs.features import token_ids
from empirics.inputs.models import load_backbone
from empirics.registries.models import spec
from empirics.runs.pipeline import run_environment as environment

LONGEST = 131_072  # no truncation: a text's own length


def parser() -> OneLineErrorParser:
    ap = OneLineErrorParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", nargs="+", required=True, help="one folder per task (train_gt.jsonl, ...)")
    ap.add_argument("--models", nargs="+", default=["qwen2.5-coder-0.5b-instruct-q4"])
    ap.add_argument("--max-lengths", nargs="+", type=MAX_LENGTH, default=[256, 192, 128])
    ap.add_argument("--out", type=Path, default=Path("results") / "benchmarks")
    return ap


def texts_of(data_dir: str) -> list[str]:
    """Every text of the three splits of one task, as the loader keeps them."""
    return [t for s in SPLITS for p in load_split("jsonl", s, data_dir) for t in (p.first, p.second)]


def lengths(tok, texts: list[str]) -> np.ndarray:
    """Every text's token count, untruncated."""
    return np.array([len(i) for i in token_ids(tok, texts, LONGEST)], dtype=np.int64)


def describe(row: dict) -> str:
    read = [f"{m}: {r['mean_tokens']:.1f} ({100 * r['share_cut']:.1f} % cut)" for m, r in row["read"].items()]
    name = f"{Path(row['data_dir']).name} {row['model']}"
    return f"{name}: {row['texts']} texts, {row['mean_tokens']:.1f} tokens; read at {', '.join(read)}"


def main() -> int:
    args = parser().parse_args()
    for m in args.models:
        spec(m)  # an unknown model is one line, before any work
    tasks = {d: texts_of(d) for d in args.data_dir}  # a bad folder or line, too
    rows = []
    for model in args.models:
        _, tok, _ = load_backbone(model)  # once per model, for every task
        for data_dir, texts in tasks.items():
            n = lengths(tok, texts)
            row = {"data_dir": data_dir, "model": model, "texts": int(n.size), "mean_tokens": float(n.mean())}
            row["read"] = {
                str(m): {"mean_tokens": float(np.minimum(n, m).mean()), "share_cut": float(np.mean(n > m))}
                for m in args.max_lengths
            }
            rows.append(row)
            print(describe(row))
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "text_lengths.json"
    atomic_write_text(out, json.dumps({"rows": rows, "environment": environment()}, indent=2) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("text_lengths.py", main))
