"""`w2s-theory`: the theory report, Figure 1, and a verdict on a user's constant for Lemma 1 / Theorem 1."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli import OneLineErrorParser, number, run_command
from core.errors import InvalidInputError, MissingDependencyError
from core.io import writable_folder

DEFAULT_OUT = Path("results") / "theory"


def _cmd_report(args) -> int:
    from tqdm import tqdm

    from .figure1 import DEFAULT_MIXTURE, write_figure1
    from .report import write_report
    from .suite import all_checks

    writable_folder(args.out)  # before minutes of checks, not after
    results, parts, not_run = [], [], []
    bar = tqdm(all_checks(full=args.full), desc="theory checks", unit="check")
    for name, run in bar:
        bar.set_postfix_str(name)
        try:
            res, extra = run()
        except MissingDependencyError as exc:  # reported as not run, never as passed
            not_run.append(f"{name}: {exc}")
            continue
        results.extend(res)
        parts.extend(extra)
    write_figure1(DEFAULT_MIXTURE, args.out)
    command = "w2s-theory report" + (" --full" if args.full else "")
    path = write_report(results, args.out, command, parts, not_run)
    bad = [r for r in results if r.violations]
    for r in results:
        print(f"{r.item:<48} instances {r.instances:>6}  violations {r.violations:>3}  {r.tightness}")
    for line in not_run:
        print(f"NOT RUN: {line}")
    print(f"report: {path}")
    return 1 if bad else 0


def _cmd_figure1(args) -> int:
    from .figure1 import DEFAULT_MIXTURE, write_figure1
    from .gaussian_mixture import Mixture

    given = [args.weights, args.means, args.stds]
    if any(v is not None for v in given):
        if any(v is None for v in given):
            raise InvalidInputError("give --weights, --means and --stds together (or none for the default)")
        mix = Mixture(tuple(args.weights), tuple(args.means), tuple(args.stds))
    else:
        mix = DEFAULT_MIXTURE
    fit = write_figure1(mix, args.out)
    f = fit["forward_closed_form"]
    print(f"forward fit (moment matching): m = {f['m']:.6f}, s = {f['s']:.6f}")
    for r in fit["reverse_minima"]:
        print(
            f"reverse fit {'global' if r['is_global'] else 'local '} minimum: "
            f"m = {r['m']:.6f}, s = {r['s']:.6f}, KL(q||p) = {r['kl']:.8f}"
        )
    print(f"wrote {Path(args.out) / 'figure1.png'}, .pdf and .json")
    return 0


def _cmd_constant(args) -> int:
    import mpmath

    from .bounds import classify_constant, witness_file_ratio

    verdict = classify_constant(args.constant, args.gamma, args.witness_out)
    print(json.dumps(verdict.to_json(), indent=2))
    if verdict.verdict == "refuted":
        again = witness_file_ratio(args.witness_out)  # the saved digits alone must refute C
        if not again > args.constant:
            print(f"w2s-theory: error: the saved witness does not resolve C (ratio {again})", file=sys.stderr)
            return 1
        print(
            f"witness saved to {args.witness_out} (re-read: ratio {mpmath.nstr(again, 20)} > C)",
            file=sys.stderr,
        )
    return 0


def _cmd_counterexamples(args) -> int:
    from .counterexamples import recheck, write_fixtures

    for path in write_fixtures(args.out, args.seed):
        r = recheck(json.loads(path.read_text()))
        print(f"{path}: slack {r['slack']:.4g} (certificate g = {r['gap']:.1e}), violated = {r['violated']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(prog="w2s-theory", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)

    r = sub.add_parser("report", help="run every pointwise check and write the theory report + Figure 1")
    r.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    r.add_argument(
        "--full",
        action="store_true",
        help="larger instance counts everywhere (k = 2 and 3 in the search, finer sweep): ~10 minutes",
    )
    r.set_defaults(func=_cmd_report)

    f = sub.add_parser("figure1", help="regenerate Figure 1 (PNG, PDF, JSON) for a Gaussian mixture")
    f.add_argument("--weights", type=float, nargs="+", help="mixture weights (sum to 1)")
    f.add_argument("--means", type=float, nargs="+", help="component means")
    f.add_argument("--stds", type=float, nargs="+", help="component standard deviations (> 0)")
    f.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    f.set_defaults(func=_cmd_figure1)

    c = sub.add_parser("constant", help="is C a valid constant for |gap| <= C sqrt(d) at this gamma (k = 2)?")
    c.add_argument("constant", type=float, help="the constant to test, e.g. the paper's")
    c.add_argument("--gamma", type=float, required=True, help="probability floor, 0 < gamma < 1/2")
    c.add_argument(
        "--witness-out",
        type=Path,
        default=DEFAULT_OUT / "witness.json",
        help="where a refuting witness is saved",
    )
    c.set_defaults(func=_cmd_constant)

    x = sub.add_parser("counterexamples", help="find and save forward-KL counterexamples to Theorem 2 (JSON)")
    x.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT / "counterexamples",
        help=f"output folder (default {DEFAULT_OUT / 'counterexamples'}; committed: paper_checks/fixtures)",
    )
    x.add_argument("--seed", type=number(int, 0), default=0, help="search seed (>= 0)")
    x.set_defaults(func=_cmd_counterexamples)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_command("w2s-theory", lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
