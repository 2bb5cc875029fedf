"""The sweep runner: every run of a grid that is not finished, in dependency order, resumably.

Before any work: the sweep is validated (names, combinations, numbers, data); a lock makes a second sweep into
the same folder refuse; a resume must use the same experiment and the same data (content hashes) as the
folder's sweep.json; leftover temporary files are removed. A run that fails is recorded in failures.json and
the sweep goes on; a file that cannot be written (full disk, no permission) stops it with one line.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import traceback
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from core.errors import ConfigError, DataError, InvalidInputError, StorageError
from core.io import atomic_write_text

from ..inputs.data import data_source
from ..logs import get_logger
from ..plans.experiment import Experiment, Sweep
from ..plans.grid import planned_runs
from ..processes import process_roles
from ..readers.summary import summarize
from .pipeline import Pipeline
from .validate import check_sweep, check_training_limits

log = get_logger(__name__)
LOCK_NAME = ".sweep.lock"
# where the data lies is not what it is: a moved or copied data folder with the same content resumes
WHERE_NOT_WHAT = ("data_dir", "data.path", "data.asked_for", "path", "asked_for")


@contextmanager
def folder_lock(out: Path):
    """An exclusive lock on the results folder for the whole sweep (released on exit, also on kill -9)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(out / LOCK_NAME, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
    except OSError as exc:
        raise StorageError(f"cannot use {out} as a results folder: {exc.strerror or exc}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise InvalidInputError(
            f"{out} is in use by another sweep ({holder}); wait for it or use another --out"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def remove_temporary_files(out: Path) -> int:
    """Half-written files a killed sweep left behind (atomic writes go through .<name>.tmp<pid>)."""
    removed = 0
    for path in [*out.glob(".*.tmp*"), *out.glob("*/.*.tmp*")]:
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def provenance(pipe: Pipeline) -> dict:
    """What the sweep really reads: the data's source (an absolute path for a local folder) and each split's
    size and content hash."""
    d = pipe.exp.data
    return {
        "data": {
            **data_source(d.dataset, d.data_dir),
            "splits": {
                name: {"pairs": len(pipe.inputs.split(name)), "content_hash": h}
                for name, h in pipe.inputs.data_hashes().items()
            },
        }
    }


def _check_checkpoint_every(every) -> None:
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise ConfigError(f"--checkpoint-every must be a whole number >= 1, got {every!r}")


def run_sweep(sw: Sweep, out: str | Path, checkpoint_every: int | None = None, log_with=()) -> dict:
    """Run every run of the sweep that is not finished; a failing run is recorded and the sweep goes on.
    `checkpoint_every`: save each fine-tuning run's state every so many optimiser steps, so that a rerun goes
    on inside an interrupted run (empirics.training.checkpoints); `log_with`: trackers for the fine-tuning
    runs' steps (names such as "tensorboard", or accelerate GeneralTracker objects;
    empirics.training.tracking). Neither changes a number."""
    out = Path(out)
    check_sweep(sw)
    _check_checkpoint_every(checkpoint_every)
    main, barrier = process_roles()
    pipe = Pipeline(sw.experiment, out, checkpoint_every, log_with)
    pipe.prepare()  # reads and checks the data before anything is written
    check_training_limits(sw, pipe.folders.split_sizes)
    record = {**sw.to_json(), "provenance": provenance(pipe)}
    lock = folder_lock(out) if main else _no_lock()
    with lock:
        check_same_experiment(record, out)
        runs = planned_runs(sw)
        check_finished_runs(pipe, runs)
        if main:
            remove_temporary_files(out)
            atomic_write_text(out / "sweep.json", json.dumps(record, indent=2))
        done = sum(pipe.folders.finished(r) for r in runs)
        log.info("%d runs (%d already finished) -> %s", len(runs), done, out)
        failures, t0 = [], time.time()
        timing = TimingRecord(out)
        for r in tqdm(runs, desc="sweep", unit="run", disable=not main):
            if pipe.folders.finished(r):
                continue
            try:
                pipe.run(r)
            except (InvalidInputError, StorageError):
                raise
            except Exception as exc:  # keep going: what finished stays finished
                failures.append(
                    {
                        "run": r.name,
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(),
                    }
                )
                log.error("run %s failed: %s: %s", r.name, type(exc).__name__, exc)
                if main:
                    atomic_write_text(out / "failures.json", json.dumps(failures, indent=2))
            if main:
                timing.save(pipe.timing, time.time() - t0)
        barrier()
        if main and sw.experiment.mode == "last_layer" and not failures:
            from .planted import save_planted_inputs

            save_planted_inputs(pipe, *sw.grid.model_pairs[0])  # the audit's planted truth reads only these
        if main:
            if not failures:  # a resume that finished everything leaves no stale failure record
                (out / "failures.json").unlink(missing_ok=True)
            summary = _summary(out)
        else:
            summary = {"rows": [], "warnings": [], "runs": 0, "not_main_process": True}
    summary["wall_seconds"] = time.time() - t0
    summary["failures"] = len(failures)
    return summary


class TimingRecord:
    """timing.json: wall seconds per stage (extraction, heads or fine-tuning, evaluation, writing) of each
    invocation into this folder and their total (a resumed sweep adds one); rewritten after every run, so a
    killed sweep keeps what it measured."""

    def __init__(self, out: Path):
        self.path = out / "timing.json"
        try:
            self.before = json.loads(self.path.read_text())["invocations"] if self.path.is_file() else []
        except (OSError, json.JSONDecodeError, KeyError, TypeError):
            self.before = []

    def save(self, stages: dict[str, float], wall: float) -> None:
        now = {k: round(v, 2) for k, v in sorted(stages.items())} | {"wall": round(wall, 2)}
        runs = [*self.before, now]
        keys = sorted({k for r in runs for k in r})
        total = {k: round(sum(r.get(k, 0.0) for r in runs), 2) for k in keys}
        atomic_write_text(self.path, json.dumps({"total": total, "invocations": runs}, indent=2))


@contextmanager
def _no_lock():
    yield


def _summary(out: Path) -> dict:
    try:
        return summarize(out)
    except DataError as exc:  # no finished run at all (every run failed): nothing to tabulate
        log.error("no summary: %s", exc)
        return {"rows": [], "warnings": [str(exc)], "runs": 0}


PARTS = ("experiment", "provenance")  # what sweep.json records that decides a resume


def check_same_experiment(record: dict, out: Path) -> None:
    """Run names do not encode experiment-wide settings (data, pair count, mode, gamma, ...): resuming into a
    folder made by a different experiment, or on different data, would take its runs for finished ones. The
    grid itself may grow."""
    path = out / "sweep.json"
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise DataError(f"{path}: damaged ({str(exc)[:120]}); use another --out") from None
    if not isinstance(old, dict) or not all(isinstance(old.get(k, {}), (dict, type(None))) for k in PARTS):
        raise DataError(
            f"{path}: not a sweep record (an object with experiment and provenance); use another --out"
        )
    for part in PARTS:
        if old.get(part) is None:
            continue
        a, b = _flat(old[part]), _flat(json.loads(json.dumps(record[part])))
        if part == "experiment":  # an option added since the folder was made, left at its default: same runs
            defaults = _flat(json.loads(json.dumps(asdict(Experiment()))))
            a |= {k: v for k, v in b.items() if k not in a and k in defaults and v == defaults[k]}
        changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in WHERE_NOT_WHAT)
        if changed:
            what = "different data" if part == "provenance" else "a different experiment"
            raise InvalidInputError(
                f"{out} holds runs of {what} (differs in {', '.join(changed)}); use another --out, or the "
                "same settings and data to resume"
            )


def check_finished_runs(pipe: Pipeline, runs: list) -> None:
    """A finished run counts only if its own config.json records what this sweep would run: the same
    experiment (an option added since, at its default, aside), run, precision and data content, whatever
    sweep.json says or whether it exists. A mismatch is refused in one line naming the run and what differs,
    before anything is written."""
    defaults = _flat(json.loads(json.dumps(asdict(Experiment()))))
    for spec in runs:
        if not pipe.folders.finished(spec):
            continue
        path = pipe.folders.dir(spec) / "config.json"
        saved, now = json.loads(path.read_text()), json.loads(json.dumps(pipe.run_record(spec)))
        a, b = _flat(saved.get("experiment") or {}), _flat(now["experiment"])
        a |= {k: v for k, v in b.items() if k not in a and k in defaults and v == defaults[k]}
        changed = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k) and k not in WHERE_NOT_WHAT]
        changed += [k for k in ("run", "gamma", "precision") if saved.get(k) != now[k]]
        if (saved.get("data") or {}).get("content_hash") != now["data"]["content_hash"]:
            changed.append("data (content hash)")
        if changed:
            raise InvalidInputError(
                f"{path} records a run made otherwise than this sweep would make it (differs in "
                f"{', '.join(changed)}); use another --out, or the settings and data that made it"
            )


def _flat(d: dict, prefix: str = "") -> dict:
    """{"data": {"n_pairs": 8}} -> {"n_pairs": 8} for the experiment (option names as the CLI spells them);
    nested provenance keys keep their path (splits.test.content_hash)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(
                _flat(
                    v, f"{prefix}{k}." if prefix or k in ("splits", "train_gt", "train_w2s", "test") else ""
                )
            )
        else:
            out[prefix + k] = v
    return out
