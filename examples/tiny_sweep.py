"""A tiny weak-to-strong sweep through the Python API, and its verdicts.

Writes a small pairwise data set of its own (no download), trains a tiny random weak model and a tiny random
strong model (built in code) with two losses and two seeds, then prints the summary and every claim's verdict.
Seconds on a CPU; the numbers mean nothing at this size, the calls are what a notebook would make.

    python examples/tiny_sweep.py [--out DIR]
"""

import argparse
import json
import tempfile
from pathlib import Path

import empirics


def write_data(folder: Path, n: int = 24) -> Path:
    """train_gt, train_w2s and test JSONL splits of n pairs: the chosen answer mostly the polite one."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, split in enumerate(("train_gt", "train_w2s", "test")):
        rows = []
        for i in range(n):
            q, x = f"Question {1000 * k + i}: how do I do task {i % 7}?", f"step {i}, detail {i * 7 % 13}"
            polite = f"\n\nHuman: {q}\n\nAssistant: Happy to help, carefully: {x}"
            rude = f"\n\nHuman: {q}\n\nAssistant: No. Whatever, {x}!!"
            # a third of the labels go the other way, so that no model (nor the length rule) is perfect
            chosen, rejected = (rude, polite) if i % 3 == 0 else (polite, rude)
            rows.append({"chosen": chosen, "rejected": rejected})
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="results folder (default: a temporary folder)")
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="w2s-example-"))
    out = args.out or root / "results"
    sweep = empirics.preset("tiny").with_options(
        {
            "data_dir": str(write_data(root / "data")),
            "losses": ["forward_kl", "reverse_kl"],
            "seeds": [0, 1],
            "noises": ["none"],
        }
    )
    empirics.run_sweep(sweep, out)
    print(empirics.summary_markdown(empirics.summarize(out)))
    for claim in empirics.evaluate_claims(out):
        print(f"- {claim.statement}: {claim.verdict}")
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
