"""Launching several workers on one sweep's results folder: processes on this machine (``--workers N``), or a
Slurm job array through ``submitit`` (``--slurm-workers N``; ``pip install -e '.[cluster]'``). Each worker is
an ordinary sweep of the same saved sweep.json into the same folder (:func:`empirics.runs.sweep.run_sweep`):
they claim runs one by one (:mod:`empirics.runs.leases`) and the last to finish writes the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from core.errors import ConfigError, InvalidInputError, MissingDependencyError, StorageError
from core.io import atomic_write_text

from ..plans.experiment import Sweep
from ..plans.grid import sweep_models
from ..registries.models import trained_on
from .leases import LAUNCH_ENV, WORKER_LOGS

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
MAX_WORKERS = 1024


def check_workers(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_WORKERS:
        raise ConfigError(f"--workers must be a whole number in [1, {MAX_WORKERS}], got {n!r}")
    return n


def _saved_sweep(sw: Sweep, out: Path, launch: str) -> Path:
    """The sweep every worker of a launch reads (``--from-sweep``), saved in the results folder."""
    path = out / WORKER_LOGS / f"sweep-{launch}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(sw.to_json(), indent=2))
    except OSError as exc:
        raise StorageError(f"cannot use {out} as a results folder: {exc.strerror or exc}") from None
    return path


def worker_environment(n: int, launch: str) -> dict[str, str]:
    """This process's environment for a worker: the launch, and this machine's cores shared between the `n`
    workers (a thread variable the user set is kept)."""
    env = dict(os.environ, **{LAUNCH_ENV: launch})
    threads = str(max(1, (os.cpu_count() or 1) // n))
    for var in THREAD_VARIABLES:
        env.setdefault(var, threads)
    return env


def worker_command(spec: Path, out: Path, checkpoint_every: int | None, log_with, stage=None) -> list[str]:
    cmd = [sys.executable, "-m", "empirics.cli", "-q", "sweep", "--from-sweep", str(spec), "--out", str(out)]
    if checkpoint_every:
        cmd += ["--checkpoint-every", str(checkpoint_every)]
    if log_with:
        cmd += ["--log-with", *map(str, log_with)]
    if stage:
        cmd += ["--only-models", *stage]
    return cmd


def launch_local(sw: Sweep, out: Path, n: int, checkpoint_every=None, log_with=(), stage=None) -> dict:
    """`n` worker processes on this machine (on the runs of `stage`'s models only, if given); returns the
    summary the last of them wrote, once all have ended. A worker that stops with an error is reported in
    one line with the end of its log."""
    check_workers(n)
    launch, t0 = uuid.uuid4().hex[:12], time.time()
    spec = _saved_sweep(sw, out, launch)
    features_first(sw, out, launch, stage)
    cmd, env = worker_command(spec, out, checkpoint_every, log_with, stage), worker_environment(n, launch)
    logs = [out / WORKER_LOGS / f"worker-{launch}-{i}.log" for i in range(n)]
    procs = []
    try:
        for path in logs:
            with open(path, "w") as log:
                procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
        codes = [p.wait() for p in procs]
    finally:
        for p in procs:  # Ctrl-C or an error here: no worker is left running
            if p.poll() is None:
                p.terminate()
    broken = [(i, c) for i, c in enumerate(codes) if c not in (0, 1)]
    if broken:  # the first stopped worker's own one-line error, as this command's
        i, code = broken[0]
        lines = logs[i].read_text(errors="replace").strip().splitlines() or ["(no output)"]
        message = lines[-1].split(": error: ", 1)[-1]
        error = InvalidInputError if code == 2 else StorageError
        raise error(f"worker {i + 1} of {n} stopped: {message} (its log: {logs[i]})")
    return _launch_summary(out, time.time() - t0)


def features_first(sw: Sweep, out: Path, launch: str, stage=None) -> None:
    """A last-layer sweep's frozen features, read or extracted in this process with all its threads before
    the workers start: no two workers extract one model at once, and extraction is not cut to a worker's
    share of the cores (the heads then run on one thread each: empirics.training.heads.one_thread)."""
    if sw.experiment.mode != "last_layer":
        return
    from .sweep import TimingRecord, check_folder, checked_pipeline, stage_of

    t0 = time.time()
    # what each worker checks before any work, checked here first: bad data or a folder of another
    # experiment is refused before a feature is extracted
    pipe, record, runs = checked_pipeline(sw, out)
    check_folder(pipe, record, runs, out)
    todo = runs if stage is None else stage_of(sw, runs, stage, pipe.folders.finished)
    left = {trained_on(r.model)[0] for r in todo if r.role != "baseline" and not pipe.folders.finished(r)}
    for model in sweep_models(sw.grid):  # the models whose runs are left (a resume reads no other)
        if model in left:
            pipe.inputs.features(model)
    TimingRecord(out, f"{launch}-features").save(pipe.timing, time.time() - t0, pipe.timer.features)


def _launch_summary(out: Path, wall: float) -> dict:
    """What one process's sweep returns: the summary (empty when no run finished), failures, wall time."""
    from .sweep import summary_or_empty

    summary = summary_or_empty(out)
    failures = out / "failures.json"
    summary["failed_runs"] = json.loads(failures.read_text()) if failures.is_file() else []
    summary["wall_seconds"] = wall
    summary["failures"] = len(summary.pop("failed_runs"))
    return summary


def array_worker(sweep: dict, out: str, launch: str, checkpoint_every: int | None = None, stage=None) -> int:
    """One task of a job array: a worker of launch `launch`; returns its number of failed runs."""
    from .sweep import run_sweep

    os.environ[LAUNCH_ENV] = launch
    sw = Sweep.from_json(sweep, strict=True)
    return run_sweep(sw, out, checkpoint_every, only_models=stage)["failures"]


def submit_array(sw: Sweep, out: Path, n: int, executor, checkpoint_every=None, stage=None) -> list:
    """`n` workers as one job array of a ``submitit`` executor (``AutoExecutor`` for Slurm; the
    ``LocalExecutor`` runs them here); returns the jobs. Summary and failures.json are written by the last
    worker to finish; ``w2s-empirics summarize`` and ``audit`` read the folder afterwards."""
    check_workers(n)
    launch = uuid.uuid4().hex[:12]
    _saved_sweep(sw, out, launch)
    data = sw.to_json()
    return executor.map_array(
        array_worker, [data] * n, [str(out.resolve())] * n, [launch] * n, [checkpoint_every] * n, [stage] * n
    )


def slurm_executor(folder: Path, partition: str | None, minutes: int, gpus: int, cpus: int):
    """A ``submitit`` executor for Slurm; one line when submitit is missing or this machine has no Slurm."""
    try:
        import submitit
    except ImportError:
        raise MissingDependencyError("--slurm-workers needs submitit: pip install -e '.[cluster]'") from None
    executor = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
    params = {"timeout_min": minutes, "gpus_per_node": gpus, "cpus_per_task": cpus, "tasks_per_node": 1}
    if partition:
        params["slurm_partition"] = partition
    executor.update_parameters(**params)
    return executor
