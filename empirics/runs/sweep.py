"""The sweep runner: every run of a grid that is not finished, in dependency order, resumably.

Before any work: the sweep is validated (names, combinations, numbers, data); a resume, or another worker
joining, must use the same experiment and the same data (content hashes) as the folder's sweep.json; leftover
temporary files are removed. Any number of workers share one folder: each claims a run before it starts it
(:mod:`empirics.runs.leases`), so every run is made once, and the summary is written when every run is done.
A run that fails is recorded in failures.json and the sweep goes on; a file that cannot be written (full
disk, no permission) stops the worker with one line. Several processes of one accelerate / torchrun launch
are one worker that holds the folder alone.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import resource
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from filelock import FileLock
from tqdm.auto import tqdm

from core.errors import ConfigError, DataError, InvalidInputError, StorageError
from core.io import atomic_write_text

from ..inputs.data import data_source
from ..logs import get_logger
from ..plans.experiment import Experiment, Sweep
from ..plans.grid import check_stage, dependencies, planned_runs, stage_runs
from ..processes import pid_alive, process_roles
from ..readers.summary import summarize
from .leases import Claims, Worker
from .pipeline import Pipeline
from .validate import check_sweep, check_training_limits

log = get_logger(__name__)
LOCK_NAME = ".sweep.lock"
# where the data lies is not what it is: a moved or copied data folder with the same content resumes
WHERE_NOT_WHAT = ("data_dir", "data.path", "data.asked_for", "path", "asked_for")


@contextmanager
def folder_lock(out: Path, shared: bool = False):
    """A lock on the results folder for a worker's lifetime (released on exit, also on kill -9): shared by the
    workers of one sweep, exclusive for a multi-process launch (which runs alone)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(out / LOCK_NAME, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
    except OSError as exc:
        raise StorageError(f"cannot use {out} as a results folder: {exc.strerror or exc}") from None
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise InvalidInputError(
            f"{out} is in use by another sweep ({holder}); wait for it or use another --out"
        ) from None
    if not shared:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, a multi-process launch")
        handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def remove_temporary_files(out: Path, older_than: float = 0.0) -> int:
    """Half-written files a killed worker left behind (atomic writes go through .<name>.tmp<pid>): those of a
    process no longer alive on this machine, and any older than `older_than` seconds (a live worker's own, on
    this node or another, are younger)."""
    removed, now = 0, time.time()
    for path in [*out.glob(".*.tmp*"), *out.glob("*/.*.tmp*")]:
        try:
            if now - path.stat().st_mtime >= older_than or not _alive(path.name):
                path.unlink(missing_ok=True)
                removed += 1
        except OSError:
            pass
    return removed


def _alive(temporary_name: str) -> bool:
    """Whether the process whose id a temporary file's name carries runs on this machine."""
    digits = re.search(r"\.tmp(\d+)", temporary_name)
    return bool(digits) and pid_alive(int(digits.group(1)))


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


def run_sweep(
    sw: Sweep,
    out: str | Path,
    checkpoint_every: int | None = None,
    log_with=(),
    workers: int = 1,
    only_models=None,
) -> dict:
    """Run every run of the sweep that is not finished; a failing run is recorded and the sweep goes on.
    `checkpoint_every`: save each fine-tuning run's state every so many optimiser steps, so that a rerun goes
    on inside an interrupted run (empirics.training.checkpoints); `log_with`: trackers for the fine-tuning
    runs' steps (names such as "tensorboard", or accelerate GeneralTracker objects;
    empirics.training.tracking). Neither changes a number. `workers` > 1: that many worker processes on this
    machine share the folder (empirics.runs.workers); this process waits for them. `only_models`: one stage of
    the sweep, the runs that read only these models (:func:`empirics.plans.grid.stage_runs`), so that a
    sweep too long for one machine's session can be carried between machines (``w2s-empirics snapshot``);
    the runs are the ones the whole sweep makes."""
    out = Path(out)
    check_sweep(sw)
    _check_checkpoint_every(checkpoint_every)
    stage = None if only_models is None else check_stage(sw.grid, only_models)
    if workers != 1:
        from .workers import launch_local

        return launch_local(sw, out, workers, checkpoint_every, log_with, stage)
    main, barrier = process_roles()
    pipe, record, runs = checked_pipeline(sw, out, checkpoint_every, log_with)
    todo = runs if stage is None else stage_of(sw, runs, stage, pipe.folders.finished)
    t0 = time.time()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # one run over several processes: alone, in order
        with folder_lock(out) if main else _no_lock():
            _setup(pipe, record, runs, out, main)
            failures = _in_order(pipe, todo, out, main)
            barrier()
            summary = _finish(sw, pipe, out, failures, stage) if main else _not_main()
    else:
        with folder_lock(out, shared=True):
            claims = Claims(out, Worker())
            with FileLock(str(out / ".sweep.setup.lock")):
                _setup(pipe, record, runs, out, main, older_than=claims.worker.lease)
            _claimed(pipe, todo, out, claims)
            with FileLock(str(out / ".sweep.finish.lock")):  # the workers finish one after another
                summary = _finish(sw, pipe, out, claims.failures(), stage)
    summary["wall_seconds"] = time.time() - t0
    summary["failures"] = len(summary.pop("failed_runs", []))
    return summary


def checked_pipeline(
    sw: Sweep, out: Path, checkpoint_every: int | None = None, log_with=()
) -> tuple[Pipeline, dict, list]:
    """The sweep's pipeline with its data read and checked before anything is written, its sweep.json record
    and its planned runs."""
    pipe = Pipeline(sw.experiment, out, checkpoint_every, log_with)
    pipe.prepare()
    check_training_limits(sw, pipe.folders.split_sizes)
    return pipe, {**sw.to_json(), "provenance": provenance(pipe)}, planned_runs(sw)


def stage_of(sw: Sweep, runs: list, stage, finished) -> list:
    """The runs of a stage (``--only-models``) in this folder (empirics.plans.grid.stage_runs)."""
    e = sw.experiment
    return stage_runs(runs, stage, e.mode, e.finetune.teacher_head, finished)


def check_folder(pipe: Pipeline, record: dict, runs: list, out: Path) -> None:
    """The folder holds this sweep's runs only: another experiment's folder, or a run finished differently,
    is refused."""
    check_same_experiment(record, out)
    check_finished_runs(pipe, runs)


def _setup(pipe: Pipeline, record: dict, runs: list, out: Path, main: bool, older_than: float = 0.0) -> None:
    """Before any work: the folder holds this sweep's runs only; stale temporary files go; sweep.json."""
    check_folder(pipe, record, runs, out)
    if main:
        remove_temporary_files(out, older_than)
        atomic_write_text(out / "sweep.json", json.dumps(record, indent=2))
    done = sum(pipe.folders.finished(r) for r in runs)
    log.info("%d runs (%d already finished) -> %s", len(runs), done, out)


def _run_one(pipe: Pipeline, r, failures: list, on_failure=None) -> None:
    """One run; a failure is recorded (and handed to `on_failure`), an input or storage error stops."""
    try:
        pipe.run(r)
    except (InvalidInputError, StorageError):
        raise
    except Exception as exc:  # keep going: what finished stays finished
        error, trace = f"{type(exc).__name__}: {exc}", traceback.format_exc()
        failures.append({"run": r.name, "error": error, "traceback": trace})
        log.error("run %s failed: %s", r.name, error)
        if on_failure:
            on_failure(r.name, error, trace)


def _in_order(pipe: Pipeline, runs: list, out: Path, main: bool) -> list[dict]:
    """Every unfinished run in the planned order (the processes of one launch together)."""
    failures, t0, timing = [], time.time(), TimingRecord(out)
    for r in tqdm(runs, desc="sweep", unit="run", disable=not main):
        if pipe.folders.finished(r):
            continue
        _run_one(pipe, r, failures)
        if main:
            if failures:
                atomic_write_text(out / "failures.json", json.dumps(failures, indent=2))
            timing.save(pipe.timing, time.time() - t0, pipe.timer.features)
    return failures


def _claimed(pipe: Pipeline, runs: list, out: Path, claims: Claims) -> None:
    """Claim and make runs until every run is finished or failed in this launch: always the first claimable
    one in the planned order (seed by seed), a student only once its teacher and ceiling are done; while
    the rest are held by other workers, wait (a claim whose worker died expires after its lease)."""
    e, worker = pipe.exp, claims.worker
    t0, timing = time.time(), TimingRecord(out, worker.name)
    pending = [r for r in runs if not pipe.folders.finished(r)]
    poll = min(1.0, worker.lease / 10)
    with tqdm(total=len(runs), initial=len(runs) - len(pending), desc="sweep", unit="run") as bar:
        while pending:
            pending = [r for r in pending if not (pipe.folders.finished(r) or claims.failed_here(r.name))]
            bar.n = len(runs) - len(pending)
            bar.refresh()
            if not pending:
                break
            ready = (
                r
                for r in pending
                if all(
                    pipe.folders.finished(d) or claims.failed_here(d.name)
                    for d in dependencies(r, e.mode, e.finetune.teacher_head)
                )
            )
            r = next((r for r in ready if claims.try_claim(r.name)), None)
            if r is None:
                time.sleep(poll)
                continue
            if pipe.folders.finished(r):  # finished between the look and the claim
                claims.release(r.name)
                continue
            with claims.held(r.name):
                _run_one(pipe, r, [], claims.fail)
            timing.save(pipe.timing, time.time() - t0, pipe.timer.features)
    timing.save(pipe.timing, time.time() - t0, pipe.timer.features)  # a worker that waited counts too


def _finish(sw: Sweep, pipe: Pipeline, out: Path, failures: list[dict], stage=None) -> dict:
    """Once every run (of the stage) is done: the planted-truth inputs (last layer), failures.json, the
    summary."""
    if sw.experiment.mode == "last_layer" and not failures:
        from .planted import save_planted_inputs

        # the audit's planted truth reads only these
        save_planted_inputs(pipe, *sw.grid.model_pairs[0], stage)
    if failures:
        atomic_write_text(out / "failures.json", json.dumps(failures, indent=2))
    else:  # a resume that finished everything leaves no stale failure record
        (out / "failures.json").unlink(missing_ok=True)
    return summary_or_empty(out) | {"failed_runs": failures}


def _not_main() -> dict:
    return {"rows": [], "warnings": [], "runs": 0, "not_main_process": True, "failed_runs": []}


PEAKS = ("peak_rss_mib",)  # their total is the largest invocation's, not a sum


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


class TimingRecord:
    """timing.json: wall seconds per stage (extraction, heads or fine-tuning, evaluation, writing) and the
    process's peak resident memory (``peak_rss_mib``) of each invocation into this folder (each worker of a
    launch is one), and their total (the largest peak); ``features``: what each model's frozen features cost
    per split (texts, wall seconds over every process that made them, whether this folder read them from the
    cache), kept by model and split across invocations. Rewritten after every run, under a lock since workers
    share it, so a killed sweep keeps what it measured."""

    def __init__(self, out: Path, worker: str | None = None):
        self.path, self.worker = out / "timing.json", worker
        self.before = self._read()

    def _read(self) -> list[dict]:
        return self._file().get("invocations", [])

    def _file(self) -> dict:
        try:
            data = json.loads(self.path.read_text()) if self.path.is_file() else {}
        except (OSError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _features(self, mine: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
        """The file's feature costs with this process's added: an entry is replaced only by a better one
        (computed here over read from the cache, then a known cost over an unknown one)."""

        def rank(m: dict) -> tuple[bool, bool]:
            return not m.get("cached"), m.get("seconds") is not None

        out = self._file().get("features", {})
        for model, splits in mine.items():
            for split, m in splits.items():
                old = out.get(model, {}).get(split)
                if m and (old is None or rank(m) > rank(old)):
                    out.setdefault(model, {})[split] = m
        return out

    def save(self, stages: dict[str, float], wall: float, features: dict | None = None) -> None:
        now = {k: round(v, 2) for k, v in sorted(stages.items())} | {"wall": round(wall, 2)}
        now["peak_rss_mib"] = peak_rss_mib()
        with FileLock(str(self.path) + ".lock"):
            if self.worker:
                # the file as it is now (other workers write it too), this worker's entry replaced
                mine = now | {"worker": self.worker}
                runs = [r for r in self._read() if r.get("worker") != self.worker] + [mine]
            else:
                runs = [*self.before, now]
            keys = sorted({k for r in runs for k, v in r.items() if isinstance(v, (int, float))})
            combine = {k: max if k in PEAKS else sum for k in keys}
            total = {k: round(combine[k](r.get(k, 0.0) for r in runs), 2) for k in keys}
            data = {"total": total, "invocations": runs, "features": self._features(features or {})}
            atomic_write_text(self.path, json.dumps(data, indent=2))


@contextmanager
def _no_lock():
    yield


def summary_or_empty(out: Path) -> dict:
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
