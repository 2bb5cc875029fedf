"""`w2s-empirics`: weak-to-strong training of pairwise reward models, sweeps and their summaries."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from theory.divergences import InvalidInputError

from .data import DATA_DIR_ENV, DATASETS
from .losses import LOSSES
from .models import MODELS, gemma_path, minilm_path
from .pipeline import Noise
from .sweep import PRESETS, override, preset, run_sweep, summarize, summary_markdown


def _pairs(values):
    out = []
    for v in values or []:
        weak, sep, strong = v.partition(":")
        if not sep:
            raise InvalidInputError(f"bad --pair {v!r}; use WEAK:STRONG, e.g. gpt2:gpt2-medium")
        out.append((weak, strong))
    return out or None


def _cmd_sweep(args) -> int:
    sw = override(preset(args.preset), dataset=args.dataset, data_dir=args.data_dir, n_pairs=args.n_pairs,
                  mode=args.mode, gamma=args.gamma, max_length=args.max_length, lr=args.lr, batch_size=args.batch_size,
                  epochs=args.epochs, bf16=args.bf16, pairs=_pairs(args.pair), losses=args.losses, heads=args.heads, seeds=args.seeds,
                  noises=[Noise.parse(n) for n in args.noise] if args.noise else None)
    if args.max_length is not None:
        sw = override(sw, max_length=args.max_length)
    for note in sw.notes:
        print(f"note: {note}")
    out = args.out or Path("results") / args.preset
    if args.dry_run:
        from .pipeline import Pipeline, student_specs, with_dependencies

        runs = with_dependencies(student_specs(sw.pairs, sw.losses, sw.heads, sw.seeds, sw.noises),
                                 Pipeline(sw.experiment, out))
        print("\n".join(r.name for r in runs))
        print(f"{len(runs)} runs")
        return 0
    summary = run_sweep(sw, out)
    if summary.get("not_main_process"):  # another process of accelerate launch / torchrun: rank 0 reports
        return 0
    print(summary_markdown(summary))
    print(f"wall time {summary['wall_seconds']:.0f} s; results in {out}")
    return 1 if summary["failures"] else 0


def _cmd_summarize(args) -> int:
    if not Path(args.results).is_dir():
        raise InvalidInputError(f"results folder not found: {args.results}")
    print(summary_markdown(summarize(args.results)))
    return 0


def _cmd_audit(args) -> int:
    from . import plots
    from .audit import audit
    from .claims import write_claims
    from .planted import planted_truth

    results = Path(args.results)
    if not (results / "sweep.json").is_file():
        raise InvalidInputError(f"{results} is not a sweep's results folder (no sweep.json)")
    report = audit(results)
    write_claims(results)
    summary = summarize(results)
    out = results / "audit"
    plots.gain_vs_disagreement(report["rows"], out / "gain_vs_disagreement.png")
    plots.accuracy_per_loss(summary, out / "accuracy_per_loss.png")
    plots.accuracy_vs_noise(summary, out / "accuracy_vs_noise.png")
    print((out / "audit.md").read_text())
    print((out / "claims.md").read_text())
    if args.planted:
        planted = planted_truth(results)
        print((out / "planted.md").read_text())
        if not planted["theorem2_holds_in_sample"]:
            report["failures"].append("planted truth: Theorem 2 violated in sample by the certified reverse-KL student")
    print(f"audit written to {out}")
    return 1 if report["failures"] else 0


def _cmd_list(args) -> int:
    if args.what == "models":
        for m in MODELS.values():
            print(f"{m.name:<28} {m.kind:<8} {m.source:<8} {m.params}")
    elif args.what == "datasets":
        for name, desc in DATASETS.items():
            print(f"{name:<20} {desc}")
    elif args.what == "losses":
        print("\n".join(LOSSES))
    else:
        for name, sw in PRESETS.items():
            print(f"{name:<14} {sw.description}")
    return 0


def _cmd_prepare(args) -> int:
    for name in args.models:
        path = {"gemma-3-270m": gemma_path, "all-MiniLM-L6-v2": minilm_path}.get(name)
        if path is None:
            raise InvalidInputError(f"nothing to prepare for {name!r}; packaged models: gemma-3-270m, all-MiniLM-L6-v2")
        print(f"{name}: {path()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="w2s-empirics", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sweep", help="run a preset grid (weak -> strong pairs x losses x seeds x noise), resumably")
    s.add_argument("--preset", default="cpu-demo", help=f"one of {', '.join(PRESETS)} (default cpu-demo)")
    s.add_argument("--out", type=Path, help="results folder (default results/<preset>)")
    s.add_argument("--data-dir", help=f"folder of train_gt/train_w2s/test.jsonl (or ${DATA_DIR_ENV}); else the hub")
    s.add_argument("--dataset", help=f"one of {', '.join(DATASETS)}")
    s.add_argument("--n-pairs", type=int, help="pairs per split (default: the preset's)")
    s.add_argument("--mode", choices=["last_layer", "finetune"])
    s.add_argument("--pair", nargs="+", metavar="WEAK:STRONG", help="weak -> strong model pairs")
    s.add_argument("--losses", nargs="+", help=f"subset of {', '.join(LOSSES)}")
    s.add_argument("--heads", nargs="+", help="last-layer heads: logistic, simplex")
    s.add_argument("--seeds", nargs="+", type=int)
    s.add_argument("--noise", nargs="+", help="none, flip:RHO, shrink:ALPHA")
    s.add_argument("--gamma", type=float, help="probability floor (default 1e-3)")
    s.add_argument("--max-length", type=int, help="max tokens per text (left truncation)")
    s.add_argument("--lr", type=float, help="fine-tuning learning rate")
    s.add_argument("--batch-size", type=int, help="fine-tuning batch size (pairs)")
    s.add_argument("--epochs", type=float, help="fine-tuning epochs")
    s.add_argument("--bf16", choices=["auto", "on", "off"], help="fine-tuning bf16 autocast (auto: on with CUDA)")
    s.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    s.set_defaults(func=_cmd_sweep)
    m = sub.add_parser("summarize", help="rewrite summary.md/json of a results folder and print the table")
    m.add_argument("results", help="a sweep's results folder")
    m.set_defaults(func=_cmd_summarize)
    a = sub.add_parser("audit", help="bounds on every run, the claims table and plots, from saved predictions")
    a.add_argument("results", help="a sweep's results folder")
    a.add_argument("--planted", action="store_true",
                   help="also the planted-truth experiment (last-layer sweeps; uses the feature cache)")
    a.set_defaults(func=_cmd_audit)
    ls = sub.add_parser("list", help="list models, datasets, losses or presets")
    ls.add_argument("what", choices=["models", "datasets", "losses", "presets"])
    ls.set_defaults(func=_cmd_list)
    pr = sub.add_parser("prepare", help="prepare packaged models once (Gemma GGUF conversion, ~1-2 min)")
    pr.add_argument("models", nargs="+")
    pr.set_defaults(func=_cmd_prepare)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            return args.func(args)
    except InvalidInputError as exc:
        print(f"w2s-empirics: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("w2s-empirics: interrupted; finished runs are kept, rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
