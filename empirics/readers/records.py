"""A results folder's runs, read once and verified together before any reader joins them.

`load_checked_runs` is what summary, claims, audit and the reference packer read. Beyond each run verifying on
its own (run_folder.check_run_folder: files parse, one row per recorded pair), it checks what readers join:

- every run's predictions of a split list the same pairs: the same ids in the same order, no id twice, the
  same labels (a shuffled, renamed, relabelled or duplicated row is refused, naming the file);
- a student's weak_prob column is its own teacher's predictions, pair by pair (the teacher named in its
  metrics.json, or by its spec), and that teacher is in the folder;
- every run the folder's sweep.json plans is there (a missing or damaged run is refused, not left out);
- every number in metrics.json is finite, and accuracies, AUROCs and agreements lie in [0, 1].

The result is cached per folder and the state of its files, so the readers of one audit verify once."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.io import read_jsonl_rows

from .run_folder import SPLITS, RunRecord, load_runs

UNIT_INTERVAL = ("accuracy", "auroc", "agreement")  # metric names whose values are fractions

_cache: dict[tuple, list[RunRecord]] = {}


def _stamp(results: Path) -> tuple:
    """The folder's sweep.json and run files as (name, size, mtime): a changed file is a new read."""
    candidates = [*results.glob("*.json"), *results.glob("*__*/*")]  # run folders: <role>__<model>__...
    stamp = []
    for p in sorted(p for p in candidates if p.suffix in (".json", ".jsonl")):
        try:
            st = p.stat()
        except FileNotFoundError:  # replaced or removed meanwhile (a worker still finishing): not a run file
            continue
        stamp.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(stamp)


def load_checked_runs(results: str | Path, complete: bool = True) -> list[RunRecord]:
    """Every finished run of `results` (run_folder.load_runs), verified together (module doc); a DataError
    names the first file that does not agree. ``complete=False`` accepts a sweep still running (a snapshot):
    the runs it has not finished yet are not asked for."""
    results = Path(results)
    if not results.is_dir():
        return load_runs(results)  # its one-line error
    key = (str(results.resolve()), _stamp(results), complete)
    if key not in _cache:  # reading and verifying parse every predictions file: once per folder state
        runs = load_runs(results)
        check_metrics(runs)
        if complete:
            check_planned(results, runs)
        check_joins(runs)
        _cache.clear()  # one folder at a time: the readers of one audit share it
        _cache[key] = runs
    return _cache[key]


def check_metrics(runs: list[RunRecord]) -> None:
    for rec in runs:
        path = rec.dir / "metrics.json"
        for where, value in _numbers(rec.metrics):
            if isinstance(value, float) and not math.isfinite(value):
                raise DataError(f"{path}: {where} is {value} (not finite)")
            leaf = where.rsplit(".", 1)[-1]
            if any(leaf.endswith(u) for u in UNIT_INTERVAL) and not 0 <= value <= 1:
                raise DataError(f"{path}: {where} = {value} lies outside [0, 1]")


def _numbers(d, prefix: str = ""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _numbers(v, f"{prefix}{k}" if not prefix else f"{prefix}.{k}")
    elif isinstance(d, (int, float)) and not isinstance(d, bool):
        yield prefix, d


def check_planned(results: Path, runs: list[RunRecord]) -> None:
    """Every run the folder's sweep.json plans is finished here (no sweep.json: nothing to compare)."""
    if not (results / "sweep.json").is_file():
        return
    from ..plans.experiment import Sweep
    from ..plans.grid import planned_runs

    have = {rec.name for rec in runs}
    try:
        planned = [r.name for r in planned_runs(Sweep.from_json(results / "sweep.json"))]
    except Exception as exc:  # a sweep.json this version cannot read is refused, naming the file once
        msg = str(exc)
        if str(results / "sweep.json") not in msg:
            msg = f"{results / 'sweep.json'}: not a readable sweep ({msg})"
        raise DataError(msg) from None
    missing = [name for name in planned if name not in have]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise DataError(
            f"{results / missing[0]}: a run of this folder's sweep is missing or unfinished{more}; rerun the "
            "sweep to finish it (readers never leave a run out)"
        )


def check_joins(runs: list[RunRecord]) -> None:
    """Same pairs in every run, in the same order, with the same labels; students carry their teacher's
    predictions."""
    reference: dict[str, tuple[list, list, Path]] = {}
    probs: dict[str, dict[str, np.ndarray]] = {}
    for rec in runs:
        probs[rec.name] = {}
        for split in SPLITS:
            path = rec.predictions_path(split)
            if not path.is_file():
                continue
            rows = read_jsonl_rows(path)
            try:
                ids, labels = [r["id"] for r in rows], [r["label"] for r in rows]
                prob = np.array([r["prob"] for r in rows], dtype=np.float64)
                weak = [r.get("weak_prob") for r in rows]
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{path}: a row lacks a readable id, label or prob ({exc})") from None
            if not np.all((prob >= 0) & (prob <= 1)):
                raise DataError(f"{path}: a prob outside [0, 1] or NaN")
            if split not in reference:
                if len(set(ids)) != len(ids):
                    dup = next(i for i in ids if ids.count(i) > 1)
                    raise DataError(f"{path}: id {dup!r} appears twice")
                reference[split] = (ids, labels, path)
            else:
                _same_pairs(path, ids, labels, *reference[split])
            probs[rec.name][split] = (prob, weak)
    names = {rec.name: rec for rec in runs}
    for rec in runs:
        if rec.spec.role != "student":
            continue
        teacher = rec.metrics.get("weak_run") or _teacher_name(rec)
        if teacher not in names:
            raise DataError(f"{rec.dir}: its teacher run {teacher} is not in the folder")
        for split, (_, weak) in probs[rec.name].items():
            if split not in probs[teacher]:
                continue
            if any(w is None for w in weak):
                raise DataError(f"{rec.predictions_path(split)}: a student row without weak_prob")
            if not np.array_equal(np.asarray(weak, np.float64), probs[teacher][split][0]):
                raise DataError(
                    f"{rec.predictions_path(split)}: weak_prob differs from its teacher "
                    f"{teacher}'s predictions"
                )


def _same_pairs(path: Path, ids: list, labels: list, ref_ids: list, ref_labels: list, ref_path: Path) -> None:
    if len(ids) != len(ref_ids):
        raise DataError(f"{path}: {len(ids)} rows, {ref_path} has {len(ref_ids)}")
    if ids != ref_ids:
        k = next(i for i, (a, b) in enumerate(zip(ids, ref_ids, strict=True)) if a != b)
        why = "appears twice" if ids.count(ids[k]) > 1 else "is not where it should be, or unknown"
        raise DataError(f"{path}: row {k + 1} has id {ids[k]!r}, which {why} (pairs differ from {ref_path})")
    if labels != ref_labels:
        k = next(i for i, (a, b) in enumerate(zip(labels, ref_labels, strict=True)) if a != b)
        raise DataError(f"{path}: pair {ids[k]!r} has label {labels[k]!r}, {ref_path} says {ref_labels[k]!r}")


def _teacher_name(rec: RunRecord) -> str:
    from ..plans.grid import weak_spec

    setup = rec.config.get("experiment", {}).get("setup", {})
    head = rec.config.get("experiment", {}).get("finetune", {}).get("teacher_head", "same")
    return weak_spec(rec.spec, setup.get("mode", "last_layer"), head).name
